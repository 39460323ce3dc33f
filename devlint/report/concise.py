"""`path:row:col: CODE [*] message`, one line a finding, then a summary: ruff's concise format."""

from __future__ import annotations

import click

from devlint.report.base import Reporter, Summary, position
from devlint.types import RunResult


class ConciseReporter(Reporter):
    name = "concise"

    def _style(self, text: str, fg: str | None = None, bold: bool | None = None) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def render(self, run: RunResult) -> str:
        lines = []
        for error in run.errors:
            if not error.is_internal:
                lines.append(self._style(self.error_line(error), fg="red"))
        for d in run.diagnostics:
            mark = self._style("[*] ", fg="cyan") if self.marks_fixable(d, self.fix_mode) else ""
            where = self._style(d.path, bold=True) + f":{position(d.cell, d.start)}:"
            lines.append(f"{where} {self._style(d.code, fg='red', bold=True)} {mark}{self.message_of(d)}")
        if self.summary:
            lines.append(self.summary_line(Summary.of(run, self.fix_mode)))
        return "".join(line + "\n" for line in lines)

    @staticmethod
    def summary_line(summary: Summary) -> str:
        parts = []
        if summary.fixed:
            parts.append(f"Fixed {summary.fixed} finding{'s' if summary.fixed != 1 else ''}.")
        if summary.findings:
            files = summary.files_with_findings
            detail = f"{summary.fixable} fixable"
            if summary.unsafe_fixable:
                detail += f"; {summary.unsafe_fixable} more with --unsafe-fixes"
            parts.append(f"Found {summary.findings} finding{'s' if summary.findings != 1 else ''} in "
                         f"{files} file{'s' if files != 1 else ''} ({detail}).")
        elif summary.errors and not summary.fixed:
            parts.append("No findings in the files checked.")
        elif not summary.fixed:
            parts.append("All checks passed!")
        if summary.evidence:
            parts.append("Runtime evidence: " + ", ".join(f"{n} {label}" for label, n in summary.evidence) + ".")
        if summary.errors:
            parts.append(f"{summary.errors} file{'s' if summary.errors != 1 else ''} could not be checked.")
        return " ".join(parts)
