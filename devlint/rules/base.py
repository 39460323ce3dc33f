"""What a rule is, and the context it reports through.

A rule is a small class: its code and name, its documentation in the class docstring (What it does / Why
is this bad? / Example / Fix safety: what `devlint rule CODE` prints), examples that are also its tests
(`VALID` code it must accept, `INVALID` code it must flag with the text its fix produces), and `check`, which
reads the shared module analysis and reports. Rules never walk the tree or compute positions themselves.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Container
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from devlint.analysis import ModuleAnalysis
from devlint.analysis.cst_util import code_of
from devlint.analysis.positions import NodePositions
from devlint.suppress import AppliedSuppressions
from devlint.types import Applicability, Diagnostic, Edit, Fix, FixAvailability, Location, UnsafeReason

__all__ = ["FixAvailability", "Invalid", "Rule", "RuleContext"]


@dataclass(frozen=True)
class Invalid:
    """Code a rule must flag; `fixed` is the text after applying every fix (unsafe ones included)."""

    code: str
    fixed: str | None = None


class RuleContext:
    """Collects one rule run's diagnostics for one file. Where nodes are is asked of `positions`
    (`devlint.analysis.positions`), resolved only for the nodes reported."""

    def __init__(self, analysis: ModuleAnalysis, path: str, statement_lines: list[int] | None = None,
                 tree: ast.Module | None = None, left_out: Container[int] = ()) -> None:
        self.analysis = analysis
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.positions = NodePositions(analysis.facts.module, statement_lines, tree, left_out)

    def span(self, node: cst.CSTNode) -> tuple[Location, Location]:
        return self.positions.span(node)

    def line_of(self, node: cst.CSTNode) -> int:
        return self.positions.line_of(node)

    def line_if_known(self, node: cst.CSTNode | None) -> int | None:
        """The line of a node, or None for a node that is not part of this module (a synthesised one)."""
        if node is None:
            return None
        try:
            return self.line_of(node)
        except KeyError:
            return None

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
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    runtime_only: ClassVar[bool] = False  # reported only by devlint.runtime; the static engine never runs it
    # On only when selected by its own code (devlint.types.OPT_IN_CODES lists these), never by a prefix.
    opt_in: ClassVar[bool] = False
    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        """Report findings on a parsed module. Runs before suppression comments are applied."""

    def after_suppressions(self, suppressions: AppliedSuppressions) -> list[Diagnostic]:
        """Findings that depend on which suppression comments were used (DL100). The engine calls this for
        every enabled rule once the other rules' findings were suppressed; most rules have none."""
        return []

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
