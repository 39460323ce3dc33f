"""Cheap tests that decide how much of a file LibCST must parse.

LibCST's parser is about ten times slower than CPython's, and most code cannot hold a finding. Five steps:

1. `might_hold_finding`: a file with none of the platform-device tokens (derived from the rule table and
   configuration) cannot hold a finding and is not parsed at all; nor can one with nothing shaped like a
   device slot (`might_hold_slot`: no `device=`, `device(`, `.to(`, `as_tensor(` or `.cuda(`-like move
   anywhere, comments and strings included).
2. `code_mentions`: where the tokens are, one regular-expression pass (C speed) over the file's strings and
   comments tells which occurrences can be code. A token in a comment, in a string that begins an
   expression statement (docstrings, and any bare string: its value is discarded), a quoted device word
   inside a string's text (`'pipe.to("cuda")'` in an example docstring constant: a string holding a quote
   is never a device string), or a name token in a string holding whitespace is no platform device. Every
   other occurrence counts, f-strings whole, and so does every occurrence of a file this scan cannot follow.
   A file with none is not parsed.
3. `MentionPlaces` / `device_mentions`: CPython's fast parser places each remaining occurrence in the tree;
   one where no value of it can become a tensor's device (a comparison, a branch test, a discarded call
   like `torch.cuda.synchronize()`, an exception's or a log line's arguments, a binding's name, a longer
   name, a string that is no device string) does not count. A file left with none is not parsed.
4. `reduce_source` (`relevant_source`): CPython's fast parser finds the top-level statements; those that
   are irrelevant — functions and classes that mention no token that counts (nor a module-level name bound
   to one, like `DEVICE = "cuda"` or `if ...: DEVICE = "cuda"`, placed the same way), and are not a base
   class of one that does, nor a subclass reading what one sets — are replaced by blank lines. Imports,
   module-level assignments (aliases, constants), control blocks holding imports, and every statement that
   mentions a token are kept verbatim. Line and column numbers are unchanged, so findings and fixes refer to
   the original file; what was dropped is nothing a rule reads (rules look at one function, its class and
   bases, and module-level imports and constants).
5. `_Candidates` (within `reduce_source`): what is kept must hold a *candidate* — a device slot (a
   factory's `device=`, `.to()`'s device, a `.cuda()`-like move, a parameter default) that can read a
   platform value, marked or bound from one — or no rule can report anything in it, and LibCST never parses
   the file.

Every step is checked by tests that lint every fixture with and without them, and by the benchmark on four
whole trees (vLLM, SGLang, diffusers, DeepSpeed).
"""

from __future__ import annotations

import ast
import bisect
import functools
import itertools
import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_CONSTRUCTION_HOOKS = frozenset({"__init__", "reset_parameters", "_reset_parameters", "_init_weights", "init_weights"})
# A method that sets state: `self.<attr> = ...` (at a word start: see `_at_word_start`), or a call that
# registers a buffer or a parameter (anywhere: `register_buffer`, `unregister_buffer` alike).
_SETS_SELF = re.compile(r"self\.\w+\s*(?::[^=\n]*)?=(?!=)")
_REGISTERS = re.compile(r"register_(?:buffer|parameter)")
# `self.device = ...`, and `obj.device = ...` on an instance a classmethod builds: the attribute is read as
# `self.device` in the other methods.
_ATTR_SET = re.compile(r"\b\w+\.(\w+)\s*(?::[^=\n]*)?=(?!=)")
_SELF_CALL = re.compile(r"self\.(\w+)\s*\(")  # at a word start
# A call of a name (`helper(`, not `x.helper(`): a pattern of the module's function names would skip ahead
# faster, but compiling it costs more than this scan of the few chunks it reads.
_CALL = re.compile(r"(?<![.\w])(\w+)\s*\(")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NOT_LINE_BREAK = re.compile(r"[^\r\n]+")
_WORD_BOUNDARY = re.compile(r"\b")
_NAME_OR_DOT = re.compile(r"[.\w]")


