"""The programmatic interface: check paths or text and get results back. Nothing here prints.

The CLI is a thin layer over these functions, and so can be a CI wrapper or a test: `check()` runs the whole
pipeline — discovery, checking, then the last stage (`finish`: fixes written, the changed-lines gate, the
baseline, `# noqa` comments) — and `exit_code()` says what the command would exit with.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from devlint.config import ConfigResolver, Overrides
from devlint.discovery import discover
from devlint.types import Applicability, Diagnostic, FileError, FileResult, FixMode, RunResult, Settings

if TYPE_CHECKING:
    from devlint.cache import ResultCache  # the caller builds one (the CLI, only without --no-cache)
    from devlint.evidence import RuntimeEvidence

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Options that contradict each other, or a file devlint was asked to write and cannot; worded for the
    user (the CLI prints it as one line and exits 2)."""


@dataclass(frozen=True)
class CheckOptions:
    """What happens once the files are checked: which fixes to compute and write, which findings to report
    (changed lines, baseline), what to record, and the exit policy."""

    fix: bool = False  # write the fixes (safe ones; with unsafe_fixes, all)
    unsafe_fixes: bool = False
    diff: bool = False  # compute the fixes, write nothing (the caller shows them as a diff)
    diff_base: str | None = None  # report only findings on lines changed since `git merge-base REV HEAD`
    baseline: str | None = None  # report only findings not recorded in this baseline file
    write_baseline: str | None = None  # record the findings in this file instead of reporting them
    add_noqa: bool = False  # add a noqa comment for each finding instead of reporting it
    exit_zero: bool = False
    exit_non_zero_on_fix: bool = False
    runtime_evidence: str | None = None  # join a watched build's evidence (devlint.runtime's JSON; devlint.evidence)

    CONFLICTS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("fix", "add_noqa"), ("diff", "add_noqa"), ("exit_zero", "exit_non_zero_on_fix"),
        ("write_baseline", "baseline"), ("write_baseline", "add_noqa"), ("write_baseline", "fix"),
        ("write_baseline", "diff"),
    )
    """Pairs that contradict each other: ruff's (`--fix`/`--add-noqa`, `--diff`/`--add-noqa`, `--exit-zero`/
    `--exit-non-zero-on-fix`), and recording a baseline while fixing, filtering by one or adding comments."""

    def conflicts(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in self.CONFLICTS if getattr(self, a) and getattr(self, b)]

    def validate(self) -> None:
        for a, b in self.conflicts():
            raise UsageError(f"`{a}` cannot be used with `{b}`")

    @property
    def fix_mode(self) -> FixMode:
        """Which fixes the engine computes."""
        if not (self.fix or self.diff):
            return FixMode.NONE
        return FixMode.UNSAFE if self.unsafe_fixes else FixMode.SAFE

    @property
    def report_fix_mode(self) -> FixMode:
        """Which fixes a report marks fixable (`[*]`): the safe ones, and the unsafe ones with --unsafe-fixes."""
        return FixMode.UNSAFE if self.unsafe_fixes else FixMode.NONE

    @property
    def writes_fixes(self) -> bool:
        return self.fix and not self.diff


def display_path(path: str, cwd: str | None = None) -> str:
    """Paths as ruff shows them: relative to the working directory when inside it, else absolute."""
    cwd = cwd or os.getcwd()
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, cwd)
    return absolute if relative.startswith(os.pardir) else relative


