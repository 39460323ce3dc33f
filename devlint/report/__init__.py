"""Reporters: one module per output format, registered here by name."""

from __future__ import annotations

from devlint.report.base import Reporter, Summary
from devlint.report.concise import ConciseReporter
from devlint.report.full import FullReporter
from devlint.report.github import GithubReporter
from devlint.report.json_format import JsonLinesReporter, JsonReporter
from devlint.report.junit import JunitReporter
from devlint.report.sarif import SarifReporter

REPORTERS: dict[str, type[Reporter]] = {
    reporter.name: reporter
    for reporter in (ConciseReporter, FullReporter, JsonReporter, JsonLinesReporter, SarifReporter, GithubReporter,
                     JunitReporter)
}

__all__ = ["REPORTERS", "Reporter", "Summary"]
