"""`github`: workflow commands that GitHub Actions turns into annotations on the pull request."""

from __future__ import annotations

from devlint.report.base import Reporter, evidence_label
from devlint.types import RunResult


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    name = "github"

    def render(self, run: RunResult) -> str:
        lines = []
        for e in run.errors:
            if e.is_internal:
                continue
            row, column = (e.location.row, e.location.column) if e.location else (1, 1)
            lines.append(f"::error title=devlint ({e.code}),file={_escape_property(e.path)},line={row},col={column}::"
                         f"{_escape_data(f'{e.path}:{row}:{column}: {e.code} {e.reason}')}")
        for d in run.diagnostics:
            label = evidence_label(d)
            title = f"devlint ({d.code}, {label})" if label else f"devlint ({d.code})"
            lines.append(
                f"::error title={_escape_property(title)},file={_escape_property(d.path)},line={d.start.row},"
                f"col={d.start.column},endLine={d.end.row},endColumn={d.end.column}::"
                f"{_escape_data(f'{d.path}:{d.start.row}:{d.start.column}: {d.code} {self.message_of(d)}')}")
        return "".join(line + "\n" for line in lines)
