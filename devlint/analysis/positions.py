"""Where nodes are in the source: 1-based rows and columns for diagnostics and fix edits.

Positions come from LibCST's code generation with position tracking, which is costly: for a whole module,
and even for one top-level statement when that is a class of thousands of lines. So only the innermost
statement of a block that holds a node (a statement of a method, a method of a class) is generated with
positions, alone, from the state a whole-module generation would be in when it reaches it: the line, the
column and the indentation tokens its blocks add. A function's header (decorators, parameters, annotations)
is generated with an empty body. That state comes from plain code generation (several times cheaper than
tracking positions), counting line breaks as the position tracker does: a top-level statement's range
starts on the line CPython gives (`devlint.prefilter.statement_lines`), the first statement of a block where
the generation of the statement holding the block reaches it, any other where the statement before it ends.
Without those lines, or when they do not match the tree, the whole module's positions are computed once.
The generation states used (`CodegenState`, `PositionProvidingCodegenState`) are LibCST's own, not its
public API: a LibCST without them gets whole-module positions (`PER_STATEMENT` False);
`tests/test_speed_invariants.py` checks every node against a whole-module generation, both ways.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Container, Mapping
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

try:  # LibCST's own generation states (not public API): without them, whole-module positions (slower, same)
    from libcst._nodes.internal import CodegenState
    from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState
except ImportError:  # pragma: no cover - a LibCST that moved them
    CodegenState = object  # type: ignore[assignment,misc]
    PER_STATEMENT = False
else:
    PER_STATEMENT = True

from devlint.analysis.cst_util import top_level_statement_of
from devlint.analysis.walk import child_nodes
from devlint.types import Location

_Positions = Mapping[cst.CSTNode, CodeRange]
_Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement
# (the innermost statement of a block holding a node, whether the node is in that statement's header)
_Holder = tuple[cst.CSTNode, bool]
_Start = tuple[int, int, tuple[str, ...]]  # where a statement's generation starts: line, column, indentation
_FEW_STATEMENTS = 8
_NO_CONTEXT = contextlib.nullcontext()


class _StatementStarts(CodegenState):
    """Plain code generation of one statement, from the line, column and indentation where a whole-module
    generation starts it, that notes where each statement of a block in it (in `wanted`, by id) starts —
    line, column and the indentation tokens in force — and the line where the statement's own (syntactic)
    range starts. Lines and columns are counted as `PositionProvidingCodegenState` counts them."""

    def __init__(self, module: cst.Module, top: cst.CSTNode, wanted: Container[int], stop: cst.CSTNode | None,
                 start: _Start = (1, 0, ())) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline,
                         indent_tokens=list(start[2]))
        self.top = top
        self.wanted = wanted
        self.stop = stop  # raise `_Reached` once where this statement starts is known (None: generate it all)
        self.starts: dict[int, _Start] = {}
        self.top_line: int | None = None
        self._line, self._column, self._counted = start[0], start[1], 0

    def end(self) -> tuple[int, int]:
        """The line and column reached."""
        self._advance()
        return self._line, self._column

    def _advance(self) -> None:
        """Count the tokens generated since the last call, as `PositionProvidingCodegenState` counts them:
        each token apart, "\r\n", "\r" and "\n" one line break each."""
        tokens = self.tokens
        start = self._counted
        if start == len(tokens):
            return
        self._counted = len(tokens)
        chunk = "".join(tokens[start:])
        if "\r" in chunk:  # a "\r" ending one token and a "\n" starting the next are two breaks: token by token
            for token in tokens[start:]:
                segments = NEWLINE_RE.split(token)
                if len(segments) == 1:
                    self._column += len(token)
                else:
                    self._line += len(segments) - 1
                    self._column = len(segments[-1])
            return
        breaks = chunk.count("\n")
        if breaks:
            self._line += breaks
            self._column = len(chunk) - chunk.rfind("\n") - 1
        else:
            self._column += len(chunk)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self._advance()
            self.starts[id(node)] = (self._line, self._column, tuple(self.indent_tokens))
            if node is self.stop and node is not self.top:
                raise _Reached

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
                                  end_node: cst.CSTNode | None = None) -> Any:
        # Plain generation records nothing: a context that does nothing (and has no `finally` to run when
        # `_Reached` unwinds the generation).
        if node is self.top and self.top_line is None:
            self._advance()
            self.top_line = self._line
            if self.stop is node:
                raise _Reached
        return _NO_CONTEXT


class _Reached(Exception):
    """Where the statement asked for starts is known: the rest of the statement generated is not needed."""


def _generated_positions(module: cst.Module, statement: cst.CSTNode, line: int, column: int,
                         indent: tuple[str, ...]) -> _Positions:
    """The positions of the nodes of `statement`, generated alone from the state a whole-module generation
    is in when it reaches it."""
    provider = PositionProvider()
    state = PositionProvidingCodegenState(default_indent=module.default_indent,
                                          default_newline=module.default_newline, provider=provider,
                                          indent_tokens=list(indent), line=line, column=column)
    statement._codegen(state)
    return provider._computed  # type: ignore[return-value]


_BLOCK_STATEMENTS: dict[type, tuple[type, ...]] = {  # a LibCST compound statement, CPython's kinds of it
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef), cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,), cst.For: (ast.For, ast.AsyncFor), cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith), cst.Try: (ast.Try,), cst.Match: (ast.Match,),
}
if hasattr(ast, "TryStar"):
    _BLOCK_STATEMENTS[cst.TryStar] = (ast.TryStar,)
_COMPOUND = tuple(kind for kinds in _BLOCK_STATEMENTS.values() for kind in kinds)


def _paired_blocks(node: cst.CSTNode, tree: ast.AST) -> list[tuple[cst.BaseSuite, list[ast.stmt]]] | None:
    """The blocks of a compound statement, each with CPython's statements of it (`tree`: CPython's node of
    the same statement), or None where the two do not have the same shape."""
    if not isinstance(tree, _BLOCK_STATEMENTS.get(type(node), ())):
        return None
    pairs: list[tuple[cst.BaseSuite, list[ast.stmt]]] = []
    if isinstance(node, cst.Match):
        cases = tree.cases  # type: ignore[attr-defined]
        if len(node.cases) != len(cases):
            return None
        return [(case.body, tree_case.body) for case, tree_case in zip(node.cases, cases, strict=True)]
    pairs.append((node.body, tree.body))  # type: ignore[attr-defined]  # every kind above has a body
    if isinstance(node, (cst.Try, cst.TryStar)):
        handlers = tree.handlers  # type: ignore[attr-defined]
        if len(node.handlers) != len(handlers):
            return None
        for handler, tree_handler in zip(node.handlers, handlers, strict=True):
            pairs.append((handler.body, tree_handler.body))  # type: ignore[attr-defined]  # both handler kinds
        if (node.finalbody is None) != (not tree.finalbody):  # type: ignore[attr-defined]
            return None
        if node.finalbody is not None:
            pairs.append((node.finalbody.body, tree.finalbody))  # type: ignore[attr-defined]
    orelse = getattr(node, "orelse", None)
    tree_orelse: list[ast.stmt] = getattr(tree, "orelse", [])
    if (orelse is None) != (not tree_orelse):
        return None
    if isinstance(orelse, cst.If):  # `elif`: CPython nests it as the one statement of `orelse`
        if len(tree_orelse) != 1:
            return None
        inner = _paired_blocks(orelse, tree_orelse[0])
        if inner is None:
            return None
        pairs.extend(inner)
    elif orelse is not None:
        pairs.append((orelse.body, tree_orelse))
    return pairs


class NodePositions:
    """Positions of the nodes of one module, resolved lazily and per statement where possible.

    Given CPython's tree of the text (`tree`; methods of it that `left_out` names by line are not in the
    module: the prefilter blanked them), a statement of a block starts on the line CPython gives it, as a
    top-level one does: placing a node late in a long class costs the generation of its statement alone, not
    of every statement before it."""

    def __init__(self, module: cst.Module, statement_lines: list[int] | None = None, tree: ast.Module | None = None,
                 left_out: Container[int] = ()) -> None:
        self.module = module
        self._module_positions: _Positions | None = None
        self._first_lines = self._map_statements(statement_lines) if PER_STATEMENT else None
        self._tree = tree if self._first_lines is not None else None
        self._left_out = left_out
        self._lines: dict[int, tuple[int, tuple[str, ...]]] = {}  # by id(statement of a block): CPython's line, indentation
        self._statement_positions: dict[tuple[int, bool], _Positions] = {}
        self._holder: dict[int, _Holder] = {}  # by id(node), for the first `_walked` top-level statements
        self._walked = 0
        # Statements of indented blocks, by id: (the statement holding the block, the block, the index in it).
        self._in_block: dict[int, tuple[cst.CSTNode, cst.IndentedBlock, int]] = {}
        self._starts: dict[int, _Start] = {}  # by id(statement)

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

    def _walk_statement(self, statement: _Statement) -> None:
        """Map every node of a top-level statement to the innermost statement of an indented block holding it
        (or the top-level statement), and whether it is in that statement's header (a function's decorators,
        parameters and annotations, whose positions do not depend on its body); note the block and index of
        every statement of a block."""
        if self._tree is not None:
            self._place_blocks(statement)
        holder, in_block = self._holder, self._in_block
        stack: list[tuple[cst.CSTNode, _Holder]] = [(statement, (statement, False))]
        while stack:
            current, held = stack.pop()
            holder[id(current)] = held
            if type(current) is cst.IndentedBlock:
                # Its children are the block's statements, each generated alone from where it starts.
                children = child_nodes(current)
                owner = held[0]
                for index, child in enumerate(children):
                    in_block[id(child)] = (owner, current, index)
                stack.extend((child, (child, False)) for child in children)
            elif type(current) is cst.FunctionDef and held[0] is current:
                body = current.body
                header = (current, True)
                stack.extend((child, held if child is body else header) for child in child_nodes(current))
            else:
                stack.extend((child, held) for child in child_nodes(current))

    def _place_blocks(self, statement: cst.CSTNode) -> None:
        """Note CPython's line (and the indentation in force) for every statement of the blocks of a top-level
        compound statement, as far as the two trees have the same shape."""
        assert self._tree is not None and self._first_lines is not None
        first = self._first_lines.get(id(statement))
        if first is None or isinstance(statement, cst.SimpleStatementLine):
            return
        found = [node for node in self._tree.body if node.lineno == first
                 and isinstance(node, _BLOCK_STATEMENTS.get(type(statement), ()))]
        if len(found) != 1:
            return
        todo: list[tuple[cst.CSTNode, ast.AST, tuple[str, ...]]] = [(statement, found[0], ())]
        while todo:
            node, tree_node, indent = todo.pop()
            for block, tree_block in _paired_blocks(node, tree_node) or ():
                if not isinstance(block, cst.IndentedBlock):
                    continue  # `if x: y` on one line: generated with its statement
                inner = (*indent, self.module.default_indent if block.indent is None else block.indent)
                tree_statements = [n for n in tree_block if not (
                    isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.lineno in self._left_out)]
                index = 0
                placed: list[tuple[cst.BaseStatement, int]] = []
                nested: list[tuple[cst.CSTNode, ast.AST, tuple[str, ...]]] = []
                for child in block.body:
                    if isinstance(child, cst.SimpleStatementLine):  # `a = 1; b = 2`: CPython's two statements
                        count = len(child.body)
                        if index + count > len(tree_statements) or any(
                                isinstance(n, _COMPOUND) for n in tree_statements[index:index + count]):
                            break
                        placed.append((child, tree_statements[index].lineno))
                        index += count
                        continue
                    if index >= len(tree_statements):
                        break
                    tree_child = tree_statements[index]
                    if not isinstance(tree_child, _BLOCK_STATEMENTS.get(type(child), ())):
                        break
                    placed.append((child, tree_child.lineno))
                    nested.append((child, tree_child, inner))
                    index += 1
                else:
                    if index == len(tree_statements):  # the same statements: the lines are theirs
                        self._lines.update((id(child), (line, inner)) for child, line in placed)
                        todo.extend(nested)

    def _start(self, statement: cst.CSTNode) -> _Start | None:
        """Where a whole-module generation starts `statement` (a top-level statement or one of a block):
        line, column, indentation. A top-level statement's range starts on the line CPython gives (what
        its generation puts before that are its comments, blank lines and decorators). The first statement
        of a block starts where the generation of the statement holding the block reaches it; any other
        where the one before it in the block ends. Each statement is generated at most once to find where
        the next starts, and the starts of the statements met on the way are kept, so a finding late in a
        long class costs one plain generation of what comes before it, and the next finding only the rest."""
        found = self._starts.get(id(statement))
        if found is not None:
            return found
        place = self._in_block.get(id(statement))
        placed = self._lines.get(id(statement))
        if place is None or placed is not None:
            assert self._first_lines is not None
            first, indent = placed if placed is not None else (self._first_lines.get(id(statement)), ())
            if first is None:
                return None
            # Generated alone as far as its own range starts (past its comments, blank lines, decorators).
            counter = _StatementStarts(self.module, statement, (), statement, (1, 0, indent))
            with contextlib.suppress(_Reached):
                statement._codegen(counter)
            if counter.top_line is None:
                return None
            found = self._starts[id(statement)] = (first - counter.top_line + 1, 0, indent)
            return found
        owner, block, index = place
        known = index
        while known > 0 and id(block.body[known]) not in self._starts:
            known -= 1
        if known == 0 and id(block.body[0]) not in self._starts:
            outer = self._start(owner)
            if outer is None:
                return None
            counter = _StatementStarts(self.module, owner, self._in_block, block.body[0], outer)
            with contextlib.suppress(_Reached):
                owner._codegen(counter)
            self._starts.update(counter.starts)
            if id(block.body[0]) not in self._starts:
                return None
        for position in range(known, index):
            before = block.body[position]
            begin = self._starts[id(before)]
            counter = _StatementStarts(self.module, before, self._in_block, None, begin)
            before._codegen(counter)
            self._starts.update(counter.starts)
            line, column = counter.end()
            self._starts.setdefault(id(block.body[position + 1]), (line, column, begin[2]))
        return self._starts.get(id(statement))

    def _statement_range(self, held: _Holder, node: cst.CSTNode) -> CodeRange | None:
        statement, header = held
        key = (id(statement), header)
        positions = self._statement_positions.get(key)
        if positions is None:
            start = self._start(statement)
            if start is None:
                return None
            if header:  # the function's header alone: the same nodes before an empty body
                assert isinstance(statement, cst.FunctionDef)
                statement = statement.with_changes(body=cst.IndentedBlock(body=()))
            positions = self._statement_positions[key] = _generated_positions(self.module, statement, *start)
        return positions[node]

    def _holding(self, node: cst.CSTNode) -> _Holder | None:
        """Where `node` is held (see `_walk_statement`). The top-level statements are mapped in order, as far
        as the first one holding the node asked for: each is walked once, so a file with many findings
        costs linear, not quadratic, time."""
        found = self._holder.get(id(node))
        body = self.module.body
        while found is None and self._walked < len(body):
            self._walk_statement(body[self._walked])
            self._walked += 1
            found = self._holder.get(id(node))
        if found is not None:
            return found
        top = top_level_statement_of(self.module, node)
        return (top, False) if top is not None else None

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        """LibCST's range of `node`: 1-based lines, 0-based columns."""
        if self._first_lines is not None:
            if self._walked < len(self.module.body) and len(self._statement_positions) <= _FEW_STATEMENTS:
                # Findings cluster in few statements: a node of one already generated needs no walk of the
                # module (past a few, the statement map answers in constant time).
                for positions in self._statement_positions.values():
                    found = positions.get(node)
                    if found is not None:
                        return found
            held = self._holding(node)
            if held is not None:
                found_range = self._statement_range(held, node)
                if found_range is not None:
                    return found_range
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

