"""The prefilter's fast scans give exactly what the plain scans they replace give.

Each fast scan leaves something to Python that a regular expression used to do (a leading `\\b`, a line start,
a string prefix), so that the engine can skip ahead; these tests hold each one to the plain version, on text
built from the fragments where the two could part (quotes, prefixes, backslashes, line breaks, names run
together, dots)."""

from __future__ import annotations

import ast
import collections
import re

from hypothesis import example, given, settings, strategies as st

from devlint import prefilter

from conftest import FIXTURES


def text_of(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(fragments), max_size=24).map("".join)


CODE = text_of(["self", ".", "self.dev", "dev", "DEVICE", "x", "_", "é", " ", "\t", "\n", "\r", "\r\n", "(", ")",
                "=", "==", ":", "#", "'", '"', "'''", '"""', "\\", "r", "b", "f", "rb", "u", "F", "from", "import",
                " from m import ", "(a,\n b)", "helper", "helper(", "get_dev", "register_buffer", "unregister_"])


@settings(max_examples=400, deadline=None)
@given(CODE, st.sampled_from([r"(self\.(?:dev|x))\b", r"(DEVICE|dev|x_)\b", r"(helper|get_dev)\s*\(", r"self\.(\w+)\s*\("]),
       st.booleans())
def test_a_word_start_tested_per_match_finds_what_a_leading_assertion_finds(text: str, pattern: str,
                                                                           after_dot: bool) -> None:
    plain = re.compile((r"(?<![.\w])" if after_dot else r"\b") + pattern)
    fast = prefilter._at_word_start(re.compile(pattern), text, after_dot)
    assert [(m.span(), m.groups()) for m in fast] == [(m.span(), m.groups()) for m in plain.finditer(text)]


# The string/comment pattern as it was, the prefix matched in front (the engine then tries every position).
PLAIN_STRING_OR_COMMENT = re.compile(r"""
    \#[^\r\n]*
  | (?:(?<!\w)(?P<prefix>[rRbBuUfF]{1,2}))?
    (?: '''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
      | \"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
      | '[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'
      | "[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*" )
""", re.VERBOSE | re.DOTALL)


def fast_strings_and_comments(text: str) -> list[tuple[int, int]]:
    spans, floor = [], 0
    for match in prefilter._STRING_OR_COMMENT.finditer(text):
        start = match.start() if text[match.start()] == "#" else prefilter._string_start(text, match.start(), floor)
        spans.append((start, match.end()))
        floor = match.end()
    return spans


@settings(max_examples=600, deadline=None)
@given(CODE)
def test_strings_found_from_their_quote_have_the_spans_the_prefixed_pattern_gives(text: str) -> None:
    assert fast_strings_and_comments(text) == [m.span() for m in PLAIN_STRING_OR_COMMENT.finditer(text)]


def test_strings_found_from_their_quote_on_every_fixture() -> None:
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert fast_strings_and_comments(text) == [m.span() for m in PLAIN_STRING_OR_COMMENT.finditer(text)], path


PLAIN_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|(?:[^\r\n\\]|\\(?:\r\n|\r|\n|.))*)",
                               re.MULTILINE)


@settings(max_examples=400, deadline=None)
@given(CODE)
@example("\r from m import x\n")  # `^` follows `\n` only
@example("\x0c from m import x\n")  # nor is a form feed indentation
@example("x = 1; from a import (b,\nfrom c import d)\n")  # a match refused may hold one that begins a line
def test_from_imports_found_from_the_keyword_are_those_at_a_line_start(text: str) -> None:
    assert list(prefilter._from_imports(text)) == PLAIN_FROM_IMPORT.findall(text)


def plain_self_calls(chunk: str) -> tuple[set[str], set[str]]:
    calls = re.compile(r"\bself\.(\w+)\s*\(").findall(chunk)
    counts = collections.Counter(calls)
    counts.subtract(re.compile(r"^[ \t]*self\.(\w+)\s*\(", re.MULTILINE).findall(chunk))
    return set(calls), {name for name, count in counts.items() if count > 0}


@settings(max_examples=400, deadline=None)
@given(text_of(["self.a(", "self.b (", "self.a", "x = ", "return ", " ", "\t", "\n", "\r", "\r\n", "(", ")", "myself.a(",
                "_self.b("]))
def test_self_calls_and_used_ones_in_one_pass(chunk: str) -> None:
    assert prefilter._self_calls(chunk) == plain_self_calls(chunk)


@settings(max_examples=400, deadline=None)
@given(text_of(["device_name", "(", "current_device_name(", "'cuda", '"cuda', "cuda", ".cuda(", "get_", "x", " ", "\n"]),
       st.lists(st.sampled_from(["device_name", "device_name(", "current_device_name(", "'cuda", '"cuda', ".cuda(",
                                 "get_device(", "e_n", "x", "cu"]), max_size=8).map(tuple))
def test_tokens_found_by_first_character_are_those_str_find_finds(text: str, tokens: tuple[str, ...]) -> None:
    plain = []
    for token in tokens:
        start = text.find(token)
        while start != -1:
            plain.append((start, token[0] in "'\""))
            start = text.find(token, start + 1)
    assert prefilter._token_offsets(text, tokens) == sorted(plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=0, max_size=12), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_rows_blanked_run_by_run_are_the_rows_blanked_one_by_one(kept: list[bool], newline: str, trailing: bool) -> None:
    lines = [f"row {row} text{newline}" for row in range(1, len(kept) + 1)]
    if lines and not trailing:
        lines[-1] = lines[-1].rstrip("\r\n")
    text = "".join(lines)
    offsets = prefilter._line_offsets(text)
    assert len(offsets) == len(lines) + 1
    plain = "".join(line if keep else line[len(line.rstrip("\r\n")):] for line, keep in zip(lines, kept, strict=True))
    assert prefilter._blanked(text, offsets, bytearray([0] + [int(keep) for keep in kept])) == plain


def test_a_node_indexed_by_its_children_answers_as_trying_them_in_order() -> None:
    # Every node of every fixture, asked at every position its children start, end or cover: the index
    # (bisection when no spans overlap) and the plain search over `_children` in order agree.
    for path in sorted(FIXTURES.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            children = list(prefilter._children(node))
            index = prefilter._ChildIndex(children)
            positions = {edge for _, _, start, end in children for edge in (start, end, (start[0], start[1] + 1))}
            for position in positions | {(0, 0), (10**6, 0)}:
                plain = next(((child, field) for child, field, start, end in children if start <= position < end),
                             (None, ""))
                assert index.at(position) == plain, (path, ast.dump(node)[:80], position)
