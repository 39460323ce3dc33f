"""The programmatic interface: check paths or text and get results back. Nothing here prints.

The CLI is a thin layer over these functions, and so can be a CI wrapper or a test.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from devlint.cache import ResultCache
from devlint.config import ConfigResolver, Overrides
from devlint.discovery import discover
from devlint.source import SourceError, read_source
from devlint.types import Diagnostic, FileError, FileResult, FixMode, RunResult, Settings


def display_path(path: str, cwd: str | None = None) -> str:
    """Paths as ruff shows them: relative to the working directory when inside it, else absolute."""
    cwd = cwd or os.getcwd()
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, cwd)
    return absolute if relative.startswith(os.pardir) else relative


def lint_paths(paths: list[str], settings: Settings | None = None, fix_mode: FixMode = FixMode.NONE,
               jobs: int | None = None, *, overrides: Overrides | None = None, config_file: str | None = None,
               force_exclude: bool = False, cache: ResultCache | None = None,
               progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Discover and check files. Without `settings`, each file gets the settings of its closest
    `[tool.devlint]` configuration (or `config_file`), with `overrides` from the command line on top.
    With a `cache`, unchanged files are not read again (lint runs only; fixing always reads).
    Raises discovery.PathNotFound for a path that does not exist and config.ConfigError for bad settings."""
    resolver = ConfigResolver(config_file)
    overrides = overrides or Overrides()

    def excluded(path: str) -> bool:
        return resolver.config_for(path).is_excluded(path, overrides)

    if (cache is None or fix_mode is not FixMode.NONE) and any(os.path.isdir(path) for path in paths):
        from devlint.engine import start_workers

        start_workers(jobs)  # a cold run over folders: the workers load LibCST while discovery runs
    found = discover(paths, excluded, force_exclude)
    items = []
    for shown in found.files:
        path = found.absolute[shown]
        config = resolver.config_for(path)
        if (shown not in found.explicit or force_exclude) and not config.is_included(path):
            continue
        display = display_path(shown) if os.path.isabs(shown) or shown.startswith(os.pardir) else shown
        items.append((path, display, settings or config.settings_for(path, overrides)))
    def check(batch: list) -> list[FileResult]:
        if not batch:
            return []
        from devlint.engine import check_files  # the per-file machinery loads only if a file must be checked

        return check_files(batch, fix_mode, jobs, progress)

    if cache is None or fix_mode is not FixMode.NONE:
        results = check(items)
    else:
        cached = [cache.lookup(path, shown, file_settings) for path, shown, file_settings in items]
        missing = [item for item, hit in zip(items, cached) if hit is None]
        stamps = [cache.stamp(path) for path, _, _ in missing]  # before reading: edits mid-run stay visible
        fresh = iter(zip(check(missing), stamps))
        results = []
        for item, hit in zip(items, cached):
            if hit is None:
                hit, stamp = next(fresh)
                cache.store(item[0], item[2], hit, stamp)
            results.append(hit)
        cache.save()
    results.extend(FileResult(path=display_path(e.path), error=e) for e in found.errors)
    return RunResult(files=results)


def effective_settings(path: str, *, overrides: Overrides | None = None, config_file: str | None = None) -> dict:
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
    """Check one module given as text or bytes; `path` is only used in messages."""
    from devlint.engine import Checker, check_bytes

    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_bytes(data, path, Checker.for_settings(settings or Settings()), fix_mode)


def lint_stdin(data: bytes, filename: str | None, fix_mode: FixMode = FixMode.NONE, *,
               overrides: Overrides | None = None, config_file: str | None = None) -> FileResult:
    """Check source read from standard input, configured as if it were `filename`."""
    from devlint.engine import Checker, check_bytes

    name = filename or "-"
    config = ConfigResolver(config_file).config_for(filename or os.path.join(os.getcwd(), "stdin.py"))
    settings = config.settings_for(name, overrides or Overrides())
    return check_bytes(data, name, Checker.for_settings(settings), fix_mode)


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


def _rewrite(path: str, expected_digest: str | None, transform) -> None:
    """Replace a file's text under an exclusive lock, atomically, in its own encoding and BOM, only if its
    bytes are still those devlint read (another process or an editor may have changed it meanwhile) and the
    new text parses."""
    from devlint.fix import FixError, check_parses, write_atomic

    with open(path, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_source(path)
        if expected_digest is not None and current.digest != expected_digest:
            raise FixError("the file changed while devlint was running; run devlint again")
        new_text = transform(current.text)
        check_parses(new_text)
        write_atomic(path, current.encode(new_text))


def write_fixes(run: RunResult) -> WriteReport:
    """Write every fixed file back (see `_rewrite` for the guarantees). Two devlint runs on one tree never
    interleave their writes: the check and the write happen under a lock on the file."""
    from devlint.fix import FixError

    report = WriteReport()
    for result in run.files:
        if result.fixed_source is None:
            continue
        fixed = result.fixed_source
        try:
            _rewrite(result.path, result.source_digest, lambda _text, fixed=fixed: fixed)
            report.written.append(result.path)
        except (FixError, SourceError, OSError) as exc:
            report.errors.append(FileError(code="E902", path=result.path, reason=f"fixes not written: {exc}"))
    return report


def add_noqa(diagnostics: list[Diagnostic]) -> WriteReport:
    """Add `# noqa: CODE` comments for the given findings (gradual adoption on a large codebase)."""
    from devlint.fix import FixError, apply_edits
    from devlint.suppress import noqa_edits

    report = WriteReport()
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    for path, found in sorted(by_path.items()):
        try:
            _rewrite(path, None, lambda text, found=found: apply_edits(text, noqa_edits(text, found)))
            report.written.append(path)
        except (FixError, SourceError, OSError) as exc:
            report.errors.append(FileError(code="E902", path=path, reason=f"noqa comments not written: {exc}"))
    return report