def lint_paths(paths: list[str], settings: Settings | None = None, fix_mode: FixMode = FixMode.NONE,
               jobs: int | None = None, *, overrides: Overrides | None = None, config_file: str | None = None,
               force_exclude: bool = False, cache: ResultCache | None = None,
               progress: Callable[[int, int], None] | None = None, runtime_evidence: str | None = None) -> RunResult:
    """Discover and check files. Without `settings`, each file gets the settings of its closest
    `[tool.devlint]` configuration (or `config_file`), with `overrides` from the command line on top.
    With a `cache`, unchanged files are not read again (lint runs only; fixing always reads).
    With `runtime_evidence` (a file `devlint.runtime` wrote), each finding is marked with what the watched
    build saw and runtime-only findings are added (`devlint.evidence`).
    Raises discovery.PathNotFound for a path that does not exist, config.ConfigError for bad settings and
    evidence.EvidenceError for an unreadable evidence file."""
    evidence = _load_evidence(runtime_evidence)
    if (cache is None or fix_mode is not FixMode.NONE) and any(os.path.isdir(path) for path in paths):
        from devlint.engine import start_workers

        start_workers(jobs)  # a cold run over folders: the workers load LibCST while discovery runs
    items, errors, packages = _check_items(paths, settings, config_file, overrides or Overrides(), force_exclude)

    def check(batch: list[tuple[str, str, Settings]]) -> list[FileResult]:
        if not batch:
            return []
        from devlint.engine import check_files  # the per-file machinery loads only if a file must be checked

        return check_files(batch, fix_mode, jobs, progress)

    results: list[FileResult]
    if cache is None or fix_mode is not FixMode.NONE:
        results = check(items)
    else:
        cached = cache.lookup_all(items, packages)
        missing = [item for item, hit in zip(items, cached, strict=True) if hit is None]
        stamps = [cache.stamp(path) for path, _, _ in missing]  # before reading: edits mid-run stay visible
        fresh = iter(zip(check(missing), stamps, strict=True))
        results = []
        for item, hit in zip(items, cached, strict=True):
            if hit is None:
                hit, stamp = next(fresh)
                cache.store(item[0], item[2], hit, stamp)
            results.append(hit)
        cache.save()
    if evidence is not None:  # after the cache is saved: runtime findings are never cached
        from devlint.evidence import join

        settings_of = {shown: file_settings for _, shown, file_settings in items}
        join(results, evidence, lambda shown, code: settings_of.get(shown, Settings()).enabled(code))
    results.extend(FileResult(path=display_path(e.path), error=e) for e in errors)
    return RunResult(files=results)


def _load_evidence(path: str | None) -> RuntimeEvidence | None:
    if path is None:
        return None
    from devlint.evidence import load_evidence

    return load_evidence(path)


def _check_items(paths: list[str], settings: Settings | None, config_file: str | None, overrides: Overrides,
                 force_exclude: bool) -> tuple[list[tuple[str, str, Settings]], list[FileError], dict[str, str | None]]:
    """(absolute path, display path, settings) of every file to check, the paths that cannot be, and each
    walked folder's package. Configuration files are looked for in the listings discovery made."""
    listed: dict[str, frozenset[str]] = {}
    resolver = ConfigResolver(config_file, listed)

    def excluded(path: str) -> bool:
        return resolver.config_for(path).is_excluded(path, overrides)

    found = discover(paths, excluded, force_exclude, listed)
    items = []
    for shown in found.files:
        path = found.absolute[shown]
        config = resolver.config_for(path)
        if (shown not in found.explicit or force_exclude) and not config.is_included(path):
            continue
        display = display_path(shown) if shown.startswith((os.sep, os.pardir)) else shown  # absolute or above
        items.append((path, display, settings or config.settings_for(path, overrides)))
    return items, list(found.errors), found.packages


def effective_settings(path: str, *, overrides: Overrides | None = None,
                       config_file: str | None = None) -> dict[str, Any]:
    """What `devlint check --show-settings PATH` prints: the settings that apply to one file, and why."""
    config = ConfigResolver(config_file).config_for(path)
    overrides = overrides or Overrides()
    settings = config.settings_for(path, overrides)
    from devlint.rules import ALL_RULES

    return {
        "path": path,
        "config_file": config.path,
        "enabled_rules": [rule.code for rule in ALL_RULES if settings.enabled(rule.code)],
        "select": sorted(settings.select),
        "ignore": sorted(settings.ignore),
        "excluded": config.is_excluded(path, overrides),
        "included": config.is_included(path),
        "exclude": list(config.exclude + overrides.extend_exclude),
        "include": list(config.include),
        "platform_devices_extra": list(settings.platform_devices),
    }