def _at_word_start(pattern: re.Pattern[str], text: str, after_dot: bool = False) -> Iterator[re.Match[str]]:
    r"""`pattern.finditer(text)` as if `pattern` began with `\b` (or, `after_dot`, with `(?<![.\w])`: not
    after a name character nor a dot), the same matches, several times faster. The regular-expression
    engine skips ahead to a pattern's leading literal (`self.`) or set of literals (`DEVICE|get_dev`) but
    tries every position of the text for one that begins with an assertion; so the assertion is tested
    here, at each match. A match refused is retried one character on, as the engine would."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        start = match.start()
        if start and (_NAME_OR_DOT.match(text, start - 1) if after_dot else not _WORD_BOUNDARY.match(text, start)):
            position = start + 1
            continue
        yield match
        position = match.end()


_line_offsets_cache: tuple[str, list[int]] = ("", [0])


def _line_offsets(text: str) -> list[int]:
    r"""Where each line of `text` starts, and its end last (lines as `_LINE` splits them: `\r\n`, `\r`,
    `\n`): one list per file, shared by the steps that ask (the last file's answer is kept). Not to be
    changed by callers."""
    global _line_offsets_cache
    cached_text, offsets = _line_offsets_cache
    if cached_text is not text:
        offsets = list(itertools.accumulate(map(len, _LINE.findall(text)), initial=0))
        _line_offsets_cache = (text, offsets)
    return offsets


@functools.lru_cache(maxsize=2)
def quiet_parse(text: str) -> ast.Module:
    """`ast.parse` without the warnings CPython emits about the *checked* code (invalid escape sequences,
    `is` with a literal, ...): they are not devlint's to print. The last texts' trees are kept: a fix's parse
    check, the check of the fixed text and the clean-up's reading of the original ask again for what was
    just parsed (a text that does not parse raises each time). Callers only read a tree (and note what they
    derive from it on its nodes, which holds for any tree of the same text)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def might_hold_finding(text: str, tokens: tuple[str, ...]) -> bool:
    """Whether any token occurs in `text` (the same as `any(token in text ...)`, four times faster)."""
    for needle, group in _token_tests(tokens):
        if isinstance(group, re.Pattern):
            if group.search(text):
                return True
        elif needle in text and any(token in text for token in group):
            return True
    return False


# Every finding sits at a device slot, each of which has one of these shapes in the text: a factory's or a
# move's `device=` (a parameter default reaches one, `device(` of `torch.device(...)` too), a `.to(...)`,
# `torch.as_tensor(data, dtype, device)`, or a move such as `.cuda(` (the table's device words).
_SLOT_SHAPES = (re.compile(r"\.to\s*\("), re.compile(r"as_tensor\s*\("))
_DEVICE_SHAPE = re.compile(r"device\s*(?:=(?!=)|(\())")  # `device=`, `device (`; not `device ==`


def might_hold_slot(text: str, device_types: frozenset[str]) -> bool:
    """Whether `text` (comments and strings included: a wider net) has anything shaped like a device slot.
    A file with none cannot hold a finding whatever tokens it has, and is not parsed at all."""
    if any(f".{word}(" in text for word in device_types):
        return True
    if any(shape.search(text) is not None for shape in _SLOT_SHAPES):
        return True
    for match in _DEVICE_SHAPE.finditer(text):
        # `torch.device(`, `device=`; not the end of a longer name called (`current_device()`)
        if match.group(1) is None or not (match.start() and _NAME_CHAR.match(text, match.start() - 1)):
            return True
    return False


@functools.lru_cache(maxsize=16)
def _tokens_by_first_character(tokens: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """`tokens` by their first character, the longest first (a token listed twice stays twice): the grouping
    every token search below starts from."""
    found: dict[str, list[str]] = {}
    for token in sorted(tokens, key=len, reverse=True):
        found.setdefault(token[:1], []).append(token)
    return {first: tuple(group) for first, group in found.items()}


@functools.lru_cache(maxsize=16)
def _token_tests(tokens: tuple[str, ...]) -> list[tuple[str, re.Pattern[str] | tuple[str, ...]]]:
    """Tokens grouped by first character: a group with a long common prefix is tested with that prefix
    (`current_`), others with one regular expression each (`"cuda|"xpu|...`: one pass over the text that
    stops only at that character)."""
    tests: list[tuple[str, re.Pattern[str] | tuple[str, ...]]] = []
    for group in _tokens_by_first_character(tokens).values():
        prefix = os.path.commonprefix(group)
        if len(group) == 1 or len(prefix) >= 4:
            tests.append((prefix, group))
        else:
            tests.append(("", re.compile("|".join(map(re.escape, group)))))  # longest first
    return tests


# A comment, or a string literal from its opening quote (a `#` or quote in code always starts one of them);
# `_string_start` finds its prefix. Exact for any code CPython 3.11 parses; `code_mentions` notices when it
# loses its way (newer syntax) and then keeps all. Each alternative begins with a literal character, which lets
# the regular-expression engine skip from one `#` or quote to the next (an optional prefix in front made it
# try every position of the file).
_STRING_OR_COMMENT = re.compile(r"""
    \#[^\r\n]*
  | '''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
  | \"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
  | '[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'
  | "[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"
""", re.VERBOSE | re.DOTALL)
_PREFIX_LETTERS = frozenset("rRbBuUfF")
_WHITESPACE = re.compile(r"\s")


@functools.lru_cache(maxsize=64)
def _token_groups(tokens: tuple[str, ...]) -> list[tuple[re.Pattern[str] | None, tuple[str, ...]]]:
    """`tokens` by first character (repeats kept), each group with a pattern that matches wherever one of
    them starts (their common prefix first, which the engine skips to), or None for a group of one token:
    one search of the text per group, not per token."""
    return [(None if len(set(group)) == 1 else re.compile("|".join(map(re.escape, sorted(set(group))))), group)
            for group in _tokens_by_first_character(tokens).values()]


def _string_start(text: str, quote: int, floor: int) -> int:
    """Where the string literal whose opening quote is at `quote` begins: at its prefix (`rb`, `f`: one or two
    prefix letters, not after a name character, none before `floor`), else at the quote."""
    for start in (quote - 2, quote - 1):
        if start >= floor and _PREFIX_LETTERS.issuperset(text[start:quote]) \
                and not (start and _NAME_CHAR.match(text, start - 1)):
            return start
    return quote


def _token_offsets(text: str, tokens: tuple[str, ...]) -> list[tuple[int, bool]]:
    """(offset, whether the token starts with a quote) for every occurrence of every token, overlapping ones
    and those of a token listed twice included, sorted: what `str.find` token by token gives, found with one
    search per group of `_token_groups`."""
    found: list[tuple[int, bool]] = []
    for pattern, group in _token_groups(tokens):
        quoted = group[0][:1] in ("'", '"')
        if pattern is None:  # one token (or the same one repeated): `str.find` is the faster search
            start = text.find(group[0])
            while start != -1:
                found.extend([(start, quoted)] * len(group))
                start = text.find(group[0], start + 1)
            continue
        start = 0
        while (match := pattern.search(text, start)) is not None:
            start = match.start()
            found.extend((start, quoted) for token in group if text.startswith(token, start))
            start += 1
    found.sort()
    return found


def code_mentions(text: str, tokens: tuple[str, ...]) -> list[int]:
    """Offsets (sorted) of the token occurrences in `text` that can be code; see the module docstring for
    which are not. Conservative: an occurrence this cannot place is kept."""
    found = _token_offsets(text, tokens)
    if not found:
        return []
    everything = [offset for offset, _ in found]
    counted: list[int] = []
    index, total = 0, len(found)
    depth = previous_end = 0
    for match in _STRING_OR_COMMENT.finditer(text):
        if index == total:
            break
        start, end = match.start(), match.end()
        if text[start] != "#":
            start = _string_start(text, start, previous_end)
        code = text[previous_end:start]
        if "'" in code or '"' in code:
            return everything  # a quote the scan could not pair: syntax it does not know
        depth += code.count("(") + code.count("[") + code.count("{") \
            - code.count(")") - code.count("]") - code.count("}")
        first_line = previous_end == 0
        previous_end = end
        while index < total and found[index][0] < start:
            counted.append(found[index][0])
            index += 1
        if index == total or found[index][0] >= end:
            continue
        if text[start] == "#":  # a comment
            while index < total and found[index][0] < end:
                index += 1
            continue
        prefix = text[start:match.start()]
        quote = 3 if text.startswith(('"""', "'''"), start + len(prefix)) else 1
        body_start, body_end = start + len(prefix) + quote, end - quote
        formatted = "f" in prefix or "F" in prefix
        if formatted and text.count("{", body_start, body_end) != text.count("}", body_start, body_end):
            return everything  # an f-string cut short by quotes nested in it (Python 3.12): not followed
        # A string that begins a statement: only whitespace since the last line break, at bracket depth 0,
        # the line before not continued by a backslash (or the first line of the file).
        line_break = code.rfind("\n")
        if line_break == -1:
            begins_statement = first_line and not code.strip()
        else:
            begins_statement = not code[line_break + 1:].strip() and not code[:line_break].rstrip("\r").endswith("\\")
        discarded = begins_statement and depth == 0 and not formatted
        spaced: bool | None = None
        while index < total and found[index][0] < end:
            offset, quoted = found[index]
            index += 1
            if discarded and offset >= body_start - 1:
                continue
            if body_start <= offset < body_end and not formatted:
                if quoted:
                    continue  # a quote inside the text: this string is no device string
                if spaced is None:
                    spaced = _WHITESPACE.search(text, body_start, body_end) is not None
                if spaced:
                    continue
            counted.append(offset)
    counted.extend(offset for offset, _ in found[index:])
    return counted


def _sets_self(chunk: str) -> bool:
    """Whether `chunk` (a method) sets `self.<attr>` or registers a buffer or a parameter."""
    return _REGISTERS.search(chunk) is not None or next(_at_word_start(_SETS_SELF, chunk), None) is not None


def _self_calls(chunk: str) -> tuple[set[str], set[str]]:
    r"""Methods called as `self.<name>(` in `chunk`: all of them, and those whose result is used somewhere
    (a call that is not a statement of its own: not only spaces or tabs before it since the last `\n`)."""
    called: set[str] = set()
    used: set[str] = set()
    for match in _at_word_start(_SELF_CALL, chunk):
        name = match.group(1)
        called.add(name)
        if name not in used:
            start = match.start()
            if chunk[chunk.rfind("\n", 0, start) + 1:start].strip(" \t"):
                used.add(name)
    return called, used


@dataclass(frozen=True)
class _Binding:
    """One binding in a method, read once: what it binds and what its value reads."""

    value: ast.AST
    names: frozenset[str]  # names bound
    attrs: frozenset[str]  # attributes set (`self.device = ...`)
    reads: frozenset[str]  # names read in the value
    calls: frozenset[str]  # `<name>.<attr>` attributes read in the value (`self._dev()`)


def _bindings(method: ast.FunctionDef | ast.AsyncFunctionDef) -> list[_Binding]:
    cached: list[_Binding] | None = getattr(method, "_devlint_bindings", None)
    if cached is not None:
        return cached
    pairs: list[tuple[list[ast.expr], ast.AST]] = []
    for node in _nodes(method):
        if type(node) not in _BINDING_NODES:
            continue  # most nodes (CPython's parser makes nodes of these exact classes, no subclasses)
        if isinstance(node, ast.Assign):
            pairs.append((node.targets, node.value))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            pairs.append(([node.target], node.value))
        elif isinstance(node, ast.NamedExpr):
            pairs.append(([node.target], node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            pairs.append(([node.target], node.iter))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            pairs.extend(([item.optional_vars], item.context_expr) for item in node.items if item.optional_vars)
    cached = []
    for targets, value in pairs:
        names: set[str] = set()
        attrs: set[str] = set()
        pending = list(targets)
        while pending:  # what is bound: names and attributes, not the names an attribute is read from
            target = pending.pop()
            if isinstance(target, ast.Name):
                names.add(target.id)
            elif isinstance(target, ast.Attribute):
                attrs.add(target.attr)
            elif isinstance(target, (ast.Tuple, ast.List)):
                pending.extend(target.elts)
            elif isinstance(target, ast.Starred):
                pending.append(target.value)
        inner = _nodes(value)
        cached.append(_Binding(value, frozenset(names), frozenset(attrs),
                               frozenset(n.id for n in inner if isinstance(n, ast.Name)),
                               frozenset(n.attr for n in inner
                                         if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name))))
    method._devlint_bindings = cached  # type: ignore[union-attr]
    return cached


def _platform_attrs(method: ast.FunctionDef | ast.AsyncFunctionDef, marked_in: Callable[[ast.AST], bool],
                    marked_methods: set[str]) -> set[str]:
    """The attributes `method` sets (`self.device = ...`, `obj.device = ...`) from a value that may hold a
    platform device: one on a line with a mark, one naming a local bound from such a value (to a fixed
    point: `dev = current_platform.device_type; self.device = torch.device(dev)`) or a parameter whose
    default has a mark, or one calling a method of the class that has a mark (`self.device = self._dev()`)."""
    tainted: set[str] = set()
    arguments = method.args
    positional = arguments.posonlyargs + arguments.args
    padding: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults = list(zip(positional, padding + list(arguments.defaults), strict=True))
    defaults += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    for parameter, default in defaults:
        if default is not None and marked_in(default):
            tainted.add(parameter.arg)
    bindings = _bindings(method)
    attrs: set[str] = set()
    todo = [b for b in bindings if b.attrs or b.names]
    changed = True
    while changed:
        changed = False
        rest = []
        for binding in todo:
            if binding.reads & tainted or binding.calls & marked_methods or marked_in(binding.value):
                tainted |= binding.names
                attrs |= binding.attrs
                changed = True
            else:
                rest.append(binding)
        todo = rest
    return attrs


def _class_bases(node: ast.ClassDef) -> list[str]:
    names = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def _ancestors(name: str, classes: dict[str, ast.ClassDef]) -> set[str]:
    """The bases of class `name` and theirs, as far as this file defines them (`Leaf(Mid)`, `Mid(Base)`:
    `Mid`, `Base`), by name."""
    found: set[str] = set()
    todo = [name]
    while todo:
        node = classes.get(todo.pop())
        if node is None:
            continue
        for base in _class_bases(node):
            if base not in found:
                found.add(base)
                todo.append(base)
    return found


_MODULE_BLOCKS = (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Match) + (
    (ast.TryStar,) if hasattr(ast, "TryStar") else ())
_MODULE_BINDERS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom, ast.For, ast.AsyncFor,
                   ast.With, ast.AsyncWith)


def _module_binders(tree: ast.Module) -> list[ast.stmt]:
    """The statements that bind module-level names: at the top level, and inside module-level blocks
    (`if torch.cuda.is_available(): DEVICE = "cuda"`, `try: ... except ImportError: ...`, a `for` or
    `with` target), not inside functions or classes."""
    found: list[ast.stmt] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, _MODULE_BINDERS) and (not isinstance(node, ast.AnnAssign) or node.value is not None):
            found.append(node)
        if isinstance(node, _MODULE_BLOCKS):
            for field in _BLOCK_FIELDS:
                for item in getattr(node, field, None) or ():
                    todo.extend(item.body if isinstance(item, (ast.ExceptHandler, ast.match_case)) else [item])
    return found


def _holds_imports(node: ast.stmt) -> bool:
    return any(isinstance(child, (ast.Import, ast.ImportFrom)) for child in ast.walk(node))


MAX_NESTING = 400
"""Deeper syntax trees are refused: LibCST's native parser crashes the whole process (a stack overflow, not
an exception) somewhere past a thousand levels of brackets, lambdas or operator chains. CPython itself
stops at 200 nested brackets."""


class TooNested(Exception):
    """The file is nested too deeply to parse safely; the message says how deep, and where."""

    def __init__(self, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.row, self.column = row, column


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_LONG_STATEMENT = MAX_NESTING  # characters: an expression MAX_NESTING deep needs at least one per level


def _expression_depth(node: ast.AST) -> tuple[int, int, int]:
    deepest, row, column = 0, 1, 1
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > deepest:
            deepest, row = depth, getattr(current, "lineno", row)
            column = getattr(current, "col_offset", column - 1) + 1
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current)
                     if not isinstance(child, ast.stmt))
    return deepest, row, column


