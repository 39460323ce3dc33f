"""The per-file pipeline (read → prefilter → parse → analyse → rules → fixes) and the worker pool.

Workers return plain data (FileResult) and never print or write files: the caller decides what to show and
what to write, so output order is stable and a crash in one file cannot garble another's report.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devlint.discovery import package_of
from devlint.fix import FixError, apply_fixes, check_parses
from devlint.prefilter import (
    MentionPlaces,
    TooNested,
    check_nesting,
    code_mentions,
    device_mentions,
    imported_device_names,
    might_hold_finding,
    might_hold_slot,
    parse_guard,
    quiet_parse,
    reduce_source,
    statement_lines,
)
from devlint.source import SourceError, SourceText, decode_source, read_source
from devlint.suppress import AppliedSuppressions, apply_suppressions, may_hold_devlint_directive, read_directives
from devlint.types import Diagnostic, FileError, FileResult, FixMode, Location, Settings

if TYPE_CHECKING:  # for annotations only: importing these loads LibCST (or, for the pool, multiprocessing)
    from concurrent.futures import Future, ProcessPoolExecutor

    from devlint.platform_table import PlatformDeviceTable
    from devlint.rules import Rule

MAX_FIX_ROUNDS = 10
"""Fixes are re-applied until nothing changes; more rounds than this means two fixes fight each other."""


@dataclass(frozen=True)
class Checker:
    """What is needed to check one file under one set of settings: the enabled rules and their table. The
    rules (and with them LibCST) load on first use: a run whose files hold no candidate never needs them."""

    codes: tuple[str, ...]
    table: PlatformDeviceTable
    required_tokens: tuple[str, ...]
    settings: Settings

    @classmethod
    def for_settings(cls, settings: Settings) -> Checker:
        from devlint.platform_table import DEFAULT_TABLE
        from devlint.rules import RULE_CLASSES

        codes = tuple(code for code in RULE_CLASSES if settings.enabled(code))
        table = DEFAULT_TABLE.extended(settings.platform_devices)
        return cls(codes=codes, table=table, required_tokens=table.prefilter_tokens, settings=settings)

    @functools.cached_property
    def rules(self) -> tuple[Rule, ...]:
        from devlint.rules import ALL_RULES

        return tuple(rule() for rule in ALL_RULES if rule.code in self.codes)

    def code_mentions(self, text: str, tokens: tuple[str, ...] | None = None) -> list[int] | None:
        """Where `text` mentions a platform-device token in code (devlint.prefilter); empty when the file
        cannot hold a finding and is not parsed at all, None when the prefilter is off. Derived from the
        table, so configured platform devices are never filtered out."""
        if not self.codes:
            return []
        if not self.settings.prefilter:
            return None
        tokens = tokens or self.required_tokens
        if not might_hold_finding(text, tokens) or not might_hold_slot(text, self.table.device_types):
            return []
        return code_mentions(text, tokens)

    def diagnostics(self, text: str, path: str, package: str | None) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        tokens = self.required_tokens
        if self.codes and package and self.settings.prefilter:
            extra = imported_device_names(text, package)  # `device=DEVICE` imported from a sibling module
            if extra:
                tokens = tokens + extra
        mentions = self.code_mentions(text, tokens)
        tree = parse_guard(text) if mentions != [] else None  # raises TooNested for input CPython finds too deep
        places = None
        if mentions and tree is not None:
            places = MentionPlaces(text, tree, _device_string(self.table))
            mentions = device_mentions(places, mentions, tokens)
        lines: list[int] | None = None
        left_out: frozenset[int] = frozenset()
        parsed = text
        if tree is not None and mentions != []:  # none left by `device_mentions`: not parsed at all
            if self.settings.prefilter:
                reduction = reduce_source(text, tokens, tree, mentions, places, self.table.device_types, package)
                parsed, lines, left_out = reduction.text, reduction.statement_lines, reduction.left_out
                if not reduction.candidate:
                    mentions = []  # no call or default of it can take a platform device: nothing to find
            else:
                lines = statement_lines(tree)
        if mentions != []:
            import libcst as cst

            from devlint.analysis import analyse_module
            from devlint.fixes.cleanup import with_cleanup
            from devlint.rules import RuleContext

            if tree is not None:
                check_nesting(tree, text)  # input that would crash LibCST's parser never reaches it
            module = cst.parse_module(parsed)
            analysis = analyse_module(module, path, self.table, package, tree, text)
            context = RuleContext(analysis, path, lines, tree, left_out)
            for rule in self.rules:
                rule.check(analysis, context)
            found = with_cleanup(context.diagnostics, text, tree, path, self.table.signatures)
        # Reading comments costs a tokenize pass: needed only to suppress findings, or when the text holds a
        # devlint suppression that may be unused (DL100).
        directives = read_directives(text) if found or may_hold_devlint_directive(text) else []
        if directives:
            found = apply_suppressions(found, directives)
            applied = AppliedSuppressions(tuple(directives), text, path, self.settings.enabled)
            for rule in self.rules:
                found = found + rule.after_suppressions(applied)
        return sorted(found, key=lambda d: d.sort_key)


@functools.lru_cache(maxsize=16)
def _device_string(table: PlatformDeviceTable) -> re.Pattern[str]:
    return table.device_string_pattern()


def _python_syntax_error(text: str, path: str) -> FileError | None:
    """CPython's verdict on `text`: an E999 with its message and position, or None if it parses."""
    try:
        quiet_parse(text)
    except SyntaxError as error:
        location = Location(error.lineno or 1, max(error.offset or 1, 1))
        return FileError(code="E999", path=path, reason=f"syntax error: {error.msg}", location=location)
    except (ValueError, RecursionError, MemoryError):
        return FileError(code="E999", path=path, reason="too deeply nested to parse")
    return None


