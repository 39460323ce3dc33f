"""`sarif`: SARIF 2.1.0 for code-scanning tools, with each rule's help text and — unlike most linters — the
fixes, as SARIF `fixes` with `artifactChanges`.

SARIF knows no notebook cells. A finding in a notebook is placed where it is in the `.ipynb` file as
stored (the JSON line holding the flagged code, columns counted in the file's characters), so code scanning
shows it on a real line of the file; the cell and the position in it are in the message (`cell 3:4:12`)
and in the result's `properties` (`notebookCell`, `cellRegion`). Its fixes are left out: they edit the
cell's text, not the file's JSON (`devlint check --fix` applies them)."""

from __future__ import annotations

import json

from devlint import __version__
from devlint.report.base import Reporter, position
from devlint.types import Diagnostic, RunResult, Source

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _region(start, end) -> dict:
    return {"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column}


def _uri(path: str) -> str:
    return path.replace("\\", "/")


class SarifReporter(Reporter):
    name = "sarif"

    def render(self, run: RunResult) -> str:
        from devlint.rules import RULES_BY_CODE

        rules = []
        for rule in RULES_BY_CODE.values():
            doc = rule.documentation()
            rules.append({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": doc.split("## Why is this bad?")[0].replace("## What it does", "").strip()},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": "error"},
                "properties": {"fixAvailability": rule.fix_availability.value},
            })
        index = {rule.code: i for i, rule in enumerate(RULES_BY_CODE.values())}
        results = [self._result(d, index) for d in run.diagnostics]
        notifications = []
        for e in run.errors:
            at = e.cell.file_start if e.cell else e.location
            where = f"{position(e.cell, e.location)}: " if e.cell and e.location else ""
            notifications.append({
                "level": "error",
                "message": {"text": f"{where}{e.code} {e.reason}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.path)},
                                                    **({"region": {"startLine": at.row, "startColumn": at.column}}
                                                       if at else {})}}],
            })
        document = {
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "devlint", "version": __version__, "semanticVersion": __version__,
                                    "rules": rules}},
                "invocations": [{"executionSuccessful": not any(e.is_internal for e in run.errors),
                                 "toolExecutionNotifications": notifications}],
                "results": results,
            }],
        }
        return json.dumps(document, indent=2) + "\n"

    @staticmethod
    def _result(d: Diagnostic, index: dict[str, int]) -> dict:
        region = _region(d.cell.file_start, d.cell.file_end) if d.cell else _region(d.start, d.end)
        message = f"{position(d.cell, d.start)}: {d.message}" if d.cell else d.message
        result: dict = {
            "ruleId": d.code,
            "level": "error",
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(d.path)}, "region": region}}],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        if d.evidence is not None or d.source is not Source.STATIC:  # joined with --runtime-evidence
            result["properties"] = {"source": d.source.value,
                                    "evidence": d.evidence.value if d.evidence is not None else None}
        if d.cell is not None:
            result.setdefault("properties", {}).update(notebookCell=d.cell.index, cellRegion=_region(d.start, d.end))
        if d.snippet:
            result["partialFingerprints"] = {"devlintSnippet/v1": f"{d.context_function or ''}:{d.snippet}"}
        if d.fix is not None and d.cell is None:
            result["fixes"] = [{
                "description": {"text": f"{d.fix.message} ({d.fix.applicability.value})"},
                "artifactChanges": [{
                    "artifactLocation": {"uri": _uri(d.path)},
                    "replacements": [{"deletedRegion": _region(e.start, e.end), "insertedContent": {"text": e.content}}
                                     for e in d.fix.edits],
                }],
            }]
        return result
