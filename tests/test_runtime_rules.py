"""DL201/DL202: documented like every rule, reported only by a watched build, never by the static engine."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from devlint.api import lint_source
from devlint.cli import main
from devlint.engine import Checker
from devlint.rules import ALL_RULES, RULES_BY_CODE, RUNTIME_RULES
from devlint.types import Settings


@pytest.mark.parametrize("rule", RUNTIME_RULES, ids=[r.code for r in RUNTIME_RULES])
def test_runtime_rules_are_documented(rule) -> None:
    out = CliRunner().invoke(main, ["rule", rule.code]).stdout
    assert out.startswith(f"# {rule.name} ({rule.code})\n\nNo fix is available. Reported only by a watched "
                          "build (devlint.runtime).\n\n## What it does\n")
    for heading in ("## Why is this bad?", "## Example", "## Fix safety"):
        assert heading in out


def test_rule_all_lists_the_runtime_rules_too() -> None:
    out = CliRunner().invoke(main, ["rule", "--all"]).stdout
    assert re.findall(r"^# [a-z-]+ \((DL\d+)\)$", out, re.M) == list(RULES_BY_CODE)
    assert list(RULES_BY_CODE)[-2:] == ["DL201", "DL202"]


def test_the_static_engine_never_runs_them() -> None:
    assert not set(RUNTIME_RULES) & set(ALL_RULES)
    codes = {rule.code for rule in Checker.for_settings(Settings()).rules}
    assert "DL201" not in codes and "DL202" not in codes


def test_a_runtime_suppression_is_no_unused_suppression() -> None:
    source = ("import numpy as np\nimport torch\n\n"
              "def table(rows: int) -> torch.Tensor:\n"
              "    return torch.from_numpy(np.zeros(rows))  # noqa: DL201\n"
              "x = 1  # noqa: DL001\n")
    result = lint_source(source, "model.py", Settings())
    assert [(d.code, d.start.row) for d in result.diagnostics] == [("DL100", 6)]
