"""What a name refers to: import aliases, qualified names and local shadowing.

LibCST's QualifiedNameProvider would answer this, but it builds a full scope graph for every module and
costs several times the parse. We only need to know what imported names (`torch`, `th`, `current_platform`,
`arange`) stand for, and whether a function rebinds them, so we keep our own small alias table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of Name/Attribute nodes, else None."""
    # Exact types: LibCST's node classes have no subclasses, and `isinstance` on them runs ABCMeta's check.
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.Attribute | cst.Name) -> str:
    name = dotted_name(node)
    assert name is not None  # import targets are always dotted names
    return name


def resolve_relative(module: str | None, level: int, package: str | None) -> str | None:
    """Absolute module for `from {'.'*level}{module} import …` inside `package`, or None if unknown."""
    if level == 0:
        return module
    if not package:
        return None
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_bindings(node: cst.Import | cst.ImportFrom, package: str | None) -> Iterator[tuple[str, str]]:
    """Yield (local name, qualified name) for each name an import statement binds."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                # `import a.b.c` binds `a`, which refers to the package `a`.
                head = full.split(".", 1)[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    module = _module_name(node.module) if node.module is not None else None
    base = resolve_relative(module, len(node.relative), package)
    if base is None:
        return
    for alias in node.names:
        imported = _module_name(alias.name)
        local = imported
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{base}.{imported}"


class Scope:
    """The names visible at one place: a function's own bindings on top of its enclosing scopes.

    `imports` maps a local name to the qualified name it was imported as. `shadowed` holds names the scope
    binds to something else (parameters, assignments, loop targets, nested defs): such a name hides an
    import of the same name from an outer scope, so `torch` as a parameter is not the torch module.
    """

    def __init__(self, parent: Scope | None = None, *, is_function: bool = False) -> None:
        self.parent = parent
        self.is_function = is_function
        self.imports: dict[str, str] = {}
        self.shadowed: set[str] = set()

    def add_import(self, local: str, qualified: str) -> None:
        self.imports[local] = qualified
        self.shadowed.discard(local)

    def add_local(self, name: str) -> None:
        if name not in self.imports:
            self.shadowed.add(name)

    def qualified_of_name(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.imports:
                return scope.imports[name]
            if name in scope.shadowed:
                return None
            scope = scope.parent
        return None

    def is_function_local(self, name: str) -> bool:
        """True if a function scope on the way out binds `name` to something other than an import."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.imports:
                return False
            if name in scope.shadowed:
                return scope.is_function
            scope = scope.parent
        return False

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """`torch.arange` for `th.arange` after `import torch as th`; None for anything not imported."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.qualified_of_name(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base


def names_bound_by_target(target: cst.BaseExpression) -> Iterable[str]:
    """Plain names an assignment target binds (`a`, `a, b`, `[a, *b]`); attributes and subscripts bind none."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from names_bound_by_target(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from names_bound_by_target(target.value)
