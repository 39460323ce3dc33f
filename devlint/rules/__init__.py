"""The rule registry: every rule, once, by code. Codes, docs and examples live on the classes.

The registry names each class by module and attribute and loads them on first use (as `devlint.report`
does for reporters): the codes alone — all that validating `--select` or `[tool.devlint]` needs — cost
nothing to import, while the classes load LibCST. Adding a rule touches its own module and this table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext

    KNOWN_CODES: tuple[str, ...]
    """Every code a finding can carry: the rules', the runtime rules' and the file errors' (E001, E902, E999).
    Loaded on first use with the file errors' explanations (a check needs only `RULE_CLASSES`)."""
    ALL_RULES: tuple[type[Rule], ...]
    RUNTIME_RULES: tuple[type[Rule], ...]
    RULES_BY_CODE: dict[str, type[Rule]]

RULE_CLASSES: dict[str, str] = {
    "DL001": "devlint.rules.dl001_sibling_device:SiblingDevice",
    "DL002": "devlint.rules.dl002_platform_move:PlatformMove",
    "DL003": "devlint.rules.dl003_construction_device:ConstructionDevice",
    "DL004": "devlint.rules.dl004_platform_default:PlatformDefault",
    "DL005": "devlint.rules.dl005_like_override:LikeOverride",
    "DL006": "devlint.rules.dl006_placeholder_device:PlaceholderDevice",
    "DL100": "devlint.rules.dl100_unused_suppression:UnusedSuppression",
}
RUNTIME_RULE_CLASSES: dict[str, str] = {
    "DL201": "devlint.rules.dl201_untracked_device:UntrackedDevice",
    "DL202": "devlint.rules.dl202_stray_allocation:StrayAllocation",
}
"""Reported only by a watched build (devlint.runtime), joined by `devlint check --runtime-evidence`;
documented like every rule (`devlint rule DL201`) and never run by the static engine (not in ALL_RULES)."""
_BASE_NAMES = frozenset({"FixAvailability", "Invalid", "Rule", "RuleContext"})


def _load(name: str) -> Any:
    module, _, attribute = {**RULE_CLASSES, **RUNTIME_RULE_CLASSES}[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def __getattr__(name: str) -> Any:
    if name == "KNOWN_CODES":
        from devlint.rules.file_errors import FILE_ERRORS

        value: Any = (*RULE_CLASSES, *RUNTIME_RULE_CLASSES, *FILE_ERRORS)
    elif name == "ALL_RULES":
        value = tuple(_load(code) for code in RULE_CLASSES)
    elif name == "RUNTIME_RULES":
        value = tuple(_load(code) for code in RUNTIME_RULE_CLASSES)
    elif name == "RULES_BY_CODE":
        value = {rule.code: rule for rule in (*__getattr__("ALL_RULES"), *__getattr__("RUNTIME_RULES"))}
    elif name in _BASE_NAMES:
        value = getattr(importlib.import_module("devlint.rules.base"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["ALL_RULES", "KNOWN_CODES", "RULES_BY_CODE", "RULE_CLASSES", "RUNTIME_RULES", "RUNTIME_RULE_CLASSES",
           "FixAvailability", "Invalid", "Rule", "RuleContext"]
