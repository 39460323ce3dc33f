"""`github`: workflow commands that GitHub Actions turns into annotations on the pull request."""

from __future__ import annotations

from devlint.report.base import Reporter
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
            lines.append(
                f"::error title=devlint ({d.code}),file={_escape_property(d.path)},line={d.start.row},"
                f"col={d.start.column},endLine={d.end.row},endColumn={d.end.column}::"
                f"{_escape_data(f'{d.path}:{d.start.row}:{d.start.column}: {d.code} {d.message}')}")
        return "".join(line + "\n" for line in lines)
