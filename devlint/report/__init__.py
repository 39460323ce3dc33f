"""Reporters: one module per output format, registered here by name and imported only when used."""

from __future__ import annotations

import importlib

from devlint.report.base import Reporter, Summary

FORMATS: dict[str, str] = {
    "concise": "devlint.report.concise:ConciseReporter",
    "full": "devlint.report.full:FullReporter",
    "json": "devlint.report.json_format:JsonReporter",
    "json-lines": "devlint.report.json_format:JsonLinesReporter",
    "sarif": "devlint.report.sarif:SarifReporter",
    "github": "devlint.report.github:GithubReporter",
    "junit": "devlint.report.junit:JunitReporter",
}


def reporter_class(name: str) -> type[Reporter]:
    module, _, attribute = FORMATS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


__all__ = ["FORMATS", "Reporter", "Summary", "reporter_class"]