def _depth_and_place(tree: ast.Module, text: str) -> tuple[int, int, int]:
    """The deepest expression nesting in the file (statement nesting is capped by CPython at 100 levels).
    Only statements whose own text is long enough to hold a deep expression are walked, which keeps this
    to a small fraction of the parse."""
    offsets = _line_offsets(text)
    deepest = (0, 1, 1)
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        statement = stack.pop()
        children: list[ast.stmt] = []
        for name in _BLOCK_FIELDS:
            block = getattr(statement, name, None)
            if isinstance(block, list):
                for item in block:
                    children.extend(item.body if isinstance(item, (ast.ExceptHandler, ast.match_case)) else [item])
        stack.extend(children)
        end_row = children[0].lineno if children else (statement.end_lineno or statement.lineno)
        end_col = 0 if children else (statement.end_col_offset or 0)
        start_row = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", ())])
        size = offsets[min(end_row, len(offsets)) - 1] + end_col - offsets[start_row - 1]
        if size > _LONG_STATEMENT:
            found = _expression_depth(statement)
            if found[0] > deepest[0]:
                deepest = found
    return deepest


def _bracket_depth(text: str) -> int:
    """A rough bracket depth for text CPython cannot parse (strings are not skipped: an overestimate)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def parse_guard(text: str) -> ast.Module | None:
    """CPython's parse of `text`, or None when CPython cannot parse it (e.g. syntax newer than this
    Python, which LibCST may still read). Raises TooNested for input CPython finds too deeply nested, which
    LibCST must never see (`check_nesting` judges what CPython parses, before LibCST is given it)."""
    try:
        tree = quiet_parse(text)
    except (RecursionError, MemoryError):
        raise TooNested("too deeply nested to parse") from None
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or "") or "too many levels of indentation" in (exc.msg or ""):
            raise TooNested(f"syntax error: {exc.msg}", exc.lineno or 1, exc.offset or 1) from None
        if _bracket_depth(text) > MAX_NESTING:
            raise TooNested(f"brackets nested over {MAX_NESTING} deep; not parsed") from None
        return None
    except ValueError:
        return None
    return tree


def check_nesting(tree: ast.Module, text: str) -> None:
    """Raise TooNested when an expression of `text` (parsed as `tree`) nests deeper than LibCST's parser can
    follow without crashing. Asked only of a file LibCST is about to parse."""
    depth, row, column = _depth_and_place(tree, text)
    if depth > MAX_NESTING:
        raise TooNested(f"nested {depth} levels deep (more than {MAX_NESTING}); not parsed", row, column)


def statement_lines(tree: ast.Module, keep: list[ast.stmt] | None = None) -> list[int]:
    """The first line of each top-level statement LibCST will see (all of them, or those kept), in order:
    what lets positions be computed one statement at a time (see `rules.base.RuleContext`)."""
    return sorted(node.lineno for node in (tree.body if keep is None else keep))


@dataclass(frozen=True)
class Reduction:
    """What `reduce_source` leaves for LibCST."""

    text: str  # the file with irrelevant top-level statements blanked (rows and columns unchanged)
    statement_lines: list[int]  # `statement_lines` of the statements kept
    candidate: bool  # some call or default of what is kept can take a platform device (`_Candidates`)
    left_out: frozenset[int] = frozenset()  # the lines of the methods blanked in the classes kept (their `def`)


def relevant_source(text: str, tokens: tuple[str, ...], tree: ast.Module | None = None,
                    kept_lines_out: list[int] | None = None, mentions: list[int] | None = None,
                    places: MentionPlaces | None = None) -> str:
    """`text` with irrelevant top-level functions and classes blanked out (see the module docstring).
    Returns `text` unchanged when CPython cannot parse it (LibCST then reports or handles it). When given,
    `kept_lines_out` receives the `statement_lines` of the statements kept. A statement mentions a token
    when one of `mentions` (offsets from `code_mentions`, computed here when not given) lies in it."""
    if tree is None:
        try:
            tree = quiet_parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return text
    reduction = reduce_source(text, tokens, tree, mentions, places)
    if kept_lines_out is not None:
        kept_lines_out.extend(reduction.statement_lines)
    return reduction.text


def reduce_source(text: str, tokens: tuple[str, ...], tree: ast.Module, mentions: list[int] | None = None,
                  places: MentionPlaces | None = None, device_types: frozenset[str] = frozenset(),
                  package: str | None = None) -> Reduction:
    """`relevant_source`, and whether what it keeps holds a candidate (`_Candidates`: `device_types` are
    the table's device words, whose `.cuda()`-like moves always are; `package` tells imports of the
    file's own project, whose names may be platform devices)."""
    if mentions is None:
        mentions = code_mentions(text, tokens)
    line_offsets = _line_offsets(text)
    line_count = len(line_offsets) - 1

    def span(node: ast.stmt) -> tuple[int, int]:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        return first, node.end_lineno or node.lineno

    chunks: dict[int, str] = {}
    has_token: dict[int, bool] = {}

    def chunk_of(node: ast.stmt) -> str:
        chunk = chunks.get(id(node))
        if chunk is None:
            first, last = span(node)
            chunk = chunks[id(node)] = text[line_offsets[first - 1]:line_offsets[min(last, line_count)]]
        return chunk

    marks = list(mentions)  # offsets of everything that counts as a token: the mentions, then aliases

    def mentions_token(node: ast.stmt) -> bool:
        found = has_token.get(id(node))
        if found is None:
            first, last = span(node)
            start, end = line_offsets[first - 1], line_offsets[min(last, line_count)]
            position = bisect.bisect_left(marks, start)
            found = has_token[id(node)] = position < len(marks) and marks[position] < end
        return found

    def marked_in(node: ast.AST) -> bool:
        """Whether a mark lies on the lines of `node` (lines, not columns: a wider net is the safe side)."""
        start = line_offsets[node.lineno - 1]  # type: ignore[attr-defined]
        end = line_offsets[min(node.end_lineno or node.lineno, line_count)]  # type: ignore[attr-defined]
        position = bisect.bisect_left(marks, start)
        return position < len(marks) and marks[position] < end

    # Marks are only ever asked about by line (`mentions_token`, `marked_in`): one on a line already marked
    # changes no answer, and is not placed.
    marked_rows = {bisect.bisect_right(line_offsets, offset) for offset in marks}

    def mark(pattern: re.Pattern[str], after_dot: bool = False) -> None:
        """Add the occurrences of `pattern` at a word start (`_at_word_start`; its group 1: a name) that
        count (`MentionPlaces.counts`), on lines with no mark yet."""
        for match in _at_word_start(pattern, text, after_dot):
            offset = match.start(1)
            row = bisect.bisect_right(line_offsets, offset)
            if row in marked_rows:
                continue
            if places is None or places.counts(offset, match.end(1) - offset, True):
                marks.append(offset)
                marked_rows.add(row)
        marks.sort()
        has_token.clear()

    # Module-level names bound to something that mentions a token (`DEVICE = "cuda"`) are tokens too: a
    # function that only says `device=DEVICE` must be kept.
    # Likewise names imported by a line that mentions one (`from sglang.srt.utils import get_device as gd`).
    aliases: set[str] = set()

    binders = _module_binders(tree)
    # A top-level function that mentions a token is one too where it is called (`_inv_freq(dim)` in a
    # constructor registers what the helper pins to the platform device), and so is one that calls it or
    # reads such a name (`def get_dev(): return _inner()`): names and helpers to one fixed point, as the
    # module summary follows them (`DEV = get_dev()`, then `device=DEV`).
    definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    helpers: set[str] = set()
    while True:  # to a fixed point: `DEVICE = "cuda"`, then `DEV = torch.device(DEVICE)`
        found: set[str] = set()
        for binder in binders:
            if not mentions_token(binder):
                continue
            if isinstance(binder, (ast.Import, ast.ImportFrom)):
                found.update((a.asname or a.name).split(".")[0] for a in binder.names)
            else:
                targets: list[ast.expr]
                if isinstance(binder, ast.Assign):
                    targets = binder.targets
                elif isinstance(binder, (ast.With, ast.AsyncWith)):
                    targets = [i.optional_vars for i in binder.items if i.optional_vars is not None]
                else:
                    targets = [binder.target]  # type: ignore[attr-defined]
                found.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        if not found <= aliases:
            mark(re.compile(r"(" + "|".join(map(re.escape, sorted(found - aliases))) + r")\b"))
            aliases |= found
            continue
        called = {node.name for node in definitions if node.name not in helpers and mentions_token(node)}
        if not called:
            break
        mark(re.compile(r"(" + "|".join(map(re.escape, sorted(called))) + r")\s*\("), after_dot=True)
        helpers |= called

    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    keep: list[ast.stmt] = []
    wanted_classes: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if mentions_token(node):
                keep.append(node)
        elif isinstance(node, ast.ClassDef):
            if mentions_token(node):
                wanted_classes.append(node.name)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and not (
                mentions_token(node) or _holds_imports(node)):
            continue
        else:
            keep.append(node)  # imports, assignments, module-level code: small, and read by the analysis
    calls_of: dict[int, tuple[set[str], set[str]]] = {}

    def self_calls(method: ast.stmt) -> set[str]:
        found = calls_of.get(id(method))
        if found is None:
            found = calls_of[id(method)] = _self_calls(chunk_of(method))
        return found[0]

    def used_self_calls(method: ast.stmt) -> set[str]:
        self_calls(method)
        return calls_of[id(method)][1]

    attr_aliases: set[str] = set()

    def mentions_alias_attr(method: ast.stmt) -> bool:
        return bool(attr_aliases) and mentions_token(method)

    # A subclass in this file inherits what a kept class sets (`self.device`) with no token of its own: once
    # the kept classes' attributes are marked, a subclass that reads one is kept too, and the classes' methods
    # are chosen again with it.
    outer_keep, first_wanted = keep, wanted_classes
    late: set[str] = set()
    while True:
        keep, wanted_classes = list(outer_keep), first_wanted + sorted(late)
        kept_classes: set[str] = set()
        while wanted_classes:  # a kept class needs its bases from this file (methods, buffers, attributes)
            name = wanted_classes.pop()
            if name in kept_classes or name not in classes:
                continue
            kept_classes.add(name)
            keep.append(classes[name])
            wanted_classes.extend(_class_bases(classes[name]))
        # Inside the classes kept, keep only the methods the analysis can read: those that mention a token, the
        # construction hooks, those that set `self.<attr>` or register buffers, and those called as
        # `self.<name>(` by a kept method (to a fixed point: construction call chains, tensor-returning helpers).
        kept_class_nodes = [node for node in keep if isinstance(node, ast.ClassDef)]
        methods = [(cls, m) for cls in kept_class_nodes for m in cls.body
                   if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        kept_methods = {id(m) for _, m in methods if m.name in _CONSTRUCTION_HOOKS or mentions_token(m)
                        or _sets_self(chunk_of(m))}
        forward_methods = {id(m) for _, m in methods if mentions_token(m)}
        # `self.device = current_platform.device_type` in one method makes `self.device` a token for the others.
        while True:
            marked_methods = {m.name for _, m in methods if mentions_token(m)}
            forward_methods |= {id(m) for _, m in methods if mentions_token(m)}
            found_attrs = {name for _, m in methods if mentions_token(m)
                           for name in (_ATTR_SET.findall(chunk_of(m)) if places is None
                                        else _platform_attrs(m, marked_in, marked_methods))}
            if not found_attrs <= attr_aliases:
                mark(re.compile(r"(self\.(?:" + "|".join(map(re.escape, sorted(found_attrs - attr_aliases))) + r"))\b"))
                attr_aliases |= found_attrs
                continue
            called = {name for _, m in methods if id(m) in kept_methods for name in self_calls(m)}
            if places is not None:
                # A method only a construction hook or a setter calls matters when it leads to one with a mark
                # (a construction chain); one a marked method calls may return its tensors (evidence).
                leads = set(marked_methods)
                while True:
                    wider = {m.name for _, m in methods if m.name not in leads
                             and not leads.isdisjoint(self_calls(m))}
                    if not wider:
                        break
                    leads |= wider
                forward = {name for _, m in methods if id(m) in forward_methods for name in used_self_calls(m)}
                called = forward | (called & leads)
            more = {id(m) for _, m in methods if id(m) not in kept_methods and (m.name in called or mentions_alias_attr(m))}
            if not more:
                break
            kept_methods |= more
            forward_methods |= {id(m) for _, m in methods if id(m) in more and (m.name in forward or mentions_token(m))} \
                if places is not None else set()
        subclasses = {name for name, node in classes.items() if name not in kept_classes and name not in late
                      and not kept_classes.isdisjoint(_ancestors(name, classes)) and mentions_token(node)}
        if not subclasses:
            break
        late |= subclasses
    # Module-level functions a kept function or method calls by name: a device handed to a helper may be
    # placed there (DL004), and construction may build its buffers in one (DL003).
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    kept_ids = {id(node) for node in keep}
    callers = [node for node in keep if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    callers += [m for _, m in methods if id(m) in kept_methods]
    while callers and functions:
        called_names = {name for node in callers for name in _CALL.findall(chunk_of(node))}
        # In file order, not the set's (which varies with the process's hash seed): the candidate test reads the
        # kept statements in order and learns factory aliases (`z = torch.zeros`) as it goes.
        callers = sorted((functions[name] for name in called_names
                          if name in functions and id(functions[name]) not in kept_ids), key=lambda node: node.lineno)
        for node in callers:
            kept_ids.add(id(node))
            keep.append(node)
    kept_rows = bytearray(line_count + 1)  # 1 for each row (from 1) of a statement kept
    for node in keep:
        first, last = span(node)
        kept_rows[first:last + 1] = b"\x01" * (last + 1 - first)
    kept_statements: list[ast.AST] = [node for node in keep if not isinstance(node, ast.ClassDef)]
    left_out: set[int] = set()
    for cls in kept_class_nodes:
        body = [n for n in cls.body if not (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                            and id(n) not in kept_methods)]
        kept_statements.extend(cls.bases + [k.value for k in cls.keywords] + cls.decorator_list)
        if not body:
            kept_statements.extend(cls.body)
            continue  # a class body must keep a statement: leave this one whole
        kept_statements.extend(body)
        for method in (n for n in cls.body if n not in body):
            first, last = span(method)
            kept_rows[first:last + 1] = bytes(last + 1 - first)
            left_out.add(method.lineno)
    candidate = _Candidates(marked_in, device_types, package).any_in(kept_statements)
    return Reduction(_blanked(text, line_offsets, kept_rows), statement_lines(tree, keep), candidate,
                     frozenset(left_out))


def _blanked(text: str, line_offsets: list[int], kept_rows: bytearray) -> str:
    """`text` with each row not kept (a 0 in `kept_rows`, from row 1) reduced to its line break: the text kept
    verbatim, run by run."""
    if kept_rows.find(0, 1) == -1:
        return text
    parts = []
    row = 1
    end = len(kept_rows)
    while row < end:
        dropped = kept_rows.find(0, row)
        if dropped == -1:
            dropped = end
        parts.append(text[line_offsets[row - 1]:line_offsets[dropped - 1]])  # rows row .. dropped - 1: kept
        if dropped == end:
            break
        row = kept_rows.find(1, dropped)
        if row == -1:
            row = end
        parts.append(_NOT_LINE_BREAK.sub("", text[line_offsets[dropped - 1]:line_offsets[row - 1]]))
    return "".join(parts)


# What the resolver calls a factory (`analysis.tensors`, LibCST-free here): `torch.<name>` for the first two,
# a `.new_<name>()` method for the last. A callee is matched by its last name (imports aside, that is the
# resolver's own test), or by a name that a `from torch import zeros as z` or `z = torch.zeros` binds.
_FACTORY_NAMES = frozenset({
    "arange", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "asarray", "empty_strided", "tril_indices", "triu_indices",
    "range", "scalar_tensor", "sparse_coo_tensor", "normal", "bernoulli", "complex", "polar",
    "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like",
    "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "new_empty_strided",
})
_POSITIONAL_DEVICE = {"as_tensor": 2}  # `analysis.tensors.POSITIONAL_DEVICE_SLOT`
_Scope = tuple[int, ...]  # ids of the enclosing function scopes, innermost first, the module's (0) last


class _Candidates:
    """Does code CPython parsed hold a *candidate*: a place where a rule can find the platform device?

    Every finding sits at a device slot — a factory's `device=` (or `torch.as_tensor`'s third argument),
    the device of a `.to()` move — at a `.cuda()`-like move, or at a parameter's default, and says the value
    there is the platform device. The resolver calls a value that only when it is a platform expression,
    which the prefilter marks, or comes from one: a name bound from one in its function or an enclosing
    one or the module (parameters only through their defaults), an attribute or a class-level name bound
    from one anywhere in the file, a function returning one, or a name imported from the file's own project
    (whose module may bind one). So a slot can hold the platform device only when it is on a marked line or
    reads such a word; attributes and functions are matched by name alone, whatever their class, which only
    errs on the side of a candidate. A file without a candidate holds no finding: LibCST never parses it.

    The resolver's other platform answers need nothing here. A name whose platform value the module summary
    finds through the whole file (a helper returning another helper's result, `DEV = get_dev()`, a
    constant bound in a module-level `if`) is marked by `reduce_source` before this runs; a name imported
    from the project counts here wherever a slot reads it, and reaches this test when `imported_device_names`
    made it a token (its docstring says which shapes it reads). A legacy typed constructor
    (`torch.cuda.LongTensor(n)`) makes a *tensor* on the platform device, never a device: it reaches no
    slot (`platform_device_of` answers None for a tensor, and `.to(t)` to one is no platform move)."""

    def __init__(self, marked_in: Callable[[ast.AST], bool], device_types: frozenset[str],
                 package: str | None) -> None:
        self.marked_in = marked_in
        self.device_types = device_types
        self.top_package = package.split(".", 1)[0] if package else None
        self.factories = set(_FACTORY_NAMES)
        self.slots: list[tuple[ast.expr, _Scope]] = []
        # (scope binding the names, names, attribute-like words, the value and the scope it is read in)
        self.bindings: list[tuple[int, set[str], set[str], ast.expr, _Scope]] = []
        self.everywhere: set[str] = set()  # names no scope hides: project imports, `global` names
        self.found = False  # a candidate no binding can change (`x.cuda()`, a star import of the project)

    def any_in(self, statements: list[ast.AST]) -> bool:
        checked = 0  # slots before this one are not marked
        for statement in statements:
            self._collect(statement, (0,))
            if self.found:
                return True
            # `device="cuda"`: no binding needed, and slots are only ever added: the answer is known now,
            # whatever the statements left would add.
            if any(self.marked_in(slot) for slot, _ in self.slots[checked:]):
                return True
            checked = len(self.slots)
        scoped: set[tuple[int, str]] = set()  # (scope, name) bound from a platform value
        attrs: set[str] = set()  # attributes, class-level names and functions that hold or return one
        marks: dict[int, bool] = {}  # by expression: has a mark
        reads: dict[int, tuple[set[str], set[str]]] = {}  # by expression: `_reads_of`, asked only when needed

        def platform(expr: ast.expr, scope: _Scope) -> bool:
            key = id(expr)
            marked = marks.get(key)
            if marked is None:
                marked = marks[key] = self.marked_in(expr)
            if marked:
                return True
            if not (attrs or scoped or self.everywhere):
                return False  # no name is known to hold a platform value (yet): what it reads cannot tell
            found = reads.get(key)
            if found is None:
                found = reads[key] = _reads_of(expr)
            names, attributes = found
            return not attributes.isdisjoint(attrs) or any(
                name in self.everywhere or name in attrs or any((level, name) in scoped for level in scope)
                for name in names)

        pending = self.bindings
        while pending:  # to a fixed point: `device = "cuda"`, then `self.device = device`
            verdicts = [platform(binding[3], binding[4]) for binding in pending]  # all against one state
            grown = [binding for binding, verdict in zip(pending, verdicts, strict=True) if verdict]
            if not grown:
                break
            pending = [binding for binding, verdict in zip(pending, verdicts, strict=True) if not verdict]
            for level, names, words, _, _ in grown:
                scoped.update((level, name) for name in names)
                attrs |= words
        return any(platform(slot, scope) for slot, scope in self.slots)

    def _bind(self, target: ast.expr, value: ast.expr, scope: _Scope, in_class: bool) -> None:
        names: set[str] = set()
        words: set[str] = set()
        stack = [target]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                (words if in_class else names).add(node.id)  # a class-level name is read as `self.<name>`
            elif isinstance(node, ast.Attribute):
                words.add(node.attr)  # `self.device = ...` binds `device`, not `self`
            elif isinstance(node, ast.Subscript):
                stack.append(node.value)  # `devices[0] = "cuda"`: the container holds it
            elif isinstance(node, (ast.Tuple, ast.List)):
                stack.extend(node.elts)
            elif isinstance(node, ast.Starred):
                stack.append(node.value)
        self.bindings.append((scope[0], names, words, value, scope))

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            if node.module == "torch":
                self.factories.update(a.asname for a in node.names if a.asname and a.name in _FACTORY_NAMES)
            own = _from_own_package("." * node.level + (node.module or ""), self.top_package)
            if not own or self.top_package is None:
                return
            for alias in node.names:
                if alias.name == "*":
                    self.found = True  # any name may be one of that module's platform constants
                self.everywhere.add(alias.asname or alias.name)
        elif self.top_package is not None:
            for alias in node.names:
                if alias.name.split(".", 1)[0] == self.top_package:
                    self.everywhere.add((alias.asname or alias.name).split(".", 1)[0])

    def _collect(self, root: ast.AST, outer: _Scope) -> None:
        """Gather the slots, bindings and imports of `root`; stops early on a candidate no binding changes."""
        calls: list[tuple[ast.Call, _Scope]] = []
        # (node, its scope, the function it returns for, whether it is directly in a class body)
        stack: list[tuple[ast.AST, _Scope, str | None, bool]] = [(root, outer, None, False)]
        while stack:
            node, scope, function, in_class = stack.pop()
            kind = type(node)
            inner, returns, class_body = scope, function, False
            if kind is ast.Call:
                func = node.func  # type: ignore[attr-defined]
                if type(func) is ast.Attribute and func.attr in self.device_types:
                    self.found = True  # `x.cuda()`: a move to the platform device whatever its arguments
                    return
                calls.append((node, scope))  # type: ignore[arg-type]
            elif kind in _BINDERS:
                self._binding(node, scope, in_class)
            elif kind is ast.Return:
                if node.value is not None and function is not None:  # type: ignore[attr-defined]
                    self.bindings.append((0, set(), {function}, node.value, scope))  # type: ignore[attr-defined]
            elif kind is ast.Global or kind is ast.Nonlocal:
                self.everywhere.update(node.names)  # type: ignore[attr-defined]
            elif kind is ast.Import or kind is ast.ImportFrom:
                self._import(node)  # type: ignore[arg-type]
                if self.found:
                    return
            elif kind is ast.ClassDef:
                class_body = True
            elif kind in _DEFINITIONS:
                self._definition(node, scope, function, stack)  # type: ignore[arg-type]
                continue
            names = _CODE_FIELDS.get(kind)
            for field in _fields(kind) if names is None else names:
                value = getattr(node, field)
                if type(value) is list:
                    stack.extend([(item, inner, returns, class_body) for item in value if isinstance(item, ast.AST)])
                elif isinstance(value, ast.AST):
                    stack.append((value, inner, returns, class_body))
        for call, scope in calls:
            self._call(call, scope)

    def _binding(self, node: ast.AST, scope: _Scope, in_class: bool) -> None:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            if node.value is None:
                return
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                self._bind(target, node.value, scope, in_class)
                if isinstance(node.value, (ast.Name, ast.Attribute)) and _callee_name(node.value) in self.factories:
                    self.factories.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))  # `z = torch.zeros`
        elif isinstance(node, ast.NamedExpr):
            self._bind(node.target, node.value, scope, False)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            self._bind(node.target, node.iter, scope, in_class)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._bind(node.optional_vars, node.context_expr, scope, in_class)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: _Scope,
                    function: str | None, stack: list[tuple[ast.AST, _Scope, str | None, bool]]) -> None:
        inner = (id(node), *scope)
        arguments = node.args  # defaults are read where the function is defined
        positional = arguments.posonlyargs + arguments.args
        pairs = [*zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults, strict=True),
                 *((a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None)]
        for arg, default in pairs:
            self.bindings.append((id(node), {arg.arg}, set(), default, scope))
            self.slots.append((default, scope))
        stack.extend((default, scope, function, False) for _, default in pairs)
        if isinstance(node, ast.Lambda):
            stack.append((node.body, inner, None, False))
            return
        # The function's name holds what it returns (`Return` above), read as a call: `get_device()`, a
        # method `self.get_device()`.
        stack.extend((decorator, scope, function, False) for decorator in node.decorator_list)
        stack.extend((statement, inner, node.name, False) for statement in node.body)

    def _call(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        name = _callee_name(func)
        if isinstance(func, ast.Attribute) and name == "to":
            # `platform_move_of`: the first argument, `device=`, or `**kwargs` (keywords: not `dtype=`...)
            self.slots.extend((arg, scope) for arg in call.args[:1])
            self.slots.extend((k.value, scope) for k in call.keywords if k.arg is None or k.arg == "device")
        elif name in self.factories:
            self.slots.extend((k.value, scope) for k in call.keywords if k.arg == "device")
            slot = _POSITIONAL_DEVICE.get(name)
            if slot is not None:
                positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
                self.slots.extend((arg, scope) for arg in positional[slot:slot + 1])


_BINDERS = frozenset({ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor,
                      ast.comprehension, ast.withitem})
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
_BINDING_NODES = frozenset({ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor,
                            ast.comprehension, ast.With, ast.AsyncWith})  # what `_bindings` reads
_NO_CODE_FIELDS = frozenset({"ctx", "op", "ops", "type_comment"})


_CODE_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    """The fields of an ast node type that can hold code (not `ctx`, operators or comments)."""
    found = _CODE_FIELDS.get(kind)
    if found is None:
        found = _CODE_FIELDS[kind] = tuple(name for name in kind._fields  # type: ignore[attr-defined]
                                           if name not in _NO_CODE_FIELDS)
    return found


def _reads_of(expr: ast.AST) -> tuple[set[str], set[str]]:
    """The names and the attribute names an expression reads (`self.cfg.device`: `self`; `cfg`, `device`)."""
    nodes = _nodes(expr)
    return ({node.id for node in nodes if type(node) is ast.Name},  # type: ignore[attr-defined]
            {node.attr for node in nodes if type(node) is ast.Attribute})  # type: ignore[attr-defined]


def _nodes(root: ast.AST) -> list[ast.AST]:
    """`root` and every node below it that can hold code (`ast.walk` without contexts and operators, and
    several times faster: one list, no generators)."""
    found = [root]
    fields_of = _CODE_FIELDS
    for node in found:  # grows as it is read
        kind = type(node)
        names = fields_of.get(kind)
        for name in _fields(kind) if names is None else names:
            value = getattr(node, name)
            if type(value) is list:
                found.extend([item for item in value if isinstance(item, ast.AST)])
            elif isinstance(value, ast.AST):
                found.append(value)
    return found


_DEVICE_KEYWORD = re.compile(r"device\s*=\s*([A-Za-z_]\w*)")
_DEVICE_KEYWORD_BARE = re.compile(r"device=([A-Za-z_]\w*)[ \t]*[,)\n]")  # `device=dev,` (a keyword: no spaces; `mydevice=` too, harmlessly)
_TO_NAME = re.compile(r"\.to\(\s*([A-Za-z_]\w*)\s*[,)]")
# `from m import a, b`, `from m import (a,\n b)` (the parenthesised list over several lines), `a, \\\n b`; only
# spaces or tabs before it on its line (`_from_imports`).
_FROM_IMPORT = re.compile(r"from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|(?:[^\r\n\\]|\\(?:\r\n|\r|\n|.))*)")


def _from_imports(text: str) -> Iterator[tuple[str, str]]:
    r"""The module and the names part of each `from ... import ...` statement that begins a line
    (`_FROM_IMPORT`'s groups):
    the matches of that pattern led by `^[ \t]*` in multi-line mode, found without trying every position of
    the text — a match is kept when only spaces or tabs lie between the last `\n` before it and it."""
    position = 0
    while (match := _FROM_IMPORT.search(text, position)) is not None:
        start = match.start()
        if text[text.rfind("\n", 0, start) + 1:start].strip(" \t"):
            position = start + 1
            continue
        yield match.group(1), match.group(2)
        position = match.end()


def _from_own_package(module: str, top_package: str | None) -> bool:
    """Whether `from <module> import ...` (`module` as written: leading dots for a relative import) imports
    from the file's own package, whose top-level name is `top_package`: the only modules the resolver reads
    (`analysis.project`)."""
    return module.startswith(".") or (top_package is not None and module.split(".", 1)[0] == top_package)


def imported_device_names(text: str, package: str | None = None) -> tuple[str, ...]:
    """Names used as a device (`device=DEVICE`, `device=get_dev()`, `.to(DEVICE)`, or through one local name:
    `dev = DEVICE` then `device=dev`) that the file imports with `from ... import` (or may get from a
    `from ... import *`): another module of the package may bind them to the platform device, which no token
    in this file shows. Given the file's `package`, only imports from that package count (relative, or from
    its top-level package): the resolver reads no other module (`analysis.project`), so `from typing import
    cast` and then `device=cast(...)` tells nothing."""
    # Two literal-first patterns (the regular expression engine then skips to each `device` or `.to(`): ten
    # times faster than one alternation starting with `\b`, which tries every position of the file.
    used: set[str] = set()
    position = 0
    while (match := _DEVICE_KEYWORD.search(text, position)) is not None:
        if match.start() and _NAME_CHAR.match(text, match.start() - 1):
            position = match.start() + 1  # `mydevice=`: not the word; look on from the next character
            continue
        used.add(match.group(1))
        position = match.end()
    used.update(name for name in _TO_NAME.findall(text) if "dev" in name.lower())  # `.to(DEVICE)`, not `.to(Float32)`
    if not used:
        return ()
    imported: set[str] = set()
    star = False
    top = package.split(".", 1)[0] if package else None
    for module, names in _from_imports(text):
        if top is not None and not _from_own_package(module, top):
            continue
        if names.strip().startswith("*"):
            star = True
        imported.update(re.findall(r"[A-Za-z_]\w*", names))
    if star:
        return tuple(sorted(used))
    found = used & imported
    # One local hop: `dev = DEVICE` (or `= get_device()`), then `device=dev` (a bare name, not `x.device`).
    local = {name for name in _DEVICE_KEYWORD_BARE.findall(text) if name not in imported}
    if local and imported:
        hop = re.compile("(?:" + "|".join(map(re.escape, sorted(local))) + r")[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*"
                         r"([A-Za-z_]\w*)[ \t]*(?:\([ \t]*\))?[ \t]*(?:#|$)", re.MULTILINE)
        for match in hop.finditer(text):
            if match.group(1) in imported and not (match.start() and _NAME_CHAR.match(text, match.start() - 1)):
                found.add(match.group(1))
    return tuple(sorted(found))



# Where a value is consumed as a truth value, thrown away, raised or logged, a token in it cannot become a
# tensor's device (`if current_platform.device_type == "cuda":`, `torch.cuda.synchronize()`,
# `raise ValueError(f"... {current_platform.device_name}")`).
_TESTED = (ast.If, ast.While, ast.IfExp)
_NO_POSITION = (ast.arguments, ast.comprehension, ast.withitem, ast.match_case)
_NOT_A_VALUE = (ast.keyword, ast.arg, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # names, not values
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
                          "info_once", "warning_once", "debug_once"})
