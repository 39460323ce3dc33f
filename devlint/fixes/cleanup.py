"""Fixes leave no debris: the import or local a fix stops using goes with it.

A fix that rewrites `device=current_platform.device_type` or drops `device=device` can remove the last
use of an import (`from vllm.platforms import current_platform`) or of a local
(`device = get_accelerator().device_name()`). ruff would then report F401/F841 on code devlint changed.
This module finds those names — read before the fix, read nowhere after it, bound by an import or a plain
assignment in the same scope — and removes their binding as ruff's F401/F841 fixes would: one name of a
`from x import a, b`, a whole import statement, or an assignment whose value has no side effects (a
constant, a name, an attribute, or a call of a known platform getter). When a binding cannot be removed
that way (its value may have side effects, it is a re-export in an `__init__.py`, it shares a line), the
fix is not offered: a fix that leaves debris is not one a maintainer merges.

It works on CPython's `ast` of the whole file (the fixes' text is small, the parse fast), so it sees every
use, including those in code the prefilter never handed to LibCST.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from devlint.analysis.project import call_chain
from devlint.prefilter import quiet_parse
from devlint.types import Diagnostic, Edit, Fix, Location

_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)
_WALKED_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
MAX_ROUNDS = 4


@dataclass(frozen=True)
class _Removal:
    """Lines `first..last` (1-based, inclusive) of the text become `content` (whole lines)."""

    first: int
    last: int
    content: str
    name: str = ""  # the name whose binding goes


class Unremovable(Exception):
    """A name loses its last use, but its binding cannot be removed without risk."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"it would leave `{name}` unused, and {why}")
        self.name = name
        self.why = why


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """Lines as CPython and devlint count them (`str.splitlines` also breaks at form feeds and U+2028)."""
    return _LINE.findall(text)


def _parse(text: str) -> ast.Module | None:
    try:
        return quiet_parse(text)  # the original: its check just parsed it
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _scopes(tree: ast.Module) -> list[ast.AST]:
    cached = getattr(tree, "_devlint_scopes", None)  # the tree before the fixes is shared by all of a file's
    if cached is None:
        cached = [node for node in ast.walk(tree) if isinstance(node, _WALKED_SCOPES)]
        tree._devlint_scopes = cached  # type: ignore[attr-defined]
    return cached


def _reads_before(scope: ast.AST) -> dict[str, int]:
    """`_reads(scope, [])` for a scope of the unfixed tree, computed once however many fixes ask."""
    cached = getattr(scope, "_devlint_reads", None)
    if cached is None:
        cached = _reads(scope, [])
        scope._devlint_reads = cached  # type: ignore[attr-defined]
    return cached


def _own_statements(scope: ast.AST) -> Iterator[tuple[ast.stmt, list[ast.stmt]]]:
    """(statement, the body list holding it) for statements of `scope` itself, not of nested scopes."""
    todo: list[list[ast.stmt]] = [scope.body] if hasattr(scope, "body") and isinstance(scope.body, list) else []
    while todo:
        body = todo.pop()
        for statement in body:
            yield statement, body
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    todo.append(inner)
            for handler in getattr(statement, "handlers", ()):
                todo.append(handler.body)
            for case in getattr(statement, "cases", ()):
                todo.append(case.body)


def _reads(scope: ast.AST, skip: list[tuple[int, int]]) -> dict[str, int]:
    """How often each name is read in `scope` (nested scopes included: closures read it too), outside the
    line ranges in `skip`. Words in string constants count (quoted annotations, `__all__`)."""
    counts: dict[str, int] = {}

    def skipped(node: ast.AST) -> bool:
        line = getattr(node, "lineno", None)
        return line is not None and any(first <= line <= last for first, last in skip)

    for node in ast.walk(scope):
        if skipped(node):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 2000:
            for word in re.findall(r"[A-Za-z_]\w*", node.value):
                counts[word] = counts.get(word, 0) + 1
    return counts


