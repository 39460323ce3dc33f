"""Small helpers over LibCST trees that every room needs: the source text of a node, and node search.

Written once here; the analysis and the rules import them from this module.
"""

from __future__ import annotations

import libcst as cst

from devlint.analysis.walk import child_nodes

_CODEGEN = cst.Module([])  # code generation needs a module for its whitespace defaults; an empty one is enough


def code_of(node: cst.CSTNode) -> str:
    """The source text of `node` as LibCST generates it (exactly the text it was parsed from)."""
    return _CODEGEN.code_for_node(node)


def contains_node(haystack: cst.CSTNode, needle: cst.CSTNode, *, enter_lambdas: bool = True) -> bool:
    """Whether `needle` is `haystack` or a node inside it (by identity). With `enter_lambdas=False` a lambda's
    body is not searched: for questions about one function's own code, a lambda is another scope."""
    stack = [haystack]
    while stack:
        current = stack.pop()
        if current is needle:
            return True
        if enter_lambdas or not isinstance(current, cst.Lambda):
            stack.extend(child_nodes(current))
    return False


def top_level_statement_of(module: cst.Module,
                           node: cst.CSTNode) -> cst.SimpleStatementLine | cst.BaseCompoundStatement | None:
    """The statement of `module.body` that holds `node`, or None if it is in none of them (a header comment)."""
    return next((statement for statement in module.body if statement is node or contains_node(statement, node)),
                None)