def lint_source(source: str | bytes, path: str = "<stdin>", settings: Settings | None = None,
                fix_mode: FixMode = FixMode.NONE) -> FileResult:
    """Check one module given as text or bytes; `path` is only used in messages (and, ending in `.ipynb`,
    makes the text a notebook: devlint.notebook)."""
    from devlint.engine import Checker, check_bytes

    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_bytes(data, path, Checker.for_settings(settings or Settings()), fix_mode)


def lint_text(text: str, path: str, fix_mode: FixMode = FixMode.NONE, *, overrides: Overrides | None = None,
              config_file: str | None = None) -> FileResult | None:
    """Check text that is not (or not yet) on disk as the file at `path`, as `devlint check --force-exclude
    PATH` checks the file: its closest configuration (per-file ignores included) and the package it sits in.
    An editor's unsaved buffer is such text. None when that configuration excludes the file. Raises
    config.ConfigError for bad settings."""
    import hashlib

    from devlint.discovery import package_of
    from devlint.engine import Checker, check_source
    from devlint.source import SourceText

    overrides = overrides or Overrides()
    config = ConfigResolver(config_file).config_for(path)
    if config.is_excluded(path, overrides) or not config.is_included(path):
        return None
    source = SourceText(text=text, encoding="utf-8", has_bom=False,
                        digest=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    checker = Checker.for_settings(config.settings_for(path, overrides))
    return check_source(source, path, checker, fix_mode, package_of(os.path.dirname(os.path.abspath(path))))


def lint_stdin(data: bytes, filename: str | None, fix_mode: FixMode = FixMode.NONE, *,
               overrides: Overrides | None = None, config_file: str | None = None,
               runtime_evidence: str | None = None) -> FileResult:
    """Check source read from standard input, configured as if it were `filename` (which is also the file
    whose runtime evidence applies)."""
    from devlint.engine import Checker, check_bytes

    evidence = _load_evidence(runtime_evidence)
    name = filename or "-"
    config = ConfigResolver(config_file).config_for(filename or os.path.join(os.getcwd(), "stdin.py"))
    settings = config.settings_for(name, overrides or Overrides())
    result = check_bytes(data, name, Checker.for_settings(settings), fix_mode)
    if evidence is not None:
        from devlint.evidence import join

        join([result], evidence, lambda _shown, code: settings.enabled(code))
    return result


@dataclass
class WriteReport:
    """What writing fixes or noqa comments did: the files written, and those that could not be."""

    written: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


def _rewrite(path: str, expected_digest: str | None, transform: Callable[[str], str]) -> None:
    """Replace a file's text under an exclusive lock, atomically, in its own encoding and BOM, only if its
    bytes are still those devlint read (another process or an editor may have changed it meanwhile) and the
    new text parses."""
    import fcntl

    from devlint.fix import FixError, check_parses, write_atomic
    from devlint.source import read_source

    read, check_text = read_source, check_parses
    if path.endswith(".ipynb"):
        from devlint.notebook import check_notebook_text, read_notebook

        read, check_text = read_notebook, check_notebook_text
    with open(path, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read(path)
        if expected_digest is not None and current.digest != expected_digest:
            raise FixError("the file changed while devlint was running; run devlint again")
        new_text = transform(current.text)
        check_text(new_text)
        write_atomic(path, current.encode(new_text))


def write_fixes(run: RunResult) -> WriteReport:
    """Write every fixed file back (see `_rewrite` for the guarantees). Two devlint runs on one tree never
    interleave their writes: the check and the write happen under a lock on the file."""
    from devlint.fix import FixError
    from devlint.source import SourceError

    report = WriteReport()
    for result in run.files:
        if result.fixed_source is None:
            continue
        fixed = result.fixed_source
        try:
            _rewrite(result.path, result.source_digest, functools.partial(_replaced_by, fixed))
            report.written.append(result.path)
        except (FixError, SourceError, OSError) as exc:
            report.errors.append(FileError(code="E902", path=result.path, reason=f"fixes not written: {exc}"))
    return report


def _replaced_by(fixed: str, _current: str) -> str:
    return fixed


def _with_noqa_comments(found: list[Diagnostic], text: str) -> str:
    from devlint.fix import apply_edits
    from devlint.suppress import noqa_edits

    if any(d.cell is not None for d in found):
        from devlint.notebook import with_noqa_comments  # in the cells, spliced back into the notebook

        return with_noqa_comments(found, text)
    return apply_edits(text, noqa_edits(text, found))


def add_noqa(diagnostics: list[Diagnostic]) -> WriteReport:
    """Add `# noqa: CODE` comments for the given findings (gradual adoption on a large codebase)."""
    from devlint.fix import FixError
    from devlint.source import SourceError

    report = WriteReport()
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    for path, found in sorted(by_path.items()):
        try:
            _rewrite(path, None, functools.partial(_with_noqa_comments, found))
            report.written.append(path)
        except (FixError, SourceError, OSError) as exc:
            report.errors.append(FileError(code="E902", path=path, reason=f"noqa comments not written: {exc}"))
    return report


# The last stage: what is written, what is reported, and the exit code.

def check(paths: list[str], options: CheckOptions = CheckOptions(), *, stdin: bytes | None = None,
          stdin_filename: str | None = None, overrides: Overrides | None = None, config_file: str | None = None,
          force_exclude: bool = False, cache: ResultCache | None = None, jobs: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Everything `devlint check` does but print: check `paths` (or `stdin`, configured as `stdin_filename`),
    then `finish`. Raises UsageError, config.ConfigError, discovery.PathNotFound, gitdiff.GitError and
    baseline.BaselineError and evidence.EvidenceError, each worded for the user."""
    options.validate()
    if stdin is not None:
        result = lint_stdin(stdin, stdin_filename, options.fix_mode, overrides=overrides, config_file=config_file,
                            runtime_evidence=options.runtime_evidence)
        run = RunResult(files=[result])
    else:
        run = lint_paths(paths, None, options.fix_mode, jobs, overrides=overrides, config_file=config_file,
                         force_exclude=force_exclude, cache=cache, progress=progress,
                         runtime_evidence=options.runtime_evidence)
    return finish(run, options, from_stdin=stdin is not None)


def finish(run: RunResult, options: CheckOptions, *, from_stdin: bool = False) -> RunResult:
    """The pipeline's last stage, in order: write the fixes (not for standard input, whose fixed text the
    caller prints), keep the findings on changed lines, then record them in a baseline, or keep those not
    in the baseline, then add `# noqa` comments. Changes `run` in place and returns it."""
    _write_fixes_of(run, options, from_stdin)
    if options.diff_base is not None:
        from devlint.gitdiff import changed_lines

        keep_changed_lines(run, changed_lines(options.diff_base))
    _apply_baseline(run, options)
    if options.add_noqa:
        report = add_noqa(run.diagnostics)
        run.written.extend(report.written)
        run.write_errors.extend(report.errors)
    return run


def _write_fixes_of(run: RunResult, options: CheckOptions, from_stdin: bool) -> None:
    if options.writes_fixes and not from_stdin:
        report = write_fixes(run)
        run.written.extend(report.written)
        run.write_errors.extend(report.errors)
    elif options.writes_fixes:
        run.written.extend(f.path for f in run.files if f.fixed_source is not None)
    elif not options.diff:
        for result in run.files:  # fixes computed but neither written nor shown: nothing was fixed
            result.applied_fixes = 0


def _apply_baseline(run: RunResult, options: CheckOptions) -> None:
    if options.write_baseline is None and options.baseline is None:
        return
    from devlint.baseline import filter_new, write_baseline

    if options.write_baseline is not None:
        _ensure_parent(options.write_baseline)
        try:
            write_baseline(options.write_baseline, run.diagnostics)
        except OSError as exc:
            raise UsageError(f"cannot write baseline {options.write_baseline}: {exc.strerror or exc}") from None
    elif options.baseline is not None:
        keep = {id(d) for d in filter_new(options.baseline, run.diagnostics)}
        for result in run.files:
            result.diagnostics = [d for d in result.diagnostics if id(d) in keep]


def keep_changed_lines(run: RunResult, changed: dict[str, set[int] | None]) -> None:
    """Keep the findings that touch a changed line (a finding covers the rows of its whole construct), and
    the file errors of changed files. A file mapped to None is new: every line counts as changed. In a
    notebook the rows are those of the `.ipynb` file that hold the construct's source (what git compares)."""

    def rows_of(d: Diagnostic) -> range:
        if d.cell is not None:
            return range(d.cell.file_rows[0], d.cell.file_rows[1] + 1)
        return range((d.cover or (d.start.row,))[0], (d.cover or (0, d.end.row))[1] + 1)

    for result in run.files:
        absolute = os.path.abspath(result.path)
        rows = changed.get(absolute, set())
        if rows is None:
            continue
        result.diagnostics = [d for d in result.diagnostics if rows.intersection(rows_of(d))]
        if result.error is not None and absolute not in changed:
            result.error = None


def exit_code(run: RunResult, options: CheckOptions) -> int:
    """The exit code of `devlint check` for this outcome: 2 for an internal error or a file that could not
    be written; 0 once a baseline or `# noqa` comments were written, or with --exit-zero; with --diff, 1 if
    there is something to fix; 1 for findings or files that could not be checked, or (with
    --exit-non-zero-on-fix) for files fixed; else 0."""
    if run.internal_errors or run.write_errors:
        return EXIT_ERROR
    if options.write_baseline is not None or options.add_noqa or options.exit_zero:
        return EXIT_CLEAN
    if options.diff:
        return EXIT_FINDINGS if run.fixes_applied else EXIT_CLEAN
    if run.diagnostics or run.errors:
        return EXIT_FINDINGS
    if options.exit_non_zero_on_fix and run.written:
        return EXIT_FINDINGS
    return EXIT_CLEAN


@dataclass(frozen=True)
class RuleStatistic:
    """One row of `--statistics`: how often a code was reported, and how many of those `--fix` would fix."""

    code: str
    name: str
    count: int
    fixable_count: int

    def as_json(self) -> dict[str, Any]:
        """ruff's JSON statistics object."""
        return {"code": self.code, "name": self.name, "count": self.count, "fixable": self.fixable_count > 0,
                "fixable_count": self.fixable_count}


def statistics(run: RunResult, fix_mode: FixMode = FixMode.NONE) -> list[RuleStatistic]:
    """Counts per code (findings and files that could not be checked), most frequent first. A fix counts as
    fixable when --fix would apply it: safe fixes, and unsafe ones with `fix_mode` UNSAFE."""
    from devlint.rules import RULE_CLASSES
    from devlint.rules.file_errors import FILE_ERRORS

    counts = Counter(d.code for d in run.diagnostics)
    counts.update(e.code for e in run.errors if not e.is_internal)
    allowed = {Applicability.SAFE} | ({Applicability.UNSAFE} if fix_mode is FixMode.UNSAFE else set())
    fixable = Counter(d.code for d in run.diagnostics if d.fix is not None and d.fix.applicability in allowed)

    def name_of(code: str) -> str:
        if code in FILE_ERRORS:
            return FILE_ERRORS[code].name
        if code in RULE_CLASSES:
            from devlint.rules import RULES_BY_CODE

            return RULES_BY_CODE[code].name
        return ""

    return [RuleStatistic(code, name_of(code), count, fixable[code])
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def files_to_check(paths: list[str], *, overrides: Overrides | None = None, config_file: str | None = None,
                   force_exclude: bool = False) -> list[str]:
    """The files `check` would read, as absolute paths, sorted (`devlint check --show-files`)."""
    return sorted(path for path, _, _ in _check_items(paths, None, config_file, overrides or Overrides(),
                                                      force_exclude)[0])


def _ensure_parent(path: str) -> None:
    """Create the folder a report or baseline goes into, as ruff does for `-o`."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"cannot write {path}: a file is in the way of its folder") from None
    except OSError as exc:
        raise UsageError(f"cannot create the folder for {path}: {exc.strerror or exc}") from None


def write_report(path: str, text: str) -> None:
    """Write a report to `path`, creating its folder; an unwritable path is a UsageError."""
    _ensure_parent(path)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
