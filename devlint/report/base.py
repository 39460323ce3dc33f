"""What every reporter receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from devlint.types import Applicability, Diagnostic, FileError, FixMode, Location, NotebookCell, RunResult, Source


@dataclass(frozen=True)
class Summary:
    """Counts a reporter may print after the findings."""

    findings: int
    files_with_findings: int
    fixable: int  # applied by --fix
    unsafe_fixable: int  # applied only with --unsafe-fixes
    fixed: int
    errors: int
    evidence: tuple[tuple[str, int], ...] = ()  # (label, count) when runtime evidence was joined

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
            evidence=_evidence_counts(diagnostics),
        )


def evidence_label(d: Diagnostic) -> str | None:
    """`confirmed` / `exercised` / `not exercised` / `runtime-only`, or None without runtime evidence."""
    if d.evidence is not None:
        return d.evidence.value
    return "runtime-only" if d.source is Source.RUNTIME else None


def _evidence_counts(diagnostics: list[Diagnostic]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for d in diagnostics:
        label = evidence_label(d)
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    order = ("confirmed", "runtime-only", "exercised", "not exercised")
    return tuple((label, counts[label]) for label in order if label in counts)


def position(cell: NotebookCell | None, location: Location) -> str:
    """`row:column`, or in a notebook ruff's `cell N:row:column` (the row counted in the cell)."""
    where = f"cell {cell.index}:" if cell is not None else ""
    return f"{where}{location.row}:{location.column}"


def place(path: str, cell: NotebookCell | None, location: Location) -> str:
    """`path:row:column`, or `path:cell N:row:column` in a notebook."""
    return f"{path}:{position(cell, location)}"


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
    def message_of(d: Diagnostic) -> str:
        """The message, tagged with the runtime evidence when there is some."""
        label = evidence_label(d)
        return f"{d.message} [{label}]" if label else d.message

    @staticmethod
    def error_line(error: FileError) -> str:
        return f"{place(error.path, error.cell, error.location or Location(1, 1))}: {error.code} {error.reason}"
