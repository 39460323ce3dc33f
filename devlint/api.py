"""The programmatic interface: check paths or text and get results back. Nothing here prints.

The CLI is a thin layer over these functions, and so can be a CI wrapper or a test.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field

from devlint.discovery import discover
from devlint.engine import Checker, check_bytes, check_files
from devlint.fix import FixError, check_parses, write_atomic
from devlint.source import SourceError, read_source
from devlint.types import FileError, FileResult, FixMode, RunResult, Settings


def display_path(path: str, cwd: str | None = None) -> str:
    """Paths as ruff shows them: relative to the working directory when inside it, else absolute."""
    cwd = cwd or os.getcwd()
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, cwd)
    return absolute if relative.startswith(os.pardir) else relative


def lint_paths(paths: list[str], settings: Settings | None = None, fix_mode: FixMode = FixMode.NONE,
               jobs: int | None = None) -> RunResult:
    """Discover and check files. Raises discovery.PathNotFound for a path that does not exist."""
    settings = settings or Settings()
    found = discover(paths)
    pairs = [(path, display_path(path)) for path in found.files]
    results = check_files(pairs, settings, fix_mode, jobs)
    results.extend(FileResult(path=display_path(e.path), error=e) for e in found.errors)
    return RunResult(files=results)


def lint_source(source: str | bytes, path: str = "<stdin>", settings: Settings | None = None,
                fix_mode: FixMode = FixMode.NONE) -> FileResult:
    """Check one module given as text or bytes; `path` is only used in messages."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_bytes(data, path, Checker.for_settings(settings or Settings()), fix_mode)


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


def write_fixes(run: RunResult) -> WriteReport:
    """Write every fixed file back, atomically, in the file's own encoding, BOM and line endings.

    A file is written only if its bytes are still those the fixes were computed from (another process or an
    editor may have changed it meanwhile) and the fixed text parses. The check and the write happen under
    an exclusive lock on the file, so two devlint runs on one tree never interleave their writes.
    """
    report = WriteReport()
    for result in run.files:
        if result.fixed_source is None:
            continue
        path = result.path  # display paths are relative to the working directory, so they open as they are
        try:
            with open(path, "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                current = read_source(path)
                if current.digest != result.source_digest:
                    raise FixError("the file changed while devlint was running; run devlint again")
                check_parses(result.fixed_source)
                write_atomic(path, current.encode(result.fixed_source))
            report.written.append(result.path)
        except (FixError, SourceError, OSError) as exc:
            report.errors.append(FileError(code="E902", path=result.path, reason=f"fixes not written: {exc}"))
    return report
