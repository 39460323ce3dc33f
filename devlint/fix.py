"""Applying fixes: text edits, the parse check, atomic writes and diffs.

Fixes are plain text edits on the decoded source, so every character outside an edit is kept exactly as
it was (comments, formatting, line endings). The result must parse before anyone writes it.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Iterable

from devlint.prefilter import quiet_parse
from devlint.source import line_starts
from devlint.types import Applicability, Diagnostic, Edit, Fix, FixMode, Location


class FixError(Exception):
    """A fix could not be applied safely (it would leave a file that does not parse)."""


def _offset(starts: list[int], location: Location) -> int:
    return starts[location.row - 1] + location.column - 1


def applies(fix: Fix | None, mode: FixMode) -> bool:
    if fix is None or mode is FixMode.NONE:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return fix.applicability is Applicability.UNSAFE and mode is FixMode.UNSAFE


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (positions refer to `text` before any of them)."""
    starts = line_starts(text)
    return _spliced(text, [(_offset(starts, e.start), _offset(starts, e.end), e.content) for e in edits])


def _spliced(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each non-overlapping (start, end, content) span replaced, in one pass (a file with
    thousands of fixes is not copied once per fix)."""
    pieces: list[str] = []
    position = 0
    for start, end, content in sorted(spans):
        pieces.append(text[position:start])
        pieces.append(content)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps a span of `taken` (sorted, disjoint), or inserts where one starts."""
    index = bisect.bisect_left(taken, (start, start))
    if index and taken[index - 1][1] > start:
        return True  # one that begins before runs into this one
    while index < len(taken):
        other_start, other_end = taken[index]
        if other_start >= end and not (other_start == start == end):
            return False
        if (start < other_end and other_start < end) or start == end == other_start:
            return True
        index += 1
    return False


def apply_fixes(text: str, diagnostics: Iterable[Diagnostic], mode: FixMode) -> tuple[str, int]:
    """Apply every applicable fix whose edits do not overlap an earlier one; return (text, fixes applied)."""
    starts = line_starts(text)
    chosen: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    applied = 0
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        if not applies(diagnostic.fix, mode):
            continue
        assert diagnostic.fix is not None
        spans = [(_offset(starts, e.start), _offset(starts, e.end), e.content) for e in diagnostic.fix.edits]
        if any(_overlaps(taken, s, e) for s, e, _ in spans):
            continue  # overlaps a fix already taken; the next round picks it up
        chosen.extend(spans)
        for s, e, _ in spans:
            bisect.insort(taken, (s, e))
        applied += 1
    return _spliced(text, chosen), applied


def check_parses(text: str) -> None:
    """Raise FixError unless `text` parses. CPython's parser answers in a fraction of LibCST's time; only
    text it rejects (which may be syntax newer than this Python) is asked of LibCST, whose verdict stands."""
    try:
        quiet_parse(text)  # the check of the fixed text that follows reads the same tree
        return
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    import libcst as cst  # not at import time: a cached run never parses

    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise FixError(f"fixes would leave a file that does not parse ({exc.message} at line {exc.raw_line})") from None


def write_atomic(path: str, data: bytes) -> None:
    """Replace `path` with `data` in one step (temporary file in the same folder, then rename), keeping the
    file's permission bits. A reader sees the old file or the new one, never half of each."""
    import tempfile  # only a run that writes (a check that computes no fix never loads it)

    directory = os.path.dirname(os.path.abspath(path))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".devlint-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def unified_diff(path: str, before: str, after: str) -> str:
    if path.endswith(".ipynb"):
        from devlint.notebook import notebook_diff  # one diff per changed cell, as ruff shows notebooks

        return notebook_diff(path, before, after)
    import difflib  # only --diff

    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)