def _globals_declared(scope: ast.AST) -> set[str]:
    return {name for node in ast.walk(scope) if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Module-level import aliases: local name -> qualified name."""
    found: dict[str, str] = {}
    for statement, _ in _own_statements(tree):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    found[head] = head
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                found[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return found


class _Purity:
    """Which values can go without a trace: no call, or a call of a known platform getter."""

    def __init__(self, tree: ast.Module, signatures: frozenset[str]) -> None:
        self.imports = _imports(tree)
        # `get_accelerator().device_name()` makes `get_accelerator()` a getter too.
        prefixes: set[str] = set()
        for signature in signatures:
            parts = signature.split("()")
            for i in range(1, len(parts)):
                prefixes.add("()".join(parts[:i]) + "()")
        self.getters = frozenset(signatures) | frozenset(prefixes)
        # The objects the getters are read from (`vllm.platforms.current_platform`, `torch.cuda`): their
        # `is_*()` predicates are queries too (`"cpu" if current_platform.is_tpu() else ...`).
        self.platform_objects = frozenset(g.rsplit(".", 1)[0] for g in self.getters if "." in g)

    def _signature(self, node: ast.expr) -> tuple[str | None, str | None]:
        chain = call_chain(node)
        if chain is None or chain.with_arguments:
            return None, None  # a getter called with arguments may do anything
        qualified = self.imports.get(chain.head)
        return (qualified + chain.tail if qualified else None), chain.head + chain.tail

    def pure(self, node: ast.expr | None) -> bool:
        if node is None or isinstance(node, (ast.Constant, ast.Name)):
            return True
        if isinstance(node, ast.Attribute):
            return self.pure(node.value)
        if isinstance(node, ast.JoinedStr):
            return all(isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue) and self.pure(v.value))
                       for v in node.values)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(self.pure(e) for e in node.elts)
        if isinstance(node, ast.IfExp):
            return all(self.pure(e) for e in (node.test, node.body, node.orelse))
        if isinstance(node, ast.BoolOp):
            return all(self.pure(v) for v in node.values)
        if isinstance(node, ast.Compare):
            return self.pure(node.left) and all(self.pure(c) for c in node.comparators)
        if isinstance(node, ast.Call):
            resolved, written = self._signature(node)
            for getter in self.getters:
                if resolved is not None and (resolved == getter or resolved.endswith("." + getter)):
                    return True
                if written is not None and written == getter:
                    return True
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr.startswith("is_") and not node.args and not node.keywords:
                owner_resolved, owner_written = self._signature(func.value)
                if any(o is not None and (o in self.platform_objects or any(o.endswith("." + p) for p in self.platform_objects))
                       for o in (owner_resolved, owner_written)):
                    return True
            name = self.imports.get(func.value.id, func.value.id) + "." + func.attr \
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else \
                (func.id if isinstance(func, ast.Name) else None)
            if name in ("torch.device", "str") or (isinstance(func, ast.Name) and func.id == "str"):
                return all(self.pure(a) for a in node.args) and all(self.pure(k.value) for k in node.keywords)
        return False


def _line_text(lines: list[str], row: int) -> str:
    return lines[row - 1] if 0 < row <= len(lines) else ""


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _newline_of(line: str) -> str:
    return line[len(line.rstrip("\r\n")):] or "\n"


def _alone_on_its_lines(statement: ast.stmt, lines: list[str]) -> bool:
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    before = _line_text(lines, first).encode()[: statement.col_offset].decode(errors="replace")
    after = _line_text(lines, last).encode()[statement.end_col_offset or 0:].decode(errors="replace")
    return not before.strip() and (not after.strip() or after.strip().startswith("#"))


def _drop_statement(statement: ast.stmt, body: list[ast.stmt], lines: list[str], name: str) -> _Removal:
    if not _alone_on_its_lines(statement, lines):
        raise Unremovable(name, "its binding shares a line with other code")
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    if len(body) == 1:  # the block would be empty: leave a `pass`
        line = _line_text(lines, first)
        return _Removal(first, last, f"{_indent_of(line)}pass{_newline_of(_line_text(lines, last))}", name)
    return _Removal(first, last, "", name)


def _drop_alias(statement: ast.Import | ast.ImportFrom, body: list[ast.stmt], lines: list[str],
                keep: list[ast.alias], name: str) -> _Removal:
    """Remove one name of an import statement, or the statement when nothing is left."""
    if not keep:
        return _drop_statement(statement, body, lines, name)
    if not _alone_on_its_lines(statement, lines):
        raise Unremovable(name, "its import shares a line with other code")
    first, last = statement.lineno, statement.end_lineno or statement.lineno
    original = "".join(lines[first - 1:last])
    indent = _indent_of(original)
    names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
    if isinstance(statement, ast.ImportFrom):
        module = "." * statement.level + (statement.module or "")
        head = f"from {module} import "
        one_line = f"{indent}{head}{names}"
        if first == last or len(one_line) <= 100:
            text = one_line
        else:
            inner = f",\n{indent}    ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
            text = f"{indent}{head}(\n{indent}    {inner},\n{indent})"
    else:
        text = f"{indent}import {names}"
    comment = _line_text(lines, last).rstrip("\r\n")
    tail = comment[comment.find("#"):] if "#" in comment and first == last else ""
    text += ("  " + tail if tail else "") + _newline_of(_line_text(lines, last))
    return _Removal(first, last, text, name)


def _scope_text(scope: ast.AST, lines: list[str]) -> str | None:
    """The lines of a function (decorators included: they are read in it by `_reads`), None for a module."""
    if not isinstance(scope, ast.stmt):
        return None
    first = min([scope.lineno] + [d.lineno for d in getattr(scope, "decorator_list", ())])
    return "".join(lines[first - 1:scope.end_lineno or scope.lineno])


def _debris(before: ast.Module, after: ast.Module, lines: list[str], signatures: frozenset[str],
            is_package_init: bool, rows: set[int] | None = None,
            before_lines: list[str] | None = None) -> list[_Removal]:
    """Removals, in `after`'s lines, of the bindings whose names `before` read and `after` reads no more.
    With `before_lines`, a scope whose text the fixes left unchanged (and that holds no removal) is not
    read again: it reads what it read before."""
    scopes_before, scopes_after = _scopes(before), _scopes(after)
    if [type(s) for s in scopes_before] != [type(s) for s in scopes_after]:
        return []  # the fix changed the shape of the code: nothing to compare
    purity = _Purity(after, signatures)
    removals: list[_Removal] = []
    skip: list[tuple[int, int]] = []
    for _ in range(MAX_ROUNDS):
        found_more = False
        for scope_before, scope_after in zip(scopes_before, scopes_after, strict=True):
            if not isinstance(scope_after, _SCOPES):
                continue
            if rows is not None and not removals and isinstance(scope_before, ast.stmt) and not any(
                    scope_before.lineno <= row <= (scope_before.end_lineno or scope_before.lineno) for row in rows):
                continue  # the fix changed nothing this scope reads
            if before_lines is not None and isinstance(scope_after, ast.stmt) and not any(
                    first <= (scope_after.end_lineno or scope_after.lineno) and last >= scope_after.lineno
                    for first, last in skip):
                text_after = _scope_text(scope_after, lines)
                if text_after is not None and text_after == _scope_text(scope_before, before_lines):
                    continue  # unchanged and untouched by a removal: it reads what it read before
            read_before = _reads_before(scope_before)
            read_after = _reads(scope_after, skip)
            declared = _globals_declared(scope_after)
            lost = {name for name, count in read_before.items() if count and not read_after.get(name)}
            if removals:  # a removed assignment may have held the last read of another name
                lost |= {name for name in _reads(scope_after, []) if not read_after.get(name)}
            lost -= declared
            if not lost:
                continue
            for removal in _removals_for(scope_after, lost, lines, purity, is_package_init):
                span = (removal.first, removal.last)
                if span not in skip:
                    skip.append(span)
                    removals.append(removal)
                    found_more = True
        if not found_more:
            break
    return _merge(removals)


def _removals_for(scope: ast.AST, lost: set[str], lines: list[str], purity: _Purity,
                  is_package_init: bool) -> Iterator[_Removal]:
    params: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = scope.args
        params = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if p is not None}
    pending: dict[int, tuple[ast.Import | ast.ImportFrom, list[ast.stmt], list[ast.alias], str]] = {}
    for statement, body in _own_statements(scope):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                if local not in lost or alias.name == "*":
                    continue
                if isinstance(scope, ast.Module) and is_package_init:
                    raise Unremovable(local, "an `__init__.py` may re-export it")
                if _enclosing_try(scope, statement):
                    # `try: from vllm.platforms import p / except ImportError: p = ...`: the name has a fallback
                    # binding, so the import is no debris (ruff's F401 does not report it either); it stays.
                    continue
                entry = pending.setdefault(id(statement), (statement, body, list(statement.names), local))
                entry[2].remove(alias)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            hit = names & lost
            if not hit:
                continue
            name = next(iter(hit))
            if name in params:
                continue
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                raise Unremovable(name, "its assignment binds other names too")
            if not purity.pure(statement.value):
                raise Unremovable(name, "its value may have side effects")
            yield _drop_statement(statement, body, lines, name)
        elif isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bound = _other_bindings(statement) & lost - params
            if bound:
                raise Unremovable(next(iter(bound)), "it is bound by more than a plain assignment")
    for statement, body, keep, local in pending.values():
        lost_here = [a.asname or a.name.split(".", 1)[0] for a in statement.names if a not in keep]
        yield _drop_alias(statement, body, lines, keep, ", ".join(lost_here) or local)


def _other_bindings(statement: ast.stmt) -> set[str]:
    """Names a statement of a function binds other than by `name = value` (loops, `with`, unpacking)."""
    targets: list[ast.expr] = []
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        targets.append(statement.target)
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets.extend(item.optional_vars for item in statement.items if item.optional_vars is not None)
    elif isinstance(statement, ast.AugAssign):
        targets.append(statement.target)
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _enclosing_try(scope: ast.AST, statement: ast.stmt) -> list[ast.AST]:
    found: list[ast.AST] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Try) and any(statement is s for s in node.body):
            found.append(node)
    return found


def _merge(removals: list[_Removal]) -> list[_Removal]:
    """One removal per line range; an alias removal and a whole-statement removal of the same lines keep the
    whole-statement one."""
    by_span: dict[tuple[int, int], _Removal] = {}
    for removal in removals:
        current = by_span.get((removal.first, removal.last))
        if current is None or removal.content == "":
            by_span[(removal.first, removal.last)] = removal
    return sorted(by_span.values(), key=lambda r: r.first)


def _apply_removals(text: str, removals: list[_Removal]) -> str:
    lines = _lines(text)
    for removal in sorted(removals, key=lambda r: r.first, reverse=True):
        lines[removal.first - 1:removal.last] = [removal.content] if removal.content else []
    return "".join(lines)


def _edits_in(text: str, edits: Iterable[Edit]) -> str:
    from devlint.fix import apply_edits

    return apply_edits(text, edits)


def _row_shift(edits: tuple[Edit, ...]) -> list[tuple[int, int, bool]]:
    """(row where the edit ends in the edited text, rows it added, whether it ends at a line start) for each
    edit."""
    shifts = []
    delta = 0
    for edit in sorted(edits, key=lambda e: (e.start.row, e.start.column)):
        added = edit.content.count("\n") - (edit.end.row - edit.start.row)
        shifts.append((edit.end.row + delta + added, added, edit.end.column == 1))
        delta += added
    return shifts


def _to_original_row(row: int, shifts: list[tuple[int, int, bool]]) -> int:
    back = 0
    for end_row, added, at_line_start in shifts:
        if row > end_row or (row == end_row and at_line_start):
            back += added
    return row - back


def _overlaps(removal: _Removal, edits: tuple[Edit, ...]) -> bool:
    for e in edits:
        last = e.end.row - 1 if e.end.column == 1 and e.end.row > e.start.row else e.end.row
        if e.start.row <= removal.last and removal.first <= last:
            return True
    return False


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_NAME = re.compile(r"(?<![.\w])[A-Za-z_]\w*")  # not an attribute: `inv_freq.device` reads `inv_freq` only
_PLAIN_STRING = re.compile(r"""(?<![\w"'])([bBrRuU]{0,2})("|')(?:\\.|(?!\2).)*\2""")  # not f-strings: they hold names


def _may_leave_debris(fix: Fix, lines: list[str]) -> bool:
    """Whether the fix removes a name it does not write back: only then can a binding be left unused. A
    cheap text test that spares the parse for most fixes (a literal device replaced by a sibling's)."""
    for edit in fix.edits:
        removed = _PLAIN_STRING.sub("", _span_text(lines, edit))
        if set(_IDENTIFIER.findall(removed)) - set(_NAME.findall(edit.content)):
            return True
    return False


def _span_text(lines: list[str], edit: Edit) -> str:
    start, end = edit.start, edit.end
    if start.row == end.row:
        return lines[start.row - 1][start.column - 1:end.column - 1] if start.row <= len(lines) else ""
    parts = [lines[start.row - 1][start.column - 1:]]
    parts.extend(lines[row - 1] for row in range(start.row + 1, min(end.row, len(lines) + 1)))
    if end.row <= len(lines):
        parts.append(lines[end.row - 1][:end.column - 1])
    return "".join(parts)


def _spans(body: list[ast.stmt]) -> list[tuple[int, int]]:
    """(first line, decorators included; last line) of each statement of a body, computed once per tree."""
    return [(min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", ())]), s.end_lineno or s.lineno)
            for s in body]


def _edited_statements(spans: list[tuple[int, int]], edits: tuple[Edit, ...]) -> tuple[int, int] | None:
    """The first and last statement of a body holding the edits, when they hold every edited line and share
    no line with the statements around them (so their lines can be parsed on their own); else None."""
    rows = [row for e in edits for row in (e.start.row, e.end.row)]
    low, high = min(rows), max(rows)
    inside = [k for k, (first, last) in enumerate(spans) if first <= high and last >= low]
    if not inside:
        return None
    i, j = inside[0], inside[-1]
    if not spans[i][0] <= low or not high <= spans[j][1]:
        return None
    if (i > 0 and spans[i - 1][1] >= spans[i][0]) or (j + 1 < len(spans) and spans[j + 1][0] <= spans[j][1]):
        return None
    return i, j


@dataclass
class _Edited:
    """The statements a fix edits, the smallest run of them that can be parsed alone (a method's, not its
    whole class's), and what surrounds them."""

    statements: list[ast.stmt]
    first: int  # their lines, before the fix
    last: int
    classes: list[ast.ClassDef]  # the classes they sit in, outermost first: the wrapper that parses them
    outside: list[ast.AST]  # every other part of the module, each read whole (statements, bases, decorators)


def _edited(tree: ast.Module, edits: tuple[Edit, ...], lines: list[str]) -> _Edited | None:
    return _edited_in(tree.body, [], [], edits, lines) if tree.body and edits else None


def _edited_in(body: list[ast.stmt], classes: list[ast.ClassDef], outside: list[ast.AST], edits: tuple[Edit, ...],
               lines: list[str]) -> _Edited | None:
    spans = _spans(body)
    found = _edited_statements(spans, edits)
    if found is None:
        return None
    i, j = found
    outside = [*outside, *body[:i], *body[j + 1:]]
    statement = body[i]
    if i == j and isinstance(statement, ast.ClassDef) and statement.body:  # a method: its lines, not the class's
        inner = _edited_in(statement.body, [*classes, statement],
                           [*outside, *statement.decorator_list, *statement.bases, *statement.keywords], edits, lines)
        if inner is not None:
            return inner
    if not _starts_its_lines(statement, lines):
        return None
    return _Edited(body[i:j + 1], spans[i][0], spans[j][1], classes, outside)


def _starts_its_lines(statement: ast.stmt, lines: list[str]) -> bool:
    """Nothing but indentation before the statement (or its first decorator) on its first line."""
    decorators = getattr(statement, "decorator_list", ())
    row, column = (decorators[0].lineno, decorators[0].col_offset - 1) if decorators else (
        statement.lineno, statement.col_offset)
    return column >= 0 and not _line_text(lines, row).encode()[:column].strip()


def _indentation(statement: ast.stmt, lines: list[str]) -> str:
    decorators = getattr(statement, "decorator_list", ())
    line = _line_text(lines, decorators[0].lineno if decorators else statement.lineno)
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _parse_edited(edited: _Edited, lines: list[str], fixed_lines: list[str]) -> list[ast.stmt] | None:
    """The edited statements as the fix leaves them: their lines parsed alone, inside classes of the same
    indentation as theirs (so no text is changed), or None if they do not parse so."""
    shift = len(fixed_lines) - len(lines)  # lines the edits added: all of them are in these statements
    wrapper = "".join(f"{_indentation(c, lines)}class _:\n" for c in edited.classes)
    tree = _parse(wrapper + "".join(fixed_lines[edited.first - 1:edited.last + shift]))
    body: list[ast.stmt] | None = tree.body if tree is not None else None
    for _ in edited.classes:
        if body is None or len(body) != 1 or not isinstance(body[0], ast.ClassDef):
            return None
        body = body[0].body
    return body


def _scopes_by_level(statements: list[ast.stmt]) -> list[tuple[ast.AST, int]]:
    """The scopes in `statements`, with their depth, in the order `ast.walk` of the whole module meets them."""
    found: list[tuple[ast.AST, int]] = []
    todo: deque[tuple[ast.AST, int]] = deque((statement, 1) for statement in statements)
    while todo:
        node, depth = todo.popleft()
        if isinstance(node, _WALKED_SCOPES):
            found.append((node, depth))
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return found


def _reads_of(nodes: Iterable[ast.AST]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes:
        for name, count in _reads_before(node).items():
            counts[name] = counts.get(name, 0) + count
    return counts


def _read_in(nodes: list[ast.AST], names: set[str]) -> set[str]:
    """Which of `names` the `nodes` read (each node read once per tree, and only until all are found)."""
    found: set[str] = set()
    for node in nodes:
        if found == names:
            break
        found |= names & _reads_before(node).keys()
    return found


def _leaves_no_debris(fix: Fix, before: ast.Module, lines: list[str], fixed_lines: list[str],
                      signatures: frozenset[str]) -> bool:
    """True when `_debris` would find nothing to remove for `fix`, decided from the statements it edits
    (parsed alone) instead of a parse and three walks of the whole fixed file. The rest of the module is
    the same text before and after, so it reads the same names and holds the same scopes. Whenever a name
    may lose its last read this answers False, and the whole-file comparison decides."""
    edited = _edited(before, fix.edits, lines)
    after = _parse_edited(edited, lines, fixed_lines) if edited is not None else None
    if edited is None or after is None:
        return False
    scopes_before, scopes_after = _scopes_by_level(edited.statements), _scopes_by_level(after)
    if [(type(s), d) for s, d in scopes_before] != [(type(s), d) for s, d in scopes_after]:
        return False  # the pairing of scopes differs: let the whole-file comparison say what it makes of it
    # The module: a name read in the edited statements and no longer read there, nor anywhere else.
    read_after: dict[str, int] = {}
    for statement in after:
        for name, count in _reads(statement, []).items():
            read_after[name] = read_after.get(name, 0) + count
    dropped = {name for name in _reads_of(edited.statements) if not read_after.get(name)}
    if dropped - _read_in(edited.outside, dropped):
        return False
    # The functions holding an edit, as `_debris` reads them before its first removal.
    rows = {e.start.row for e in fix.edits}
    purity = _Purity(before, signatures)
    for (scope_before, _), (scope_after, _) in zip(scopes_before, scopes_after, strict=True):
        if not isinstance(scope_after, _SCOPES) or not isinstance(scope_before, ast.stmt) or not any(
                scope_before.lineno <= row <= (scope_before.end_lineno or scope_before.lineno) for row in rows):
            continue
        after_reads = _reads(scope_after, [])
        lost = {name for name, count in _reads_before(scope_before).items() if count and not after_reads.get(name)}
        lost -= _globals_declared(scope_after)
        if lost and _would_remove(scope_after, lost, purity):
            return False
    return True


def _would_remove(scope: ast.AST, lost: set[str], purity: _Purity) -> bool:
    """Whether `_removals_for` finds a binding of a lost name in `scope` (to remove, or one that cannot go).
    Only that matters here, not where it is: positions are not read (no lines are given)."""
    try:
        return next(iter(_removals_for(scope, lost, [], purity, False)), None) is not None
    except Unremovable:
        return True


def fix_with_cleanup(fix: Fix, text: str, before: ast.Module, signatures: frozenset[str],
                     is_package_init: bool, lines: list[str] | None = None) -> Fix:
    """`fix` with the removal of the bindings it leaves unused (edits in `text`'s coordinates; `lines`, when
    given, are `text`'s, split once for all of a file's fixes). Raises Unremovable when one cannot go."""
    lines = _lines(text) if lines is None else lines
    if not _may_leave_debris(fix, lines):
        return fix  # `device="cuda"` → `device=x.device` removes no name: nothing can be left unused
    fixed = _edits_in(text, fix.edits)
    fixed_lines = _lines(fixed)
    if _leaves_no_debris(fix, before, lines, fixed_lines, signatures):
        return fix
    after = _parse(fixed)
    if after is None:
        return fix
    rows = {e.start.row for e in fix.edits}
    removals = _debris(before, after, fixed_lines, signatures, is_package_init, rows)
    if not removals:
        return fix
    shifts = _row_shift(fix.edits)
    extra: list[Edit] = []
    for removal in removals:
        first, last = _to_original_row(removal.first, shifts), _to_original_row(removal.last, shifts)
        mapped = _Removal(first, last, removal.content)
        if _overlaps(mapped, fix.edits):
            raise Unremovable("a name", "its binding is on a line the fix edits")
        end = Location(last + 1, 1) if last < len(lines) else Location(last, len(lines[last - 1]) + 1)
        content = removal.content
        if last >= len(lines) and content and not lines[last - 1].endswith(("\n", "\r")):
            content = content.rstrip("\r\n")
        extra.append(Edit(content=content, start=Location(first, 1), end=end))
    names = ", ".join(f"`{n}`" for r in removals for n in r.name.split(", ") if n)
    suffix = f" (unsafe: {fix.reason.value})" if fix.reason is not None else ""
    base = fix.message[: len(fix.message) - len(suffix)] if suffix and fix.message.endswith(suffix) else fix.message
    message = f"{base}, and remove the now unused {names}{suffix}" if names else fix.message
    return dataclasses.replace(fix, edits=fix.edits + tuple(extra), message=message)


def with_cleanup(diagnostics: list[Diagnostic], text: str, tree: ast.Module | None, path: str,
                 signatures: frozenset[str]) -> list[Diagnostic]:
    """Each fix, extended to remove what it leaves unused; a fix whose debris cannot go is withdrawn (the
    message says why)."""
    if tree is None or not any(d.fix is not None for d in diagnostics):
        return diagnostics
    is_init = os.path.basename(path) == "__init__.py"
    lines = _lines(text)  # once: a file with thousands of fixes must not split its text for each
    out = []
    for diagnostic in diagnostics:
        if diagnostic.fix is None:
            out.append(diagnostic)
            continue
        try:
            fix = fix_with_cleanup(diagnostic.fix, text, tree, signatures, is_init, lines)
            out.append(dataclasses.replace(diagnostic, fix=fix))
        except Unremovable as exc:
            out.append(dataclasses.replace(diagnostic, fix=None, message=f"{diagnostic.message} (no fix: {exc})"))
    return out


def _changed_rows(lines: list[str], fixed_lines: list[str]) -> list[int]:
    """The rows of `lines` (1-based) that `fixed_lines` changes or deletes, and for lines it only adds, the
    row they go before; empty when nothing differs."""
    prefix = 0
    while prefix < min(len(lines), len(fixed_lines)) and lines[prefix] == fixed_lines[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(lines), len(fixed_lines)) - prefix and lines[-1 - suffix] == fixed_lines[-1 - suffix]:
        suffix += 1
    if prefix == len(lines) == len(fixed_lines):
        return []
    import difflib  # only after several fixes together (--fix, --diff)

    middle = difflib.SequenceMatcher(None, lines[prefix:len(lines) - suffix],
                                     fixed_lines[prefix:len(fixed_lines) - suffix], autojunk=False)
    rows: list[int] = []
    for tag, i1, i2, _, _ in middle.get_opcodes():
        if tag != "equal":
            rows.extend(range(prefix + i1 + 1, prefix + max(i2, i1 + 1) + 1))
    return [min(row, max(len(lines), 1)) for row in rows]


def remove_debris(original: str, fixed: str, signatures: frozenset[str], path: str) -> str:
    """After several fixes together: remove the bindings that none of them left unused alone but all of
    them did. Best effort: a binding that cannot go safely stays."""
    before = _parse(original)
    if before is None:
        return fixed
    lines, fixed_lines = _lines(original), _lines(fixed)
    changed = _changed_rows(lines, fixed_lines)
    if not changed:
        return fixed
    # Most often the statements the fixes changed, read alone, show that no name lost its last read: then
    # the whole fixed file need not be parsed and compared (`_leaves_no_debris`, as for one fix: each
    # changed row stands for an edit, so every function holding one is read).
    rows = tuple(Edit(content="", start=Location(row, 1), end=Location(row, 1)) for row in changed)
    if _leaves_no_debris(Fix(message="", edits=rows), before, lines, fixed_lines, signatures):
        return fixed
    after = _parse(fixed)
    if after is None:
        return fixed
    try:
        removals = _debris(before, after, _lines(fixed), signatures,
                           os.path.basename(path) == "__init__.py", before_lines=_lines(original))
    except Unremovable:
        return fixed
    return _apply_removals(fixed, removals) if removals else fixed
