"""Finding the sibling tensor of a new tensor: the tensor whose device it should follow.

A new tensor (the result of a factory call, or of a move like `.cuda()`) has a sibling when, in the same
function, it is combined with another tensor (a multi-tensor torch function, an operator, indexing, an item
assignment, a tensor method taking it), or when the call that makes it is sized or typed from another tensor
(`x.shape[0]`, `x.size(0)`, `dtype=x.dtype`). Names the new tensor is bound to, and names derived from those,
are followed through the function in order.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from devlint.analysis.module import FunctionFacts
from devlint.analysis.walk import child_nodes
from devlint.analysis.tensors import (
    NON_MIXING_METHODS,
    SHAPE_ATTRIBUTES,
    SHAPE_METHODS,
    Sibling,
    TensorModel,
    flatten_operands,
    contains_node,
    iter_names,
    subscript_indices,
)

_CODEGEN = cst.Module([])


def code_of(node: cst.CSTNode) -> str:
    return _CODEGEN.code_for_node(node)


_OPERATOR_WORDS = {
    "Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "FloorDivide": "//", "Modulo": "%",
    "Power": "**", "MatrixMultiply": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^",
    "LeftShift": "<<", "RightShift": ">>",
}


class SiblingFinder:
    """Answers `siblings_of(new_tensor_expr)` for one function."""

    def __init__(self, model: TensorModel, fn: FunctionFacts) -> None:
        self.model = model
        self.fn = fn

    # -- the new tensor and the names that carry it ------------------------------------------------------
    def _carried_bindings(self, origin: cst.BaseExpression) -> set[int]:
        """ids of bindings in this function whose value is the new tensor or derived from it."""
        carried: set[int] = set()
        ordered = sorted((b for bs in self.fn.bindings.values() for b in bs), key=lambda b: b.seq)
        changed = True
        rounds = 0
        while changed and rounds < 8:
            changed, rounds = False, rounds + 1
            for binding in ordered:
                if id(binding) in carried:
                    continue
                value = binding.value if binding.value is not None else binding.element_of
                if value is None or isinstance(binding.node, (cst.FunctionDef, cst.ClassDef)):
                    continue
                if self._mentions_new(value, binding.seq, origin, carried):
                    carried.add(id(binding))
                    changed = True
        return carried

    def _mentions_new(self, expr: cst.CSTNode, seq: int, origin: cst.BaseExpression, carried: set[int]) -> bool:
        if contains_node(expr, origin):
            return True
        for name in iter_names(expr):
            binding = self.fn.binding_before(name.value, seq)
            if binding is not None and id(binding) in carried:
                return True
        return False

    def flows_into(self, origin: cst.BaseExpression, targets: list[tuple[int, cst.BaseExpression]]) -> bool:
        """Does the tensor made by `origin` (directly, or through names derived from it) reach one of the
        (seq, expression) `targets`?"""
        carried = self._carried_bindings(origin)
        return any(self._mentions_new(expr, seq, origin, carried) for seq, expr in targets)

    # -- where the new tensor meets others ---------------------------------------------------------------
    def _sites(self) -> Iterator[tuple[int, cst.CSTNode, list[cst.BaseExpression], str]]:
        """(seq, node, operands, words) for every place in the function where tensors may meet."""
        model, fn = self.model, self.fn
        for seq, call in fn.calls:
            name = model.torch_function(call, fn)
            if name is not None:
                if model.returns_tensor(call, fn) and model.factory_kind(call, fn) is None:
                    yield seq, call, list(flatten_operands(call.args)), f"`torch.{name}`"
                continue
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value not in NON_MIXING_METHODS \
                    and model.is_tensor(func.value, fn, seq):
                operands = [func.value, *flatten_operands(call.args)]
                yield seq, call, operands, f"`.{func.attr.value}()`"
        for seq, node in fn.operators:
            if isinstance(node, cst.BinaryOperation):
                word = _OPERATOR_WORDS.get(type(node.operator).__name__, "an operator")
                yield seq, node, [node.left, node.right], f"`{word}`"
            elif isinstance(node, cst.Comparison):
                yield seq, node, [node.left, *(t.comparator for t in node.comparisons)], "a comparison"
            elif isinstance(node, cst.Subscript):
                yield seq, node, [node.value, *subscript_indices(node)], "indexing"
        for seq, node in fn.item_assignments:
            if isinstance(node, cst.AugAssign):
                yield seq, node, [node.target, node.value], "an in-place operator"
            else:
                for target in node.targets:
                    if isinstance(target.target, cst.Subscript):
                        sub = target.target
                        yield seq, node, [sub.value, *subscript_indices(sub), node.value], "an item assignment"

    def siblings_of(self, origin: cst.BaseExpression, origin_seq: int,
                    call: cst.Call | None = None) -> list[Sibling]:
        """Siblings of the tensor made by `origin`, in the order the code meets them: tensors combined with
        it first (earliest site first), then tensors its own arguments are sized or typed from."""
        carried = self._carried_bindings(origin)
        found: list[Sibling] = []
        seen: set[str] = set()
        for seq, node, operands, words in sorted(self._sites(), key=lambda s: s[0]):
            copy = words in ("`.copy_()`", "an item assignment")
            if node is origin or contains_node(origin, node):
                continue  # the factory call itself and what is nested in its arguments
            flags = [self._mentions_new(op, seq, origin, carried) for op in operands]
            if not any(flags):
                continue
            for operand, is_new in zip(operands, flags):
                if is_new:
                    continue
                sibling = self._sibling(operand, seq, origin_seq, "combined with `{sibling}` in " + words, node,
                                        "copy" if copy else "combine")
                if sibling is not None and sibling.text not in seen:
                    seen.add(sibling.text)
                    found.append(sibling)
        if call is not None:
            for sibling in self.argument_siblings(call, origin_seq):
                if sibling.text not in seen:
                    seen.add(sibling.text)
                    found.append(sibling)
        return found

    def argument_siblings(self, call: cst.Call, seq: int) -> Iterator[Sibling]:
        """Tensors the call's own arguments read a shape or dtype from (`x.shape[0]`, `dtype=x.dtype`)."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "device":
                continue
            for source, words in self._shape_sources(arg.value):
                sibling = self._sibling(source, seq, seq, words, call, "shape")
                if sibling is not None:
                    yield sibling

    def _shape_sources(self, expr: cst.CSTNode) -> Iterator[tuple[cst.BaseExpression, str]]:
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Attribute) and node.attr.value in SHAPE_ATTRIBUTES:
                yield node.value, f"shaped from `{{sibling}}` (`{code_of(node)}`)"
                continue
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in SHAPE_METHODS:
                    yield func.value, f"shaped from `{{sibling}}` (`{code_of(node)}`)"
                    continue
                if isinstance(func, cst.Name) and func.value == "len" and len(node.args) == 1 \
                        and not self.fn.scope.is_function_local("len"):
                    yield node.args[0].value, f"shaped from `{{sibling}}` (`{code_of(node)}`)"
                    continue
            if not isinstance(node, cst.Lambda):
                stack.extend(reversed(list(child_nodes(node))))

    def _sibling(self, operand: cst.BaseExpression, site_seq: int, origin_seq: int, relation: str,
                 site: cst.CSTNode, kind: str) -> Sibling | None:
        model, fn = self.model, self.fn
        if not model.is_tensor(operand, fn, site_seq):
            return None
        if isinstance(operand, cst.Call) and model.factory_kind(operand, fn) is not None:
            return None  # `torch.tensor(0)` made on the spot: a scalar or a fresh tensor, no device to follow
        carrier = model.device_carrier(operand, fn, site_seq)
        if carrier is None:
            if model.explicitly_placed(operand, fn, site_seq):
                return None
            text = code_of(operand)
            return Sibling(text=text, relation=relation.replace("{sibling}", text), site=site, provable=False,
                           fix_blocker=f"`{text}` is not a plain name", kind=kind)
        if model.explicitly_placed(carrier, fn, site_seq):
            return None
        text = code_of(carrier)
        blocker, provable = None, False
        if isinstance(carrier, cst.Name):
            # The fix writes `carrier.device` at the new tensor: the name must mean the same tensor there.
            at_site = model.lookup(carrier.value, fn, site_seq)
            at_origin = model.lookup(carrier.value, fn, origin_seq)
            if at_site is None or at_origin is None or at_site[1] is not at_origin[1]:
                blocker = f"`{text}` is assigned after the call"
            else:
                provable = at_site[0] is fn and not model.may_be_none(carrier, fn, site_seq)
        return Sibling(text=text, relation=relation.replace("{sibling}", text), site=site,
                       provable=provable, fix_blocker=blocker, kind=kind)
