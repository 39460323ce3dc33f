"""The pytest plugin (entry point `pytest11`): build models under meta in tests and keep the evidence.

    def test_decoder_builds_on_meta(meta_build):
        model, report = meta_build(Decoder, config)
        assert not report.active_findings, report.summary()

    pytest --devlint-runtime-out devlint-runtime.json     # then: devlint check --runtime-evidence ...

At the end of the session the terminal summary joins the builds' evidence with devlint's static findings
for the files the builds ran through: confirmed / runtime-only / exercised / not exercised. Importing this
module imports no torch; only a test that uses `meta_build` does.
"""

from __future__ import annotations

from typing import Any

import pytest

_REPORTS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devlint", "devlint runtime evidence")
    group.addoption("--devlint-runtime-out", metavar="FILE", default=None,
                    help="Write the evidence of every `meta_build` to FILE for `devlint check --runtime-evidence`.")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORTS] = []


@pytest.fixture
def meta_build(request: pytest.FixtureRequest):
    """`meta_build(cls, *args, **kwargs) -> (module, report)`: `devlint.runtime.build_on_meta`, with the
    report kept for the session's evidence file and summary."""
    from devlint.runtime import build_on_meta  # torch loads here, only for tests that ask for it

    reports = request.config.stash[_REPORTS]

    def build(cls: Any, *args: Any, **kwargs: Any):
        module, report = build_on_meta(cls, *args, **kwargs)
        reports.append(report)
        return module, report

    return build


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORTS, [])
    if not reports:
        return
    from devlint.runtime.report import combined_json, write_combined

    out = config.getoption("--devlint-runtime-out")
    if out:
        write_combined(reports, out)
    document = combined_json(reports)
    line = terminalreporter.write_line
    terminalreporter.section("devlint runtime evidence")
    line(f"{len(reports)} build{'s' if len(reports) != 1 else ''} watched under meta" +
         (f"; evidence written to {out}" if out else ""))
    for label, count in _joined_counts(document).items():
        line(f"  {label}: {count}")
    for problem in document["problems"]:
        line(problem)


def _joined_counts(document: dict) -> dict[str, int]:
    """Static findings in the files the builds ran, joined with the runtime findings."""
    import os

    from devlint.api import lint_paths
    from devlint.evidence import evidence_from_document, join
    from devlint.types import Settings

    evidence = evidence_from_document(document)
    files = sorted({f.path for f in evidence.findings} | set(evidence.exercised))
    files = [f for f in files if os.path.isfile(f)]
    run = lint_paths(files, Settings()) if files else None
    results = run.files if run is not None else []
    join(results, evidence, lambda _path, _code: True)
    counts = {"confirmed": 0, "runtime-only": 0, "exercised": 0, "not exercised": 0}
    for result in results:
        for d in result.diagnostics:
            if d.evidence is not None:
                counts[d.evidence.value] += 1
    return counts
