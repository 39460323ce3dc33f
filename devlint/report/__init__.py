"""Reporters: one module per output format, registered here by name."""

from __future__ import annotations

from devlint.report.concise import ConciseReporter
from devlint.report.base import Reporter, Summary

REPORTERS: dict[str, type[Reporter]] = {
    ConciseReporter.name: ConciseReporter,
}

__all__ = ["REPORTERS", "Reporter", "Summary"]
