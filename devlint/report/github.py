"""`github`: workflow commands that GitHub Actions turns into annotations on the pull request."""

from __future__ import annotations

from devlint.report.base import Reporter, evidence_label, place
from devlint.types import Location, RunResult


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    """In a notebook the annotation's `line`/`col` are those of the `.ipynb` file (the JSON line holding
    the flagged code, which is where GitHub can show it), and the message starts with the cell position
    `nb.ipynb:cell 3:4:12:` as the concise format prints it."""

    name = "github"

    def render(self, run: RunResult) -> str:
        lines = []
        for e in run.errors:
            if e.is_internal:
                continue
            at = e.cell.file_start if e.cell else e.location or Location(1, 1)
            lines.append(f"::error title=devlint ({e.code}),file={_escape_property(e.path)},line={at.row},"
                         f"col={at.column}::{_escape_data(self.error_line(e))}")
        for d in run.diagnostics:
            label = evidence_label(d)
            title = f"devlint ({d.code}, {label})" if label else f"devlint ({d.code})"
            start, end = (d.cell.file_start, d.cell.file_end) if d.cell else (d.start, d.end)
            lines.append(
                f"::error title={_escape_property(title)},file={_escape_property(d.path)},line={start.row},"
                f"col={start.column},endLine={end.row},endColumn={end.column}::"
                f"{_escape_data(f'{place(d.path, d.cell, d.start)}: {d.code} {self.message_of(d)}')}")
        return "".join(line + "\n" for line in lines)