_NAME_CHAR = re.compile(r"\w")


def _callee_name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _sink(call: ast.Call) -> bool:
    """A call whose arguments can never be a device: an exception built to raise, a print, a log line (a
    logging method called on a logger, `logging` or `warnings`: `logger.info(...)`, not `self.info(...)`)."""
    func = call.func
    name = _callee_name(func)
    if name == "print" and isinstance(func, ast.Name):
        return True
    if name in _LOG_METHODS and isinstance(func, ast.Attribute):
        receiver = _callee_name(func.value).lower()
        return "log" in receiver or receiver == "warnings"
    return name.endswith(("Error", "Exception", "Warning"))


def _children(node: ast.AST) -> Iterator[tuple[ast.AST, str, tuple[int, int], tuple[int, int]]]:
    """The children of `node` that have a position, each with its field and its span ((row, column) from and
    to), in the order `MentionPlaces` tries them: the last field first, a list in order, and the children
    of a child without a position (`ast.arguments`, `comprehension`, `withitem`, `match_case`) right after
    the list that holds it, as its parent's own (under their own field names)."""
    pending: list[tuple[str, object]] = list(ast.iter_fields(node))
    while pending:
        name, value = pending.pop()
        for child in value if isinstance(value, list) else (value,):
            if not isinstance(child, ast.AST):
                continue
            if isinstance(child, _NO_POSITION):
                pending.extend(ast.iter_fields(child))
                continue
            end_row = getattr(child, "end_lineno", None)
            if end_row is None:
                continue
            yield child, name, (child.lineno, child.col_offset), (end_row, child.end_col_offset)  # type: ignore[attr-defined]


