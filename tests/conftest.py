from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from devlint.api import lint_source
from devlint.types import Diagnostic, FixMode, Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def findings(source: str, *, select: str = "DL", path: str = "model.py") -> list[Diagnostic]:
    """Lint a dedented snippet and return its diagnostics."""
    result = lint_source(textwrap.dedent(source), path, Settings(select=frozenset({select})))
    assert result.error is None, result.error
    return result.diagnostics


def fixed(source: str, mode: FixMode = FixMode.UNSAFE) -> str:
    result = lint_source(textwrap.dedent(source), "model.py", Settings(), mode)
    assert result.error is None, result.error
    return result.fixed_source if result.fixed_source is not None else textwrap.dedent(source)


def positions(diagnostics: list[Diagnostic]) -> list[tuple[int, int, str]]:
    return [(d.start.row, d.start.column, d.code) for d in diagnostics]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# A module with one finding (GATE_OLD) and a change that adds another (GATE_NEW): the changed-lines and
# baseline gates keep only the new one.
GATE_OLD = ("import torch\n"
            "def old(inv_freq: torch.Tensor, n: int):\n"
            "    t = torch.arange(n, device='cuda')\n"
            "    return torch.outer(t, inv_freq)\n")
GATE_NEW = ("def new(x: torch.Tensor):\n"
            "    return x + torch.ones(2, device='cuda')\n")


def devlint_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def docs_block(first_line: str, document: str = "docs/ci.md") -> str:
    """The fenced code block of `document` whose first line is `first_line` (docs tested as written)."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", (REPO / document).read_text(), re.MULTILINE | re.DOTALL)
    found = [block for block in blocks if block.startswith(first_line)]
    assert len(found) == 1, f"{document} should hold one block starting with {first_line!r}"
    return found[0]


def expected_positions(case: Path) -> list[tuple[int, int, str]]:
    """The `row:column CODE` lines of a fixture's `.expected` file (a fixture beside its expected findings)."""
    rows = []
    for line in case.with_suffix(".expected").read_text().splitlines():
        where, code = line.split()
        row, column = where.split(":")
        rows.append((int(row), int(column), code))
    return rows