def _parse_error(exc, text: str, path: str) -> FileError:
    """Describe a file LibCST cannot parse. CPython's own parser gives the clearer message and position
    (LibCST's often points past the error), so ask it; this runs only for files that failed."""
    found = _python_syntax_error(text, path)
    if found is not None:
        return found
    message = exc.message.split(": ", 2)[-1] if exc.message.startswith("parser error") else exc.message
    return FileError(code="E999", path=path, reason=f"cannot parse: {message}",
                     location=Location(exc.raw_line, exc.raw_column + 1))


class _NotRaised(Exception):
    """Stands for a LibCST exception while LibCST is not loaded: nothing can raise it then."""


def _libcst_error(name: str) -> type[Exception]:
    """LibCST's exception class `name`, or `_NotRaised` when LibCST was never imported (an `except` clause
    evaluates this only when an exception is on its way, so checking a file never loads LibCST for it)."""
    module = sys.modules.get("libcst")
    return getattr(module, name) if module is not None else _NotRaised


def check_source(source: SourceText, path: str, checker: Checker, fix_mode: FixMode = FixMode.NONE,
                 package: str | None = None) -> FileResult:
    """Lint decoded text. With a fix mode, also compute the fixed text (to a fixed point) and report what
    is left after fixing, as ruff does."""
    _modules_read()  # what was read for an earlier file is that file's
    result = FileResult(path=path, source_digest=source.digest)
    original: list[Diagnostic] = []
    try:
        diagnostics = original = checker.diagnostics(source.text, path, package)
        if fix_mode is not FixMode.NONE:
            text, total = source.text, 0
            for _ in range(MAX_FIX_ROUNDS):
                fixed, applied = apply_fixes(text, diagnostics, fix_mode)
                if not applied or fixed == text:
                    break
                check_parses(fixed)
                text, total = fixed, total + applied
                diagnostics = checker.diagnostics(text, path, package)
            if total:
                from devlint.fixes.cleanup import remove_debris

                # Several fixes together may leave a name unused that none of them did alone.
                cleaned = remove_debris(source.text, text, checker.table.signatures, path)
                if cleaned != text:
                    check_parses(cleaned)
                    text = cleaned
                    diagnostics = checker.diagnostics(text, path, package)
                result.fixed_source, result.applied_fixes = text, total
                result.original_source = source.text
        result.diagnostics = diagnostics
    except _libcst_error("ParserSyntaxError") as exc:
        result.error = _parse_error(exc, source.text, path)
    except _libcst_error("CSTValidationError") as exc:
        # LibCST parsed the text but refuses a node (`"a" b"b"` mixes str and bytes): CPython rejects it
        # too, so it is a syntax error of the file, not a bug of devlint.
        result.error = _python_syntax_error(source.text, path) or FileError(
            code="E999", path=path, reason=f"cannot parse: {exc}")
    except FixError as exc:
        result.diagnostics = original
        # A file devlint never had to parse (only its comments were read) may not parse to begin with: that
        # is a syntax error to report, not a fix gone wrong.
        syntax = _python_syntax_error(source.text, path)
        result.error = syntax or FileError(code="E001", path=path, reason=f"{exc}; the file was left unchanged")
    except TooNested as exc:
        result.error = FileError(code="E999", path=path, reason=str(exc), location=Location(exc.row, exc.column))
    except RecursionError:
        result.error = FileError(code="E999", path=path, reason="too deeply nested to parse")
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = FileError(
            code="E001", path=path,
            reason=(f"internal error: {type(exc).__name__}: {exc} (at {os.path.basename(where.filename)}:"
                    f"{where.lineno}); please report this with the file"),
        )
    result.dependencies = _modules_read()  # the result cache keeps it only while those modules are unchanged
    return result


def _modules_read() -> dict[str, tuple[int, int, int] | None]:
    """The other modules whose facts were read since the last call (`project.take_modules_read`); asked
    through `sys.modules` so that a file no rule applies to never loads the analysis."""
    project = sys.modules.get("devlint.analysis.project")
    return project.take_modules_read() if project is not None else {}


def check_file(path: str, checker: Checker, fix_mode: FixMode = FixMode.NONE, display_path: str | None = None) -> FileResult:
    shown = display_path or path
    if path.endswith(".ipynb"):
        from devlint.notebook import check_notebook, read_notebook  # the cells as one module, mapped back

        try:
            return check_notebook(read_notebook(path), shown, checker, fix_mode)
        except SourceError as exc:
            return FileResult(path=shown, error=FileError(code="E902", path=shown, reason=str(exc)))
    try:
        source = read_source(path)
    except SourceError as exc:
        return FileResult(path=shown, error=FileError(code="E902", path=shown, reason=str(exc)))
    return check_source(source, shown, checker, fix_mode, package_of(os.path.dirname(path)))


