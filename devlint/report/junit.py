"""`junit`: one test suite per file, one failed test case per finding (for CI test-report viewers)."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from devlint.report.base import Reporter
from devlint.types import RunResult


class JunitReporter(Reporter):
    name = "junit"

    def render(self, run: RunResult) -> str:
        by_file: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
        for e in run.errors:
            if not e.is_internal:
                row, column = (e.location.row, e.location.column) if e.location else (1, 1)
                by_file[e.path].append((e.code, e.reason, row, column))
        for d in run.diagnostics:
            by_file[d.path].append((d.code, self.message_of(d), d.start.row, d.start.column))
        total = sum(len(v) for v in by_file.values())
        suites = ET.Element("testsuites", name="devlint", tests=str(max(total, 1)), failures=str(total))
        if not by_file:
            suite = ET.SubElement(suites, "testsuite", name="devlint", tests="1", failures="0")
            ET.SubElement(suite, "testcase", name="devlint", classname="devlint")
        for path in sorted(by_file):
            cases = by_file[path]
            suite = ET.SubElement(suites, "testsuite", name=path, tests=str(len(cases)), failures=str(len(cases)))
            for code, message, row, column in cases:
                case = ET.SubElement(suite, "testcase", name=f"{code} at {path}:{row}:{column}", classname=path,
                                     file=path, line=str(row))
                failure = ET.SubElement(case, "failure", message=message, type=code)
                failure.text = f"{path}:{row}:{column}: {code} {message}"
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
