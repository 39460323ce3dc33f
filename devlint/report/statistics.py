"""`--statistics`: one row per code, as text or as ruff's JSON objects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devlint.api import RuleStatistic

FORMATS = ("concise", "full", "json")
"""The output formats statistics can be printed in (ruff's: text, or JSON)."""


def render_statistics(rows: list[RuleStatistic], output_format: str, summary: str = "") -> str:
    """ruff's `--statistics`: count, code, `[*]` (all fixable), `[-]` (some) or `[ ]`, and name, columns
    aligned; or ruff's JSON objects with --output-format json."""
    if output_format == "json":
        return json.dumps([row.as_json() for row in rows], indent=2) + "\n"
    count_width = max((len(str(row.count)) for row in rows), default=1)
    code_width = max((len(row.code) for row in rows), default=1)
    lines = []
    for row in rows:
        mark = "[*]" if row.fixable_count == row.count else "[-]" if row.fixable_count else "[ ]"
        lines.append(f"{row.count:>{count_width}}\t{row.code:<{code_width}}\t{mark} {row.name}")
    if summary:
        lines.append(summary)
    return "".join(line + "\n" for line in lines)
