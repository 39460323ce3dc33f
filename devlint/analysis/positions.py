"""Where nodes are in the source: 1-based rows and columns for diagnostics and fix edits.

Positions come from LibCST's code generation, which is costly for a whole module. Knowing the first line of
each top-level statement (from CPython's parse, see `devlint.prefilter.statement_lines`) lets us generate
just the statement holding a node: columns are unchanged at top level, lines shift by a known offset. Without
those lines, or when they do not match the tree, the whole module's positions are computed once.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from devlint.analysis.cst_util import top_level_statement_of
from devlint.analysis.walk import child_nodes
from devlint.types import Location

_Positions = Mapping[cst.CSTNode, CodeRange]
_FEW_STATEMENTS = 8


class NodePositions:
    """Positions of the nodes of one module, resolved lazily and per top-level statement where possible."""

    def __init__(self, module: cst.Module, statement_lines: list[int] | None = None) -> None:
        self.module = module
        self._module_positions: _Positions | None = None
        self._first_lines = self._map_statements(statement_lines)
        self._statement_positions: dict[int, tuple[_Positions, int]] = {}
        self._holder: dict[int, cst.SimpleStatementLine | cst.BaseCompoundStatement] | None = None

    def _map_statements(self, lines: list[int] | None) -> dict[int, int] | None:
        """{id(top-level statement): its first line}, or None if `lines` does not match the tree (CPython
        counts each statement of `a = 1; b = 2` apart, LibCST holds them in one line node)."""
        if not lines:
            return None
        first: dict[int, int] = {}
        index = 0
        for statement in self.module.body:
            if index >= len(lines):
                return None
            first[id(statement)] = lines[index]
            index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        return first if index == len(lines) else None

    def _statement_range(self, statement: cst.SimpleStatementLine | cst.BaseCompoundStatement,
                         node: cst.CSTNode) -> CodeRange:
        assert self._first_lines is not None
        cached = self._statement_positions.get(id(statement))
        if cached is None:
            module = self.module
            alone = cst.Module(body=(statement,), header=[], footer=[], default_indent=module.default_indent,
                               default_newline=module.default_newline)
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            offset = self._first_lines[id(statement)] - positions[statement].start.line
            cached = self._statement_positions[id(statement)] = (positions, offset)
        positions, offset = cached
        found = positions[node]
        return CodeRange(CodePosition(found.start.line + offset, found.start.column),
                         CodePosition(found.end.line + offset, found.end.column))

    def _statement_holding(self, node: cst.CSTNode) -> cst.SimpleStatementLine | cst.BaseCompoundStatement | None:
        """The top-level statement holding `node`: one walk of the module builds the map, so a file with many
        findings costs linear, not quadratic, time."""
        if self._holder is None:
            holder: dict[int, cst.SimpleStatementLine | cst.BaseCompoundStatement] = {}
            for statement in self.module.body:
                stack: list[cst.CSTNode] = [statement]
                while stack:
                    current = stack.pop()
                    holder[id(current)] = statement
                    stack.extend(child_nodes(current))
            self._holder = holder
        found = self._holder.get(id(node))
        return found if found is not None else top_level_statement_of(self.module, node)

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        """LibCST's range of `node`: 1-based lines, 0-based columns."""
        if self._first_lines is not None:
            if self._holder is None and len(self._statement_positions) <= _FEW_STATEMENTS:
                # Findings cluster in few statements: a node of one already generated needs no walk of the
                # module (past a few, the statement map answers in constant time).
                for positions, offset in self._statement_positions.values():
                    found = positions.get(node)
                    if found is not None:
                        return CodeRange(CodePosition(found.start.line + offset, found.start.column),
                                         CodePosition(found.end.line + offset, found.end.column))
            statement = self._statement_holding(node)
            if statement is not None:
                return self._statement_range(statement, node)
        if self._module_positions is None:
            self._module_positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        return self._module_positions[node]

    def span(self, node: cst.CSTNode) -> tuple[Location, Location]:
        """Start and end (exclusive) of `node`, as users count them: 1-based rows and columns."""
        code_range = self.range_of(node)
        return (Location(code_range.start.line, code_range.start.column + 1),
                Location(code_range.end.line, code_range.end.column + 1))

    def line_of(self, node: cst.CSTNode) -> int:
        return self.range_of(node).start.line
