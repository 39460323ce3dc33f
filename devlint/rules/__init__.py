"""The rule registry: every rule class, once. Codes, docs and examples live on the classes."""

from __future__ import annotations

from devlint.rules.base import Invalid, Rule, RuleContext
from devlint.rules.dl001_sibling_device import SiblingDevice

ALL_RULES: tuple[type[Rule], ...] = (SiblingDevice,)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE", "Invalid", "Rule", "RuleContext"]
