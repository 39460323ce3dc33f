"""`junit`: one test suite per file, one failed test case per finding (for CI test-report viewers)."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from devlint.report.base import Reporter, place
from devlint.types import Location, RunResult


class JunitReporter(Reporter):
    name = "junit"

    def render(self, run: RunResult) -> str:
        # (code, message, `path:row:column` or `path:cell N:row:column`, the row in the file as stored)
        by_file: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
        for e in run.errors:
            if not e.is_internal:
                at = e.location or Location(1, 1)
                by_file[e.path].append((e.code, e.reason, place(e.path, e.cell, at),
                                        e.cell.file_start.row if e.cell else at.row))
        for d in run.diagnostics:
            by_file[d.path].append((d.code, self.message_of(d), place(d.path, d.cell, d.start),
                                    d.cell.file_start.row if d.cell else d.start.row))
        total = sum(len(v) for v in by_file.values())
        suites = ET.Element("testsuites", name="devlint", tests=str(max(total, 1)), failures=str(total))
        if not by_file:
            suite = ET.SubElement(suites, "testsuite", name="devlint", tests="1", failures="0")
            ET.SubElement(suite, "testcase", name="devlint", classname="devlint")
        for path in sorted(by_file):
            cases = by_file[path]
            suite = ET.SubElement(suites, "testsuite", name=path, tests=str(len(cases)), failures=str(len(cases)))
            for code, message, where, row in cases:
                case = ET.SubElement(suite, "testcase", name=f"{code} at {where}", classname=path,
                                     file=path, line=str(row))
                failure = ET.SubElement(case, "failure", message=message, type=code)
                failure.text = f"{where}: {code} {message}"
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
