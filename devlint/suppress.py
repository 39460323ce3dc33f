"""Suppression comments, read from the token stream line by line (never by walking the tree).

    x = torch.zeros(n, device="cuda")  # noqa: DL001          one line (any line of a multi-line call)
    x = torch.zeros(n, device="cuda")  # noqa                 every code on that line
    x = torch.zeros(n, device="cuda")  # devlint: ignore[DL001,DL002]
    # devlint: file-ignore[DL003]                              the whole file (a comment on its own line)

Unused suppressions of devlint codes become DL100 findings, whose fix removes them.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from devlint.source import line_starts
from devlint.types import RUNTIME_CODE_PREFIX, Diagnostic, Edit, Fix, Location

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_DEVLINT = re.compile(r"#\s*devlint:\s*(?P<kind>file-ignore|ignore)\b(?:\[(?P<codes>[^\]]*)\])?")
MENTIONS_SUPPRESSION = ("noqa", "NOQA", "NoQA", "devlint:")
_NOQA_DL = re.compile(r"noqa\s*:[^\n]*\bdl\d")  # a `noqa` naming a devlint code, in lowercased text


def may_hold_devlint_directive(text: str) -> bool:
    """A cheap test for a suppression naming a devlint code (which DL100 must judge even with no findings)."""
    # The case-insensitive search is slow; plain needles in lowercased text rule out almost every file first.
    # (Non-ASCII characters become "?": only a dotless "ı" could case-match, and "devlınt:" is no directive.)
    lowered = (text if text.isascii() else text.encode("ascii", "replace").decode("ascii")).lower()
    if "devlint:" in lowered:
        return True
    # A noqa for another tool (E501) is common: only what follows each one is matched (to its line's end).
    position = lowered.find("noqa")
    while position != -1:
        if _NOQA_DL.match(lowered, position):
            return True
        position = lowered.find("noqa", position + 4)
    return False


@dataclass
class Directive:
    """One suppression comment, where it is, and the codes it has suppressed so far (`used`, for DL100)."""

    row: int
    column: int  # 0-based start of the directive inside the line
    end_column: int
    kind: str  # "noqa", "ignore" or "file-ignore"
    codes: tuple[str, ...] | None  # None: every code
    comment_start: int  # 0-based column where the whole comment starts
    comment_text: str
    used: set[str] = field(default_factory=set)

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code == c or code.startswith(c) for c in self.codes)


@dataclass(frozen=True)
class AppliedSuppressions:
    """What a post-suppression rule (`Rule.after_suppressions`) sees: one file's directives, each recording
    the codes it suppressed, and the file's text and settings."""

    directives: tuple[Directive, ...]
    text: str
    path: str
    enabled: Callable[[str], bool]