class _ChildIndex:
    """A node's `_children`, to find the one whose span holds a position: by bisection when no two spans
    overlap (then at most one holds it, whatever the order), else the first in order that does."""

    def __init__(self, children: list[tuple[ast.AST, str, tuple[int, int], tuple[int, int]]]) -> None:
        self.children = children
        ordered = sorted(children, key=lambda child: (child[2], child[3]))
        if all(ordered[i][3] <= ordered[i + 1][2] for i in range(len(ordered) - 1)):
            self.sorted: list[tuple[ast.AST, str, tuple[int, int], tuple[int, int]]] | None = ordered
            self.starts = [child[2] for child in ordered]
        else:
            self.sorted = None

    def at(self, position: tuple[int, int]) -> tuple[ast.AST | None, str]:
        if self.sorted is not None:
            index = bisect.bisect_right(self.starts, position) - 1
            if index >= 0:
                child, field, _, end = self.sorted[index]
                if position < end:
                    return child, field
            return None, ""
        for child, field, start, end in self.children:
            if start <= position < end:
                return child, field
        return None, ""


class MentionPlaces:
    """Places token occurrences (offsets into the text) in CPython's tree of it, to tell the occurrences
    that may end up as a tensor's device from those that cannot (see `counts`)."""

    def __init__(self, text: str, tree: ast.Module, device_string: re.Pattern[str]) -> None:
        self.text, self.tree, self.device_string = text, tree, device_string
        # Where each top-level statement starts, its decorators included (a decorated definition's `lineno` is
        # its `def` line: a mention on a decorator line would be looked for in the statement before).
        self.starts = [min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) for node in tree.body]
        self.line_starts = _line_offsets(text)
        self.seen: set[int] = set()  # ids of the nodes `_child_at` was asked about once
        self.indexes: dict[int, _ChildIndex] = {}  # and of those asked about again

    def _child_at(self, node: ast.AST, position: tuple[int, int]) -> tuple[ast.AST | None, str]:
        """The child of `node` whose span holds `position` (row, byte column), and the field holding it; the
        children of a node without a position (`ast.arguments`, `comprehension`, ...) count as its own.
        The first in `_children` order when spans overlap. A node asked about a second time is indexed
        (`_ChildIndex`): the many occurrences in one class or function descend through the same nodes."""
        key = id(node)
        index = self.indexes.get(key)
        if index is None:
            if key not in self.seen:
                self.seen.add(key)
                for child, field, start, end in _children(node):
                    if start <= position < end:
                        return child, field
                return None, ""
            index = self.indexes[key] = _ChildIndex(list(_children(node)))
        return index.at(position)

    def _position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.line_starts, offset)
        line_start = self.line_starts[row - 1]
        prefix = self.text[line_start:offset]
        return row, (offset - line_start if prefix.isascii() else len(prefix.encode("utf-8")))

    def counts(self, offset: int, length: int, word: bool) -> bool:
        """Whether the occurrence at `offset` (`length` characters; `word`: a name, not a quoted device word
        or a `.cuda(` move) may be a device. It may not when a name token is only part of a longer name
        (`is_supported_on_current_device(`), when it is a string that is no device string (`"cudagraph"`,
        `f"cuda kernel {x}"`), a binding's or a keyword's name, or in a place no value of which reaches a
        device: a comparison, the test of an `if`/`while`/conditional expression, an `assert`, a call whose
        result is discarded (`torch.cuda.synchronize()`), the arguments of an exception, a log line or a
        print — unless handed on to another call inside (`if f(x, device="cuda")`)."""
        text = self.text
        if text.startswith(".", offset):
            return True  # a move, `x.cuda()`
        if word and ((offset and _NAME_CHAR.match(text, offset - 1)) or _NAME_CHAR.match(text, offset + length)):
            return False
        row, column = self._position(offset)
        position = (row, column)
        index = bisect.bisect_right(self.starts, row) - 1
        if index < 0:
            return True
        node: ast.AST = self.tree.body[index]
        ignored = False
        while True:
            if isinstance(node, ast.Constant):
                return not ignored and not word and isinstance(node.value, str) \
                    and self.device_string.fullmatch(node.value) is not None
            if isinstance(node, ast.JoinedStr):
                if ignored:
                    return False
                first = node.values[0] if node.values else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    head = first.value.split(":", 1)[0]
                    return self.device_string.fullmatch(head) is not None and first.value.startswith(head) \
                        and (first.value == head or first.value.startswith(head + ":"))
                return True
            if isinstance(node, ast.Name):
                return not ignored and not isinstance(node.ctx, ast.Store)
            found, field_of = self._child_at(node, position)
            if found is None:
                return not ignored and not isinstance(node, _NOT_A_VALUE)
            if isinstance(found, ast.Compare):
                ignored = True
            elif isinstance(node, ast.Assert) or (isinstance(node, _TESTED) and field_of == "test"):
                ignored = True
            elif isinstance(node, ast.Expr) and isinstance(found, ast.Call):
                ignored = True
            elif isinstance(node, ast.Call) and field_of in ("args", "keywords"):
                ignored = _sink(node)
            elif isinstance(found, (ast.NamedExpr, ast.Lambda)):
                ignored = False
            node = found


def device_mentions(places: MentionPlaces, mentions: list[int], tokens: tuple[str, ...]) -> list[int]:
    """The `mentions` (offsets from `code_mentions`) that may end up as a tensor's device
    (`MentionPlaces.counts`)."""
    text = places.text
    by_first = _tokens_by_first_character(tokens)
    kept = []
    for offset in mentions:
        # the longest token there
        token = next((t for t in by_first.get(text[offset:offset + 1], ()) if text.startswith(t, offset)), "")
        name = token.rstrip("(")
        if places.counts(offset, len(name), bool(name) and name[0] not in "'\".\""):
            kept.append(offset)
    return kept

