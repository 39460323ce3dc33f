"""The rule registry: every rule class, once. Codes, docs and examples live on the classes."""

from __future__ import annotations

from devlint.rules.base import Invalid, Rule, RuleContext
from devlint.rules.dl001_sibling_device import SiblingDevice
from devlint.rules.dl002_platform_move import PlatformMove
from devlint.rules.dl003_construction_device import ConstructionDevice
from devlint.rules.dl004_platform_default import PlatformDefault
from devlint.rules.dl005_like_override import LikeOverride
from devlint.rules.dl100_unused_suppression import UnusedSuppression
from devlint.rules.dl201_untracked_device import UntrackedDevice
from devlint.rules.dl202_stray_allocation import StrayAllocation

ALL_RULES: tuple[type[Rule], ...] = (
    SiblingDevice, PlatformMove, ConstructionDevice, PlatformDefault, LikeOverride, UnusedSuppression,
)
# Reported only by a watched build (devlint.runtime) and joined by `devlint check --runtime-evidence`;
# documented like every rule (`devlint rule DL201`), never run by the static engine.
RUNTIME_RULES: tuple[type[Rule], ...] = (UntrackedDevice, StrayAllocation)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in (*ALL_RULES, *RUNTIME_RULES)}

__all__ = ["ALL_RULES", "RULES_BY_CODE", "RUNTIME_RULES", "Invalid", "Rule", "RuleContext"]