def _comments(text: str) -> list[tuple[int, int, str]]:
    """(row, column, text) of every comment; falls back to a line scan if the text does not tokenize."""
    try:
        return [(tok.start[0], tok.start[1], tok.string)
                for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        found = []
        for row, line in enumerate(text.splitlines(), start=1):
            index = line.find("#")
            if index >= 0:
                found.append((row, index, line[index:]))
        return found


def read_directives(text: str) -> list[Directive]:
    if not any(token in text for token in MENTIONS_SUPPRESSION):
        return []
    directives = []
    for row, column, comment in _comments(text):
        for pattern, kind in ((_NOQA, "noqa"), (_DEVLINT, None)):
            for match in pattern.finditer(comment):
                if match.start() > 0 and not comment[match.start() - 1].isspace():
                    continue  # quoted in prose after a backtick, not a directive
                raw = match.group("codes")
                codes = tuple(c.strip().upper() for c in raw.split(",") if c.strip()) if raw else None
                directives.append(Directive(row=row, column=column + match.start(), end_column=column + match.end(),
                                            kind=kind or match.group("kind"), codes=codes, comment_start=column,
                                            comment_text=comment))
    return directives


def apply_suppressions(diagnostics: list[Diagnostic], directives: list[Directive]) -> list[Diagnostic]:
    """Drop suppressed diagnostics, recording which directive codes were used."""
    if not directives:
        return diagnostics
    by_row: dict[int, list[Directive]] = {}
    file_level = [d for d in directives if d.kind == "file-ignore"]
    for directive in directives:
        if directive.kind != "file-ignore":
            by_row.setdefault(directive.row, []).append(directive)
    kept = []
    for diagnostic in diagnostics:
        first, last = diagnostic.cover or (diagnostic.start.row, diagnostic.end.row)
        candidates = file_level + [d for row in range(first, last + 1) for d in by_row.get(row, ())]
        matching = [d for d in candidates if d.covers(diagnostic.code)]
        for directive in matching:
            directive.used.add(diagnostic.code)
        if not matching:
            kept.append(diagnostic)
    return kept


def unused_directives(directives: Sequence[Directive], enabled: Callable[[str], bool], text: str,
                      path: str, code: str) -> list[Diagnostic]:
    """Findings with `code` (DL100's) for devlint suppressions that suppressed nothing. A blanket `# noqa` is shared with
    other linters, so only `# noqa: DL…` codes and `# devlint:` comments are judged."""
    found = []
    starts = line_starts(text)
    for directive in directives:
        if directive.kind == "noqa" and directive.codes is None:
            continue
        if directive.codes is None:
            unused: tuple[str, ...] = () if directive.used else ("all codes",)
        else:
            unused = tuple(c for c in directive.codes if c.startswith("DL") and enabled(c)
                           and not c.startswith(RUNTIME_CODE_PREFIX)  # only a watched build can use these
                           and not any(u == c or u.startswith(c) for u in directive.used))
        if not unused:
            continue
        keep = tuple(c for c in directive.codes or () if c not in unused)
        fix = _removal_fix(directive, keep, text, starts)
        words = "`# noqa`" if directive.kind == "noqa" else f"`# devlint: {directive.kind}`"
        found.append(Diagnostic(
            code=code, path=path,
            message=f"Unused {words} suppression (nothing to suppress: {', '.join(unused)})",
            start=Location(directive.row, directive.column + 1),
            end=Location(directive.row, directive.end_column + 1), fix=fix))
    return found


def _removal_fix(directive: Directive, keep: tuple[str, ...], text: str, starts: list[int]) -> Fix:
    row = directive.row
    if keep:
        if directive.kind == "noqa":
            content = "# noqa: " + ", ".join(keep)
        else:
            content = f"# devlint: {directive.kind}[{','.join(keep)}]"
        edit = Edit(content, Location(row, directive.column + 1), Location(row, directive.end_column + 1))
        return Fix("Remove the unused codes", (edit,))
    line_start = starts[row - 1]
    line = text[line_start: starts[row] if row < len(starts) else len(text)].rstrip("\r\n")
    after = line[directive.end_column:]
    rest = after.strip()
    if directive.column == directive.comment_start and not rest:
        # The comment is just this directive: remove it with the spaces before it, or the whole line.
        start = len(line[: directive.comment_start].rstrip())
        if start == 0:
            end_row = row + 1 if row < len(starts) else row
            edit = Edit("", Location(row, 1), Location(end_row, 1) if end_row > row else Location(row, len(line) + 1))
        else:
            edit = Edit("", Location(row, start + 1), Location(row, len(line) + 1))
    elif directive.column == directive.comment_start:
        # The comment goes on after the directive (`# noqa: DL001 why`): what follows must stay a comment.
        end = directive.end_column + len(after) - len(after.lstrip(" \t"))
        edit = Edit("" if rest.startswith("#") else "# ", Location(row, directive.column + 1), Location(row, end + 1))
    else:
        # The directive follows other comment text (a type-ignore, an explanation): remove it and the spaces
        # before it; everything left is still inside the comment.
        before = line[: directive.column]
        start = len(before.rstrip(" \t"))
        if start <= directive.comment_start:
            start = directive.column
        edit = Edit("", Location(row, start + 1), Location(row, directive.end_column + 1))
    return Fix("Remove the unused suppression", (edit,))


def noqa_edits(text: str, diagnostics: list[Diagnostic]) -> list[Edit]:
    """Edits that add `# noqa: CODES` for every finding (for `--add-noqa`), merging into an existing
    `# noqa: ...` on the same line. The comment goes on the first line of the finding that ends in code
    (not inside a multi-line string)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    line_ends: dict[int, int] = {}  # row -> column where a comment may be appended
    comments: dict[int, tokenize.TokenInfo] = {}
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            line_ends[tok.start[0]] = tok.start[1]
        elif tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok
    wanted: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        first, last = diagnostic.cover or (diagnostic.start.row, diagnostic.end.row)
        row = next((r for r in range(diagnostic.start.row, max(last, diagnostic.start.row) + 1) if r in line_ends), None)
        if row is None:
            row = next((r for r in range(first, last + 1) if r in line_ends), None)
        if row is not None:
            wanted.setdefault(row, set()).add(diagnostic.code)
    edits = []
    for row, codes in sorted(wanted.items()):
        existing = comments.get(row)
        match = _NOQA.search(existing.string) if existing is not None else None
        if existing is not None and match is not None:
            present = [c.strip().upper() for c in (match.group("codes") or "").split(",") if c.strip()]
            if match.group("codes") is None:
                continue  # a blanket noqa already covers everything
            merged = ", ".join(sorted(set(present) | codes))
            column = existing.start[1] + match.start()
            edits.append(Edit(f"# noqa: {merged}", Location(row, column + 1), Location(row, column + match.end() - match.start() + 1)))
        else:
            column = line_ends[row] if existing is None else existing.end[1]
            edits.append(Edit(f"  # noqa: {', '.join(sorted(codes))}", Location(row, column + 1), Location(row, column + 1)))
    return edits