def check_bytes(data: bytes, path: str, checker: Checker, fix_mode: FixMode = FixMode.NONE) -> FileResult:
    if path.endswith(".ipynb"):
        from devlint.notebook import check_notebook, decode_notebook

        try:
            return check_notebook(decode_notebook(data), path, checker, fix_mode)
        except SourceError as exc:
            return FileResult(path=path, error=FileError(code="E902", path=path, reason=str(exc)))
    try:
        source = decode_source(data)
    except SourceError as exc:
        return FileResult(path=path, error=FileError(code="E902", path=path, reason=str(exc)))
    return check_source(source, path, checker, fix_mode)


def _check_chunk(chunk: Sequence[tuple[str, str, Settings]], fix_mode: FixMode) -> list[FileResult]:
    return [check_file(path, _checker_for(settings), fix_mode, shown) for path, shown, settings in chunk]


@functools.lru_cache(maxsize=64)
def _checker_for(settings: Settings) -> Checker:
    return Checker.for_settings(settings)


SERIAL_THRESHOLD = 16
"""Below this many files a process pool costs more to start than it saves."""
CHUNK = 16
"""Files per task sent to a worker: small enough to balance the load (candidate files are rare and uneven),
large enough that the hand-over costs nothing."""

_pool: ProcessPoolExecutor | None = None


def _warm_up(collector: tuple[int, ...]) -> None:
    """Each worker collects garbage as its parent does (`devlint.cli.run` raises the threshold; a worker
    started by spawning, not forking, would otherwise have the default), and loads the parser and the rules
    as it starts, while the caller is still finding files."""
    gc.set_threshold(*collector)
    import libcst  # noqa: F401

    import devlint.analysis  # noqa: F401
    import devlint.rules  # noqa: F401


def _workers(jobs: int | None) -> int:
    return jobs if jobs and jobs > 0 else (os.cpu_count() or 1)


def start_workers(jobs: int | None = None) -> None:
    """Start the worker pool now (it loads LibCST meanwhile); the next `check_files` uses it. For callers
    that know many files will be checked before they know which (discovery)."""
    global _pool
    if _pool is None and _workers(jobs) > 1:
        _pool = _new_pool(jobs)
        _pool.submit(int)  # workers are started by the first task


def _new_pool(jobs: int | None) -> ProcessPoolExecutor:
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=_workers(jobs), initializer=_warm_up, initargs=(gc.get_threshold(),))


def check_files(files: Iterable[tuple[str, str, Settings]], fix_mode: FixMode = FixMode.NONE,
                jobs: int | None = None, progress: Callable[[int, int], None] | None = None) -> list[FileResult]:
    """Check (path, display path, settings) triples, in parallel when there are enough of them. `files` may
    be a generator: work is handed to the workers as it arrives. Results come back in input order whatever
    the number of workers. `progress(done, total)` is called as chunks finish (in this process: workers
    never print)."""
    global _pool
    stream = iter(files)
    known_total = len(files) if isinstance(files, Sized) else None
    first = list(itertools.islice(stream, SERIAL_THRESHOLD))
    pool, _pool = _pool, None
    if pool is None and (_workers(jobs) == 1 or len(first) < SERIAL_THRESHOLD):
        return _check_chunk(first + list(stream), fix_mode)
    from concurrent.futures.process import BrokenProcessPool

    pool = pool or _new_pool(jobs)
    taken = first  # every item read from `files`, in order
    futures: list[Future[list[FileResult]]] = []
    results: list[FileResult] = []
    handed = 0

    def hand_over(everything: bool) -> None:
        nonlocal handed
        while len(taken) - handed >= CHUNK or (everything and handed < len(taken)):
            futures.append(pool.submit(_check_chunk, taken[handed:handed + CHUNK], fix_mode))
            handed = min(handed + CHUNK, len(taken))

    try:
        with pool:
            hand_over(False)
            for item in stream:
                taken.append(item)
                hand_over(False)
            hand_over(True)
            total = known_total if known_total is not None else len(taken)
            for future in futures:
                results.extend(future.result())
                if progress is not None:
                    progress(len(results), total)
    except BrokenProcessPool:
        # A worker died (a native crash in the parser). Check what is left one file per process, so only
        # the culprit is lost, and say which it was.
        for path, shown, settings in taken[len(results):] + list(stream):
            results.append(_check_isolated(path, shown, settings, fix_mode))
    return results


def _check_isolated(path: str, shown: str, settings: Settings, fix_mode: FixMode) -> FileResult:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(_check_chunk, [(path, shown, settings)], fix_mode).result()[0]
    except BrokenProcessPool:
        return FileResult(path=shown, error=FileError(
            code="E001", path=shown,
            reason="internal error: the parser crashed on this file; please report it with the file"))
