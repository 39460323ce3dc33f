"""The rule registry: every rule class, once. Codes, docs and examples live on the classes."""

from __future__ import annotations

from devlint.rules.base import Invalid, Rule, RuleContext
from devlint.rules.dl001_sibling_device import SiblingDevice
from devlint.rules.dl002_platform_move import PlatformMove
from devlint.rules.dl003_construction_device import ConstructionDevice
from devlint.rules.dl004_platform_default import PlatformDefault
from devlint.rules.dl005_like_override import LikeOverride
from devlint.rules.dl100_unused_suppression import UnusedSuppression

ALL_RULES: tuple[type[Rule], ...] = (
    SiblingDevice, PlatformMove, ConstructionDevice, PlatformDefault, LikeOverride, UnusedSuppression,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE", "Invalid", "Rule", "RuleContext"]
