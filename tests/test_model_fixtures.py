"""All rules on realistic model code: exact (line, column, code) and exact fixed text per fixture.

Each `name.py` has `name.expected` (one `line:col CODE` per finding) and, when it has fixes,
`name.fixed.py` (the text after `--fix --unsafe-fixes`). Add a real regression by dropping in a new trio.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devlint.api import lint_source
from devlint.types import FixMode, Settings

from conftest import FIXTURES, expected_positions

CASES = sorted(p for p in (FIXTURES / "models").glob("*.py") if not p.name.endswith(".fixed.py"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture_diagnostics(case: Path) -> None:
    result = lint_source(case.read_bytes(), case.name, Settings())
    assert result.error is None
    assert [(d.start.row, d.start.column, d.code) for d in result.diagnostics] == expected_positions(case)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture_fixes(case: Path) -> None:
    expected = case.with_name(case.stem + ".fixed.py")
    result = lint_source(case.read_bytes(), case.name, Settings(), FixMode.UNSAFE)
    if not expected.exists():
        assert result.fixed_source is None
        return
    assert result.fixed_source == expected.read_text()
    # A fixed point: linting the fixed text finds nothing more to fix.
    again = lint_source(result.fixed_source, case.name, Settings(), FixMode.UNSAFE)
    assert again.fixed_source is None
