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
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from devlint.analysis import ModuleAnalysis, code_of
from devlint.analysis.tensors import contains_node
from devlint.types import Applicability, Diagnostic, Edit, Fix, Location, UnsafeReason


@dataclass(frozen=True)
class Invalid:
    """Code a rule must flag; `fixed` is the text after applying every fix (unsafe ones included)."""

    code: str
    fixed: str | None = None


class RuleContext:
    """Collects one rule run's diagnostics for one file; positions are resolved only when needed."""

    def __init__(self, analysis: ModuleAnalysis, path: str, statement_lines: list[int] | None = None) -> None:
        self.analysis = analysis
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self._module_positions = None
        # Positions come from LibCST's code generation, which is costly for a whole module. Knowing the first
        # line of each top-level statement (from CPython's parse) lets us generate just the statement holding
        # a node: columns are unchanged at top level, lines shift by a known offset.
        self._first_lines = self._map_statements(statement_lines)
        self._statement_positions: dict[int, tuple[object, int]] = {}

    def _map_statements(self, lines: list[int] | None) -> dict[int, int] | None:
        if not lines:
            return None
        first: dict[int, int] = {}
        index = 0
        for statement in self.analysis.facts.module.body:
            if index >= len(lines):
                return None
            first[id(statement)] = lines[index]
            index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        return first if index == len(lines) else None

    def _range(self, node: cst.CSTNode) -> CodeRange:
        module = self.analysis.facts.module
        if self._first_lines is not None:
            statement = next((s for s in module.body if s is node or contains_node(s, node)), None)
            if statement is not None:
                cached = self._statement_positions.get(id(statement))
                if cached is None:
                    alone = cst.Module(body=[statement], header=[], footer=[], default_indent=module.default_indent,
                                       default_newline=module.default_newline)
                    positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                    offset = self._first_lines[id(statement)] - positions[statement].start.line
                    cached = self._statement_positions[id(statement)] = (positions, offset)
                positions, offset = cached
                found = positions[node]  # type: ignore[index]
                return CodeRange(CodePosition(found.start.line + offset, found.start.column),
                                 CodePosition(found.end.line + offset, found.end.column))
        if self._module_positions is None:
            self._module_positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return self._module_positions[node]

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

    # Why this rule's unsafe fixes are unsafe; each fix states its own (`fix.message`, `Fix.reason`).
    UNSAFE_REASONS: ClassVar[tuple[UnsafeReason, ...]] = ()

    @classmethod
    def documentation(cls) -> str:
        """The class docstring, its *Fix safety* section ending with the reasons an unsafe fix gives."""
        text = inspect.cleandoc(cls.__doc__ or "")
        if cls.UNSAFE_REASONS:
            reasons = "\n".join(f"- {reason.value}" for reason in cls.UNSAFE_REASONS)
            text += f"\n\nAn unsafe fix says why in its message (`(unsafe: ...)`), one of:\n{reasons}"
        return text

    @staticmethod
    def fix(message: str, edits: list[Edit], unsafe: UnsafeReason | None) -> Fix:
        """A fix that is safe when `unsafe` is None; otherwise unsafe for that reason, which its message
        then states (`Drop the device argument (unsafe: removes a placement the caller may rely on)`)."""
        if unsafe is None:
            return Fix(message=message, edits=tuple(edits))
        return Fix(message=f"{message} (unsafe: {unsafe.value})", edits=tuple(edits),
                   applicability=Applicability.UNSAFE, reason=unsafe)
