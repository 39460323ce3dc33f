"""What every reporter receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from devlint.types import Applicability, Diagnostic, FileError, FixMode, RunResult


@dataclass(frozen=True)
class Summary:
    """Counts a reporter may print after the findings."""

    findings: int
    files_with_findings: int
    fixable: int  # applied by --fix
    unsafe_fixable: int  # applied only with --unsafe-fixes
    fixed: int
    errors: int

    @classmethod
    def of(cls, run: RunResult, fix_mode: FixMode = FixMode.NONE) -> Summary:
        diagnostics = run.diagnostics
        fixable = sum(1 for d in diagnostics if d.fix and d.fix.applicability is Applicability.SAFE)
        unsafe = sum(1 for d in diagnostics if d.fix and d.fix.applicability is Applicability.UNSAFE)
        if fix_mode is FixMode.UNSAFE:
            fixable, unsafe = fixable + unsafe, 0
        return cls(
            findings=len(diagnostics),
            files_with_findings=len({d.path for d in diagnostics}),
            fixable=fixable,
            unsafe_fixable=unsafe,
            fixed=sum(f.applied_fixes for f in run.files),
            errors=len(run.errors),
        )


def rule_url(code: str) -> str | None:
    """Where a rule's documentation lives online; devlint has no hosted docs yet (`devlint rule CODE`)."""
    return None


class Reporter:
    name: ClassVar[str]

    def __init__(self, *, fix_mode: FixMode = FixMode.NONE, color: bool = False, summary: bool = True) -> None:
        self.fix_mode = fix_mode
        self.color = color
        self.summary = summary  # the closing counts, where a format has them (-q turns them off)

    def render(self, run: RunResult) -> str:
        raise NotImplementedError

    @staticmethod
    def marks_fixable(diagnostic: Diagnostic, fix_mode: FixMode) -> bool:
        fix = diagnostic.fix
        if fix is None:
            return False
        return fix.applicability is Applicability.SAFE or (
            fix.applicability is Applicability.UNSAFE and fix_mode is FixMode.UNSAFE)

    @staticmethod
    def error_line(error: FileError) -> str:
        where = f"{error.location.row}:{error.location.column}" if error.location else "1:1"
        return f"{error.path}:{where}: {error.code} {error.reason}"
