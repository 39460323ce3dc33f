"""Join a watched build's evidence (`devlint-runtime.json`, written by `devlint.runtime`) with a static run.

Torch-free: this reads the JSON only. Each static finding becomes *confirmed* (the build did what it
says: a runtime finding with the same code in the same file whose span holds the finding's lines),
*exercised* (the build ran one of its lines and saw nothing wrong there) or *not exercised*. Runtime
findings no static finding explains are added as runtime-only diagnostics (`Source.RUNTIME`), filtered by
the file's settings and its suppression comments like any other. A DL202 (an allocation that went
nowhere) on a line that holds a static finding is that finding's evidence, not a finding of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from devlint.types import Diagnostic, Evidence, FileResult, Location, Source

FORMAT = "devlint-runtime/1"
UNUSED_ALLOCATION = "DL202"


class EvidenceError(Exception):
    """The evidence file is missing or not one `devlint.runtime` wrote; the message says which."""


@dataclass(frozen=True)
class RuntimeFinding:
    code: str
    path: str  # absolute, as the build saw it
    line: int
    column: int
    first_line: int  # the call's whole span: a static finding on any of these lines is the same one
    end_line: int
    end_column: int
    message: str
    function: str | None
    snippet: str
    suppressed: bool

    def covers(self, rows: tuple[int, int]) -> bool:
        return rows[0] <= self.end_line and self.first_line <= rows[1]


@dataclass
class RuntimeEvidence:
    findings: list[RuntimeFinding] = field(default_factory=list)
    exercised: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # real path -> line spans
    problems: list[str] = field(default_factory=list)


def load_evidence(path: str) -> RuntimeEvidence:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise EvidenceError(f"cannot read runtime evidence {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"runtime evidence {path} is not valid JSON: {exc}") from None
    return evidence_from_document(document, path)


def evidence_from_document(document: object, path: str = "<evidence>") -> RuntimeEvidence:
    """The evidence in a parsed `devlint-runtime/1` document (`path` names it in errors)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise EvidenceError(f"{path} is not devlint runtime evidence (expected format {FORMAT!r}); write it with "
                            "`report.write(...)` from devlint.runtime or pytest --devlint-runtime-out")
    evidence = RuntimeEvidence(problems=[str(p) for p in document.get("problems", [])])
    try:
        for item in document.get("findings", []):
            frames = item.get("frames") or [{}]
            evidence.findings.append(RuntimeFinding(
                code=str(item["code"]), path=os.path.realpath(item["path"]), line=int(item["line"]),
                column=int(item["column"]), first_line=min(int(frames[0].get("line", item["line"])), int(item["line"])),
                end_line=int(item["end_line"]), end_column=int(item.get("end_column", item["column"])),
                message=str(item["message"]), function=item.get("function"), snippet=str(item.get("snippet", "")),
                suppressed=bool(item.get("suppressed", False))))
        for file, spans in document.get("exercised", {}).items():
            evidence.exercised[os.path.realpath(file)] = [(int(a), int(b)) for a, b in spans]
    except (KeyError, TypeError, ValueError) as exc:
        raise EvidenceError(f"runtime evidence {path} is malformed ({type(exc).__name__}: {exc}); write it again "
                            "with devlint.runtime") from None
    return evidence


def _rows(d: Diagnostic) -> tuple[int, int]:
    return d.cover or (d.start.row, d.end.row)


def _status(d: Diagnostic, findings: list[RuntimeFinding], spans: list[tuple[int, int]]) -> Evidence:
    rows = _rows(d)
    if any(f.code == d.code and f.covers(rows) for f in findings):
        return Evidence.CONFIRMED
    if any(a <= rows[1] and rows[0] <= b for a, b in spans):
        return Evidence.EXERCISED
    return Evidence.NOT_EXERCISED


def join(files: list[FileResult], evidence: RuntimeEvidence, enabled: Callable[[str, str], bool]) -> None:
    """Mark every diagnostic of `files` with its evidence and add the runtime-only findings (in place).
    `enabled(path, code)` says whether a code is selected for a file (the file's own settings)."""
    from devlint.suppress import apply_suppressions, read_directives

    by_path: dict[str, list[RuntimeFinding]] = {}
    for finding in evidence.findings:
        by_path.setdefault(finding.path, []).append(finding)
    for result in files:
        real = os.path.realpath(result.path)
        found = by_path.get(real, [])
        spans = evidence.exercised.get(real, [])
        if not found and not spans:
            result.diagnostics = [replace(d, evidence=Evidence.NOT_EXERCISED) for d in result.diagnostics]
            continue
        text = _text(result)
        directives = read_directives(text) if text is not None else None
        if directives is None:  # unreadable now: trust what the build read
            found = [f for f in found if not f.suppressed]
        active = found
        if directives:
            pairs = [(f, _diagnostic(f, result.path)) for f in found]
            kept = {id(d) for d in apply_suppressions([d for _, d in pairs], directives)}
            active = [f for f, d in pairs if id(d) in kept]
        # A suppression that only a runtime finding uses is used: no DL100 for it.
        used_rows = {d.row for d in directives or () if d.used}
        static = [replace(d, evidence=_status(d, active, spans)) for d in result.diagnostics
                  if not (d.code == "DL100" and d.start.row in used_rows)]
        explained = [f for f in active if any(
            f.covers(_rows(d)) and (f.code == d.code or f.code == UNUSED_ALLOCATION) for d in static)]
        extra = [_diagnostic(f, result.path) for f in active if f not in explained and enabled(result.path, f.code)]
        result.diagnostics = sorted(static + _unique(extra), key=lambda d: d.sort_key)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, kept = set(), []
    for d in diagnostics:
        key = (d.code, d.start, d.message)
        if key not in seen:
            seen.add(key)
            kept.append(d)
    return kept


def _text(result: FileResult) -> str | None:
    """The file as it reads now: `# noqa: DLxxx` is honoured as written today (the build may predate it)."""
    from devlint.source import SourceError, read_source

    if result.original_source is not None:
        return result.original_source
    try:
        return read_source(result.path).text
    except (SourceError, OSError):
        return None


def _diagnostic(f: RuntimeFinding, shown_path: str) -> Diagnostic:
    return Diagnostic(code=f.code, message=f.message, path=shown_path, start=Location(f.line, f.column),
                      end=Location(max(f.end_line, f.line), f.end_column if f.end_line > f.line else
                                   max(f.end_column, f.column + 1)),
                      context_function=f.function, cover=(f.first_line, f.end_line), snippet=f.snippet,
                      source=Source.RUNTIME, evidence=Evidence.RUNTIME_ONLY)


def counts(diagnostics: list[Diagnostic]) -> dict[Evidence, int]:
    """How many diagnostics have each evidence status (for summaries)."""
    found = {status: 0 for status in Evidence}
    for d in diagnostics:
        if d.evidence is not None:
            found[d.evidence] += 1
    return found
