"""Adding a rule touches its module and the registry only: everything else — docs, `devlint rule`, the
tests — is derived from the rule classes, and these checks say where a list went stale."""

from __future__ import annotations

import re

from click.testing import CliRunner

from devlint.cli import main
from devlint.rules import ALL_RULES, KNOWN_CODES, RULE_CLASSES, RULES_BY_CODE, RUNTIME_RULE_CLASSES, RUNTIME_RULES
from devlint.rules.file_errors import FILE_ERRORS
from devlint.types import FixAvailability

from conftest import REPO


def readme_table(heading_row: str, section: str = "") -> list[list[str]]:
    """The rows of the first README table, after the `section` heading, whose header row is `heading_row`."""
    lines = (REPO / "README.md").read_text().splitlines()
    after = lines.index(section) if section else 0
    start = next(i for i, line in enumerate(lines) if i > after and line.startswith(heading_row))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_the_registry_names_each_rule_class_by_its_code() -> None:
    assert [rule.code for rule in ALL_RULES] == list(RULE_CLASSES)
    assert [rule.code for rule in RUNTIME_RULES] == list(RUNTIME_RULE_CLASSES)
    assert set(RULES_BY_CODE) == set(RULE_CLASSES) | set(RUNTIME_RULE_CLASSES)
    for rule in (*ALL_RULES, *RUNTIME_RULES):
        assert rule.__module__.rpartition(".")[2].startswith(rule.code.lower() + "_"), rule
    assert KNOWN_CODES == (*RULE_CLASSES, *RUNTIME_RULE_CLASSES, *FILE_ERRORS)


def test_the_readme_rule_table_matches_the_rule_classes() -> None:
    rows = readme_table("| code | name | what it flags | fix |")
    every = (*ALL_RULES, *RUNTIME_RULES)
    assert [(code, name) for code, name, *_ in rows] == [(rule.code, rule.name) for rule in every]
    # The fix column says "none" exactly for the rules without a fix.
    assert [fix == "none" for *_, fix in rows] == [r.fix_availability is FixAvailability.NONE for r in every]


def test_the_readme_file_error_table_matches_the_codes() -> None:
    rows = readme_table("| code | meaning |", "### Files that cannot be checked")
    assert sorted(row[0] for row in rows) == sorted(FILE_ERRORS)


def test_rule_all_explains_every_rule_class_and_file_error() -> None:
    result = CliRunner().invoke(main, ["rule", "--all"])
    assert result.exit_code == 0
    headings = re.findall(r"^# (\S+) \((\w+)\)$", result.stdout, re.MULTILINE)
    assert headings == [(r.name, r.code) for r in (*ALL_RULES, *RUNTIME_RULES)] + \
        [(e.name, e.code) for e in FILE_ERRORS.values()]
    for rule in ALL_RULES:
        assert f"# {rule.name} ({rule.code})\n\n{rule.fix_availability.sentence}\n\n{rule.documentation()}\n" \
            in result.stdout
