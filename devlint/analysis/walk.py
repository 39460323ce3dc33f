"""A fast, read-only walk over LibCST trees.

LibCST's own `visit()` and `.children` rebuild every node as they go (they serve transformers too), which
costs several times the parse. Reading the dataclass fields directly is all a read-only analysis needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import libcst as cst

# Fields that only ever hold whitespace, brackets or punctuation: never an expression or statement.
_SKIPPED_FIELDS = frozenset({
    "lpar", "rpar", "comma", "semicolon", "equal", "colon", "dot", "newline", "header", "footer",
    "leading_lines", "lines_after_decorators", "trailing_whitespace", "operator", "lbracket", "rbracket",
    "lbrace", "rbrace", "asynchronous", "keyword", "whitespace_after_star", "whitespace_after_arg", "whitespace_before_colon",
})
_FIELDS: dict[type, tuple[str, ...]] = {}

_OTHER, _NODE, _SEQUENCE = 0, 1, 2


class _Kinds(dict[type, int]):
    """What a field value of each type is: a node, a sequence (its items are checked one by one) or neither.
    `isinstance(value, cst.CSTNode)` runs `ABCMeta.__instancecheck__` (CSTNode is an ABC) for every value
    that is no node, which was most of a walk's cost; a lookup per `type(value)` gives the same answer. The
    type's MRO says whether it is a node: `issubclass(kind, cst.CSTNode)` answers no only after asking each of
    LibCST's ~250 node classes in turn (ABCMeta's way to rule out a registered subclass; LibCST registers
    none), ~1 ms a process for the few types of value a walk meets that are no node."""

    def __missing__(self, kind: type) -> int:
        found = self[kind] = (_NODE if cst.CSTNode in kind.__mro__
                              else _SEQUENCE if issubclass(kind, (list, tuple)) else _OTHER)
        return found


_KIND = _Kinds()


_TEXT_TYPES = (str, bool, int)  # a field declared as one of these holds text or a flag, never a node


def _fields_of(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold code: `Name.value` (a `str`) is none, so a name, a number or
    a string has no children to look for."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(kind)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace") and f.type not in _TEXT_TYPES
        )
    return names


def has_children(kind: type) -> bool:
    """Whether nodes of this type can have children (`child_nodes` of a `Name` is always empty)."""
    return bool(_fields_of(kind))


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Direct children of `node` that can hold code, in source order for almost every node type."""
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _fields_of(type(node))
    kinds = _KIND
    children: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        kind = kinds[type(value)]
        if kind == _NODE:
            children.append(value)
        elif kind == _SEQUENCE:
            for item in value:
                if kinds[type(item)] == _NODE:
                    children.append(item)
    return children


def walk(root: cst.CSTNode, enter: Callable[[cst.CSTNode], bool], leave: Callable[[cst.CSTNode], None]) -> None:
    """Depth-first, pre-order walk without recursion (deeply nested code cannot overflow the stack).
    `enter` returns False to skip a node's children; `leave` runs after them."""
    # (node, False): enter it; (node, True): its children are done, leave it.
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node, leaving = pop()
        if leaving:
            leave(node)
            continue
        descend = enter(node)
        push((node, True))
        if descend:
            children = child_nodes(node)
            children.reverse()
            extend([(child, False) for child in children])


_SKIPS: dict[tuple[type, tuple[type, ...]], bool] = {}


def contains(root: cst.CSTNode, target: cst.CSTNode, skip: tuple[type[cst.CSTNode], ...] = ()) -> bool:
    """Is `target` (by identity) `root` or below it, not looking inside nodes of the types in `skip`?"""
    stack = [root]
    pop, extend = stack.pop, stack.extend
    if not skip:
        while stack:
            node = pop()
            if node is target:
                return True
            extend(child_nodes(node))
        return False
    skips = _SKIPS
    while stack:
        node = pop()
        if node is target:
            return True
        key = (type(node), skip)
        skipped = skips.get(key)
        if skipped is None:
            skipped = skips[key] = isinstance(node, skip)
        if not skipped:
            extend(child_nodes(node))
    return False
