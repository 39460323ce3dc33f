"""Every rule's documented examples are also its tests: VALID must pass clean, INVALID must be flagged and
fix to exactly the documented text. Keeps `devlint rule CODE` honest."""

from __future__ import annotations

import pytest

from devlint.api import lint_source
from devlint.rules import ALL_RULES, RULES_BY_CODE, Rule
from devlint.types import FixMode, Settings

VALID = [(rule.code, i, code) for rule in ALL_RULES for i, code in enumerate(rule.VALID)]
INVALID = [(rule.code, i, case) for rule in ALL_RULES for i, case in enumerate(rule.INVALID)]


def settings_for(code: str) -> Settings:
    # A post-suppression rule (DL100) judges the suppressions of the other rules: its examples run with every
    # rule on.
    judges_others = RULES_BY_CODE[code].after_suppressions is not Rule.after_suppressions
    return Settings(select=frozenset({"DL" if judges_others else code}))


@pytest.mark.parametrize(("code", "index", "source"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID])
def test_valid_examples_are_clean(code: str, index: int, source: str) -> None:
    result = lint_source(source, "example.py", settings_for(code))
    assert result.error is None
    assert [d.code for d in result.diagnostics if d.code == code] == []


@pytest.mark.parametrize(("code", "index", "case"), INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in INVALID])
def test_invalid_examples_are_flagged_and_fixed(code: str, index: int, case) -> None:
    settings = settings_for(code)
    result = lint_source(case.code, "example.py", settings)
    assert code in {d.code for d in result.diagnostics}
    if case.fixed is not None:
        after = lint_source(case.code, "example.py", settings, FixMode.UNSAFE)
        assert after.fixed_source == case.fixed
        assert not [d for d in lint_source(case.fixed, "example.py", settings).diagnostics if d.fix]


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_every_rule_is_documented(rule) -> None:
    doc = rule.documentation()
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert heading in doc, f"{rule.code} lacks {heading!r}"
    assert rule.VALID and rule.INVALID, f"{rule.code} needs examples"
