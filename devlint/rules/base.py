"""What a rule is, and the context it reports through.

A rule is a small class: its code and name, its documentation in the class docstring (What it does / Why
is this bad? / Example / Fix safety: what `devlint rule CODE` prints), examples that are also its tests
(`VALID` code it must accept, `INVALID` code it must flag with the text its fix produces), and `check`, which
reads the shared module analysis and reports. Rules never walk the tree or compute positions themselves.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from devlint.analysis import ModuleAnalysis, code_of
from devlint.types import Applicability, Diagnostic, Edit, Fix, Location


@dataclass(frozen=True)
class Invalid:
    """Code a rule must flag; `fixed` is the text after applying every fix (unsafe ones included)."""

    code: str
    fixed: str | None = None


class RuleContext:
    """Collects one rule run's diagnostics for one file; positions are resolved only when needed."""

    def __init__(self, analysis: ModuleAnalysis, path: str) -> None:
        self.analysis = analysis
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self._positions = None

    def _range(self, node: cst.CSTNode) -> CodeRange:
        if self._positions is None:
            wrapper = MetadataWrapper(self.analysis.facts.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions[node]

    def span(self, node: cst.CSTNode) -> tuple[Location, Location]:
        code_range = self._range(node)
        return (Location(code_range.start.line, code_range.start.column + 1),
                Location(code_range.end.line, code_range.end.column + 1))

    def line_of(self, node: cst.CSTNode) -> int:
        return self._range(node).start.line

    def replace(self, node: cst.CSTNode, content: str) -> Edit:
        start, end = self.span(node)
        return Edit(content=content, start=start, end=end)

    def report(self, code: str, node: cst.CSTNode, message: str, *, fix: Fix | None = None,
               function: str | None = None, cover: cst.CSTNode | None = None) -> None:
        """Report `node`; `cover` is the whole construct (the call, the statement) whose lines a
        suppression comment may sit on."""
        start, end = self.span(node)
        cover_start, cover_end = self.span(cover) if cover is not None else (start, end)
        snippet = " ".join(code_of(cover if cover is not None else node).split())
        self.diagnostics.append(Diagnostic(code=code, message=message, path=self.path, start=start, end=end,
                                           fix=fix, context_function=function,
                                           cover=(cover_start.row, cover_end.row), snippet=snippet))


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    fix_availability: ClassVar[str] = "None"  # "Always", "Sometimes" or "None", as ruff says it
    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @staticmethod
    def fix(message: str, edits: list[Edit], safe: bool) -> Fix:
        return Fix(message=message, edits=tuple(edits),
                   applicability=Applicability.SAFE if safe else Applicability.UNSAFE)
