"""A fast, read-only walk over LibCST trees.

LibCST's own `visit()` and `.children` rebuild every node as they go (they serve transformers too), which
costs several times the parse. Reading the dataclass fields directly is all a read-only analysis needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import libcst as cst

# Fields that only ever hold whitespace, brackets or punctuation: never an expression or statement.
_SKIPPED_FIELDS = frozenset({
    "lpar", "rpar", "comma", "semicolon", "equal", "colon", "dot", "newline", "header", "footer",
    "leading_lines", "lines_after_decorators", "trailing_whitespace", "operator", "lbracket", "rbracket",
    "lbrace", "rbrace", "asynchronous", "keyword", "whitespace_after_star", "whitespace_after_arg", "whitespace_before_colon",
})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
    return names


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Direct children of `node` that can hold code, in source order for almost every node type."""
    for name in _fields_of(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def walk(root: cst.CSTNode, enter: Callable[[cst.CSTNode], bool], leave: Callable[[cst.CSTNode], None]) -> None:
    """Depth-first, pre-order walk without recursion (deeply nested code cannot overflow the stack).
    `enter` returns False to skip a node's children; `leave` runs after them."""
    # (node, False): enter it; (node, True): its children are done, leave it.
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            leave(node)
            continue
        descend = enter(node)
        stack.append((node, True))
        if descend:
            stack.extend((child, False) for child in reversed(list(child_nodes(node))))


def contains(root: cst.CSTNode, target: cst.CSTNode, skip: tuple[type[cst.CSTNode], ...] = ()) -> bool:
    """Is `target` (by identity) `root` or below it, not looking inside nodes of the types in `skip`?"""
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        if not isinstance(node, skip):
            stack.extend(child_nodes(node))
    return False
