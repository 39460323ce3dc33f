"""`full`: each finding with its source line, a caret under the flagged code, and its fix as a diff."""

from __future__ import annotations

import difflib

from devlint.report.base import Summary, position
from devlint.report.concise import ConciseReporter
from devlint.source import SourceError, read_source
from devlint.types import Diagnostic, FixMode, RunResult


class FullReporter(ConciseReporter):
    name = "full"

    def render(self, run: RunResult) -> str:
        texts: dict[str, str | None] = {}
        cells: dict[str, dict[int, str]] = {}
        blocks = []
        for error in run.errors:
            if not error.is_internal:
                blocks.append(self._style(self.error_line(error), fg="red") + "\n")
        for d in run.diagnostics:
            if d.cell is not None:  # a notebook: the source lines are the cell's
                if d.path not in cells:
                    from devlint.notebook import cell_texts

                    cells[d.path] = cell_texts(d.path)
                blocks.append(self._block(d, cells[d.path].get(d.cell.index)))
                continue
            if d.path not in texts:
                try:
                    texts[d.path] = read_source(d.path).text
                except SourceError:
                    texts[d.path] = None
            blocks.append(self._block(d, texts[d.path]))
        body = "\n".join(blocks) + ("\n" if blocks else "")
        return body + self.summary_line(self._summary(run)) + "\n" if self.summary else body

    def _summary(self, run: RunResult) -> Summary:
        return Summary.of(run, self.fix_mode)

    def _block(self, d: Diagnostic, text: str | None) -> str:
        mark = "[*] " if self.marks_fixable(d, self.fix_mode) else ""
        head = f"{self._style(d.path, bold=True)}:{position(d.cell, d.start)}: " \
               f"{self._style(d.code, fg='red', bold=True)} {mark}{self.message_of(d)}\n"
        if text is None:
            return head
        lines = text.splitlines()
        if not 0 < d.start.row <= len(lines):
            return head
        line = lines[d.start.row - 1]
        width = max(1, (d.end.column - d.start.column) if d.end.row == d.start.row else len(line) - d.start.column + 1)
        gutter = f"{d.start.row:>5} | "
        body = f"{gutter}{line}\n{' ' * (len(gutter) + d.start.column - 1)}{self._style('^' * width, fg='red')}\n"
        if d.fix is not None:
            from devlint.fix import apply_fixes  # imports LibCST: only when a fix is shown

            fixed, applied = apply_fixes(text, [d], FixMode.UNSAFE)
            if applied:
                diff = difflib.unified_diff(text.splitlines(), fixed.splitlines(), lineterm="", n=0)
                changes = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
                label = f"  {d.fix.applicability.value} fix: {d.fix.message}\n"
                body += label + "".join(f"    {self._style(line, fg='green' if line[0] == '+' else 'red')}\n"
                                        for line in changes)
        return head + body
