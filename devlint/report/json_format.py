"""`json` and `json-lines`: objects shaped like ruff's JSON output, so tools that read ruff's read ours."""

from __future__ import annotations

import json
from typing import Any

from devlint.report.base import Reporter, rule_url
from devlint.types import Diagnostic, FileError, FixMode, RunResult, Source


def diagnostic_object(d: Diagnostic, fix_mode: FixMode) -> dict:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": d.fix.message,
            "edits": [{"content": e.content, "location": {"row": e.start.row, "column": e.start.column},
                       "end_location": {"row": e.end.row, "column": e.end.column}} for e in d.fix.edits],
        }
    found: dict[str, Any] = {
        "code": d.code,
        "message": d.message,
        "filename": d.path,
        "location": {"row": d.start.row, "column": d.start.column},
        "end_location": {"row": d.end.row, "column": d.end.column},
        "fix": fix,
        "noqa_row": d.start.row,
        "url": rule_url(d.code),
    }
    if d.cell is not None:  # a notebook: ruff's `cell`, with location, end_location and edits relative to it
        found["cell"] = d.cell.index
    if d.evidence is not None or d.source is not Source.STATIC:  # only with --runtime-evidence: ruff's shape otherwise
        found["source"] = d.source.value  # "static", or "runtime" for what only a watched build saw
        found["evidence"] = d.evidence.value if d.evidence is not None else None
    return found


def error_object(e: FileError) -> dict:
    row, column = (e.location.row, e.location.column) if e.location else (1, 1)
    found: dict[str, Any] = {
        "code": e.code, "message": e.reason, "filename": e.path, "location": {"row": row, "column": column},
        "end_location": {"row": row, "column": column}, "fix": None, "noqa_row": None, "url": None}
    if e.cell is not None:
        found["cell"] = e.cell.index
    return found


def all_objects(run: RunResult, fix_mode: FixMode) -> list[dict]:
    objects = [error_object(e) for e in run.errors if not e.is_internal]
    objects += [diagnostic_object(d, fix_mode) for d in run.diagnostics]
    return objects


class JsonReporter(Reporter):
    name = "json"

    def render(self, run: RunResult) -> str:
        return json.dumps(all_objects(run, self.fix_mode), indent=2) + "\n"


class JsonLinesReporter(Reporter):
    name = "json-lines"

    def render(self, run: RunResult) -> str:
        return "".join(json.dumps(o) + "\n" for o in all_objects(run, self.fix_mode))

