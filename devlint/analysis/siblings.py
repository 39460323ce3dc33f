"""Finding the sibling tensor of a new tensor: the tensor whose device it should follow.

A new tensor (the result of a factory call, or of a move like `.cuda()`) has a sibling when, in the same
function, it meets another tensor where the two must share a device — a multi-tensor torch function, an
operator, indexing, an item or slice assignment, a tensor method taking it, a `torch.ops` operator, a Triton
launch (`kernel[grid](a, b)`), or another call it is passed to together with a tensor the function received
(a parameter or an attribute) — or when the call that makes it is sized or typed from another tensor
(`x.shape[0]`, `n = x.size(0)`, `dtype=x.dtype`). Names the new tensor is bound to, names derived from
those, and lists it is appended to are followed through the function in order. What each operand *is* comes from the resolver.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from devlint.analysis.module import Binding, FunctionFacts
from devlint.analysis.tensors import (
    NON_MIXING_METHODS,
    SHAPE_ATTRIBUTES,
    SHAPE_METHODS,
    VIEW_METHODS,
    code_of,
    flatten_operands,
    iter_names,
    subscript_indices,
)
from devlint.analysis.values import DeviceOrigin, TensorEvidence, ValueResolver, own_nodes
from devlint.analysis.walk import child_nodes

__all__ = ["Sibling", "SiblingFinder", "SiblingRelation", "code_of"]


class SiblingRelation(str, enum.Enum):
    """How a new tensor meets its sibling."""

    COMBINE = "combine"  # the two must share a device: an operator, a torch function, indexing, a kernel
    COPY = "copy"  # copied into or out of (`.copy_()`, an item assignment): may cross devices on purpose
    SHAPE = "shape"  # lends only its shape or dtype
    CALL = "call"  # passed together to another function, which probably combines them


@dataclass(frozen=True)
class Sibling:
    """A tensor the new tensor should follow: `text.device` is where it must live."""

    text: str  # the expression whose `.device` a fix writes (a name, `self.cache`, `batch.seq_lens`, `info[2]`)
    relation: str  # how the two meet, in words: "combined with `inv_freq` in `torch.einsum`"
    site: cst.CSTNode  # where they meet, for the line number
    provable: bool  # a tensor of the same function (parameter or local, never None), not an attribute
    fix_blocker: str | None = None  # why `<text>.device` cannot be written at the new tensor, if it cannot
    kind: SiblingRelation = SiblingRelation.COMBINE
    evidence: TensorEvidence | None = None  # why the sibling is a tensor
    element: bool = False  # an element or attribute of a container (`info[2]`, `batch.seq_lens`)


_OPERATOR_WORDS = {
    "Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "FloorDivide": "//", "Modulo": "%",
    "Power": "**", "MatrixMultiply": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^",
    "LeftShift": "<<", "RightShift": ">>",
}

# Callees that never combine tensors on a device: printing, logging, type checks, containers, records.
_NEUTRAL_CALLS = frozenset({
    "print", "len", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "id", "hash", "type", "repr",
    "str", "int", "float", "bool", "list", "tuple", "dict", "set", "frozenset", "zip", "enumerate", "range",
    "sorted", "reversed", "iter", "next", "super", "vars", "dir", "callable", "format", "any", "all", "map",
    "filter", "sum", "max", "min", "abs", "round", "divmod", "object", "slice", "dataclass", "replace",
    "deepcopy", "copy", "partial", "cast", "assert_close", "allclose", "isclose", "save", "dump", "dumps",
})
_NEUTRAL_RECEIVERS = frozenset({"logger", "logging", "log", "warnings", "np", "numpy", "math", "os", "sys",
                                "json", "pickle", "time", "random", "itertools", "functools", "self.logger",
                                "dist", "torch.distributed", "wandb", "pytest", "unittest", "re", "copy"})


_COPY_METHODS = frozenset({"copy_"})
_APPENDS = frozenset({"append", "extend", "insert"})
_COLLECTIVES = frozenset({
    "all_reduce", "all_gather", "all_gather_into_tensor", "_all_gather_base", "all_gather_coalesced",
    "reduce_scatter", "reduce_scatter_tensor", "_reduce_scatter_base", "reduce_scatter_coalesced", "broadcast",
    "reduce", "gather", "scatter", "send", "recv", "isend", "irecv", "all_to_all", "all_to_all_single",
    "broadcast_object_list", "inference_all_reduce", "all_reduce_coalesced",
})


def _is_neutral_call(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value in _NEUTRAL_CALLS or func.value[:1].isupper()  # a class: building a record
    if isinstance(func, cst.Attribute):
        receiver = code_of(func.value)
        name = func.attr.value
        return (receiver in _NEUTRAL_RECEIVERS or name in _NEUTRAL_CALLS or name[:1].isupper()
                or name in NON_MIXING_METHODS or name.startswith(("assert", "log", "debug", "info", "warn")))
    return True


class SiblingFinder:
    """Answers `siblings_of(new_tensor_expr)` for one function."""

    def __init__(self, resolver: ValueResolver, fn: FunctionFacts) -> None:
        self.model = resolver
        self.fn = fn
        self._site_list: list[tuple[int, cst.CSTNode, list[cst.BaseExpression], str, SiblingRelation]] | None = None
        self._staged: frozenset[str] | None = None
        self._asserted: frozenset[str] | None = None
        self._append_list: list[tuple[int, str, cst.Call]] | None = None
        # Caches of what never changes once the module's facts are collected (see `_reach`, `_reaching`).
        self._reach_of: dict[int, tuple[cst.CSTNode, frozenset[int], tuple[str, ...]]] = {}
        self._reaching_of: dict[tuple[str, int], tuple[int, ...]] = {}
        self._carried_of: dict[int, tuple[cst.BaseExpression, set[int]]] = {}

    def asserted(self) -> frozenset[str]:
        """Tensors the function asserts to be on the platform device (`assert x.device == self.device` with
        `self.device` a platform device): already where the new tensor goes. Not `assert x.is_cuda`: that
        asserts a device type, and `x` may sit on another GPU than `"cuda"` names."""
        if self._asserted is None:
            found: set[str] = set()
            for node in own_nodes(self.fn.node):
                if not isinstance(node, cst.Assert):
                    continue
                tests: list[cst.BaseExpression] = [node.test]
                while tests:
                    test = tests.pop()
                    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
                        tests.extend((test.left, test.right))
                    elif isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                            and isinstance(test.comparisons[0].operator, cst.Equal):
                        found.update(self._asserted_device(test.left, test.comparisons[0].comparator, node))
            self._asserted = frozenset(found)
        return self._asserted

    def _asserted_device(self, left: cst.BaseExpression, right: cst.BaseExpression,
                         node: cst.CSTNode) -> Iterator[str]:
        seq = self.fn.seq_of.get(node, 1 << 62)
        for one, other in ((left, right), (right, left)):
            if isinstance(one, cst.Attribute) and one.attr.value == "device" \
                    and self.model.platform_device_of(other, self.fn, seq) is not None:
                yield code_of(one.value)

    def staged(self) -> frozenset[str]:
        """Tensors this function itself moves to the platform device, directly or through a view or a dtype
        conversion (`lens.to(torch.int32).to(gpu)`, `chw.permute(1, 2, 0).contiguous().to(device)`): it
        stages them there for a kernel, so the platform device is where its work happens, and the tensor is
        an input that may come from the host. Following its device would undo the staging."""
        if self._staged is None:
            found: set[str] = set()
            for seq, call in self.fn.calls:
                if self.model.platform_move_of(call, self.fn, seq) is None:
                    continue
                receiver = call.func.value  # type: ignore[attr-defined]
                while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) \
                        and receiver.func.attr.value in VIEW_METHODS:
                    receiver = receiver.func.value
                if isinstance(receiver, (cst.Name, cst.Attribute)):
                    found.add(code_of(receiver))
            self._staged = frozenset(found)
        return self._staged

    # -- the new tensor and the names that carry it ------------------------------------------------------
    def _carried_bindings(self, origin: cst.BaseExpression) -> set[int]:
        """ids of bindings in this function whose value is the new tensor or derived from it (computed once per
        new tensor; callers only read the set)."""
        cached = self._carried_of.get(id(origin))
        if cached is not None and cached[0] is origin:
            return cached[1]
        carried = self._carry(origin)
        self._carried_of[id(origin)] = (origin, carried)
        return carried

    def _carry(self, origin: cst.BaseExpression) -> set[int]:
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
            for seq, container, call in self._appends():
                # `norms.append(<new>)`: the list now holds the new tensor (`torch.stack(norms)` carries it).
                if any(self._mentions_new(arg.value, seq, origin, carried) for arg in call.args):
                    for binding in self.fn.bindings_reaching(container, seq):
                        if id(binding) not in carried:
                            carried.add(id(binding))
                            changed = True
        return carried

    def _appends(self) -> list[tuple[int, str, cst.Call]]:
        """(seq, list name, call) for each `name.append(...)`/`.extend(...)`/`.insert(...)` of a local."""
        if self._append_list is None:
            self._append_list = [
                (seq, call.func.value.value, call) for seq, call in self.fn.calls
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in _APPENDS
                and isinstance(call.func.value, cst.Name) and call.func.value.value in self.fn.bindings]
        return self._append_list

    def _mentions_new(self, expr: cst.CSTNode, seq: int, origin: cst.BaseExpression, carried: set[int]) -> bool:
        """Does `expr` carry the new tensor? Not through what only reads its size, type or device
        (`t.shape[0]`, `t.size(0)`, `len(t)`, `t.dtype`, `t.item()`): those are numbers, not the tensor."""
        _, seen, names = self._reach(expr)
        if id(origin) in seen:
            return True
        if carried:
            for name in names:
                for binding in self._reaching(name, seq):
                    if binding in carried:
                        return True
        return False

    def _reach(self, expr: cst.CSTNode) -> tuple[cst.CSTNode, frozenset[int], tuple[str, ...]]:
        """What `_mentions_new` looks at in `expr`, which depends on neither the new tensor nor the bindings
        that carry it: the ids of the nodes it reaches (the new tensor is one of them, or `expr` does not
        hold it) and the names it reaches (each carries it when a binding of it that reaches the event does).
        It does not look past metadata reads, into an attribute's name, or into a lambda. Cached per node
        (the node is kept with its entry, so its id stays its own)."""
        cached = self._reach_of.get(id(expr))
        if cached is not None and cached[0] is expr:
            return cached
        seen: set[int] = set()
        names: dict[str, None] = {}
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            seen.add(id(node))
            if _reads_only_metadata(node):
                continue
            if type(node) is cst.Name:
                names[node.value] = None
                continue
            if type(node) is cst.Attribute:
                stack.append(node.value)
                continue
            if type(node) is not cst.Lambda:
                stack.extend(child_nodes(node))
        found = self._reach_of[id(expr)] = (expr, frozenset(seen), tuple(names))
        return found

    def _reaching(self, name: str, seq: int) -> tuple[int, ...]:
        """ids of the bindings of `name` that may hold at event `seq` (the function's bindings are final)."""
        key = (name, seq)
        found = self._reaching_of.get(key)
        if found is None:
            found = self._reaching_of[key] = tuple(id(b) for b in self.fn.bindings_reaching(name, seq))
        return found

    def flows_into(self, origin: cst.BaseExpression, targets: list[tuple[int, cst.BaseExpression]]) -> bool:
        """Does the tensor made by `origin` (directly, or through names derived from it) reach one of the
        (seq, expression) `targets`?"""
        carried = self._carried_bindings(origin)
        return any(self._mentions_new(expr, seq, origin, carried) for seq, expr in targets)

    # -- where the new tensor meets others ---------------------------------------------------------------
    def _sites(self) -> list[tuple[int, cst.CSTNode, list[cst.BaseExpression], str, SiblingRelation]]:
        if self._site_list is None:
            self._site_list = sorted(self._collect_sites(), key=lambda s: s[0])
        return self._site_list

    def _collect_sites(self) -> Iterator[tuple[int, cst.CSTNode, list[cst.BaseExpression], str, SiblingRelation]]:
        """(seq, node, operands, words, relation) for every place in the function where tensors may meet."""
        model, fn = self.model, self.fn
        combine = SiblingRelation.COMBINE
        for seq, call in fn.calls:
            func = call.func
            name = model.torch_function(call, fn)
            if name is not None:
                if name.startswith("ops."):
                    yield seq, call, list(flatten_operands(call.args)), f"`torch.{name}`", combine
                elif model.returns_tensor(call, fn) and model.factory_kind(call, fn) is None:
                    yield seq, call, list(flatten_operands(call.args)), f"`torch.{name}`", combine
                continue
            if isinstance(func, cst.Subscript):  # a Triton launch: `kernel[grid](a, b, ...)`
                yield seq, call, [_pointee(a.value) for a in call.args if not a.star], \
                    f"the kernel launch `{code_of(func.value)}[...]`", combine
                continue
            if isinstance(func, cst.Attribute) and func.attr.value in _COPY_METHODS:
                continue  # `dst.copy_(src)` copies across devices: no device has to agree
            if isinstance(func, cst.Attribute) and func.attr.value not in NON_MIXING_METHODS \
                    and model.is_tensor(func.value, fn, seq):
                operands = [func.value, *flatten_operands(call.args)]
                yield seq, call, operands, f"`.{func.attr.value}()`", combine
                continue
            if not _is_neutral_call(call):
                callee = code_of(func)
                yield seq, call, [_pointee(a.value) for a in call.args if not a.star], f"a call of `{callee}()`", \
                    SiblingRelation.CALL
        for seq, node in fn.operators:
            if isinstance(node, cst.BinaryOperation):
                word = _OPERATOR_WORDS.get(type(node.operator).__name__, "an operator")
                yield seq, node, [node.left, node.right], f"`{word}`", combine
            elif isinstance(node, cst.Comparison):
                yield seq, node, [node.left, *(t.comparator for t in node.comparisons)], "a comparison", combine
            elif isinstance(node, cst.Subscript):
                yield seq, node, [node.value, *subscript_indices(node)], "indexing", combine
        for seq, node in fn.item_assignments:
            if isinstance(node, cst.AugAssign):
                yield seq, node, [node.target, node.value], "an in-place operator", combine
            else:
                for target in node.targets:
                    if isinstance(target.target, cst.Attribute) and target.target.attr.value == "grad":
                        yield seq, node, [target.target.value, node.value], "an assignment to `.grad`", combine
                    if isinstance(target.target, cst.Subscript):
                        sub = target.target
                        # `dst[i] = src` copies a tensor across devices like `.copy_()`; a value computed
                        # there (`cu[1:] = seq_lens.cumsum(0)`) is computed on its inputs' device, which is
                        # where the buffer should be.
                        value = [node.value] if _assigned_operands(node) else []
                        yield seq, node, [sub.value, *subscript_indices(sub), *value], "an item assignment", \
                            SiblingRelation.COPY

    def siblings_of(self, origin: cst.BaseExpression, origin_seq: int,
                    call: cst.Call | None = None) -> list[Sibling]:
        """Siblings of the tensor made by `origin`, in the order the code meets them: tensors combined with
        it first (earliest site first), then tensors its own arguments are sized or typed from."""
        carried = self._carried_bindings(origin)
        if self._sent_to_collective(origin, carried):
            return []  # a buffer for `dist.all_reduce`/`broadcast`/...: on the communication device on purpose
        found: list[Sibling] = []
        seen: set[str] = set()
        within = _nodes_within(origin)
        for seq, node, operands, words, relation in self._sites():
            if id(node) in within:
                continue  # the factory call itself and what is nested in its arguments
            flags = [self._mentions_new(op, seq, origin, carried) for op in operands]
            if not any(flags):
                continue
            if relation is SiblingRelation.COPY and isinstance(node, cst.Assign) \
                    and not any(flags[:len(operands) - _assigned_operands(node)]):
                continue  # `tiles[:, :pad] = <new>`: copied into the target, which may sit on another device
            for operand, is_new in zip(operands, flags, strict=True):
                if is_new:
                    continue
                if self._device_follows_new(operand, seq, origin, carried):
                    continue  # `w = torch.normal(..., device=x.device)`: w was put where the new tensor is
                sibling = self._sibling(operand, seq, origin_seq, "combined with `{sibling}` in " + words
                                        if relation is not SiblingRelation.CALL else
                                        "passed with `{sibling}` to " + words, node, relation)
                if sibling is not None and sibling.text not in seen:
                    seen.add(sibling.text)
                    found.append(sibling)
        if call is not None:
            # A shape or dtype borrowed from a tensor is a weaker tie than a meeting: alone it counts only for a
            # tensor proved by an annotation or a torch call (a config's `.dtype` or a shard read by use may be
            # no tensor, or sit elsewhere on purpose), never for a buffer handed to a collective (above).
            for sibling in self.argument_siblings(call, origin_seq):
                if sibling.text not in seen and (found or strong_evidence(sibling.evidence)):
                    seen.add(sibling.text)
                    found.append(sibling)
        return found

    def _device_follows_new(self, operand: cst.BaseExpression, seq: int, origin: cst.BaseExpression,
                            carried: set[int]) -> bool:
        """The operand is a local whose own placement reads the new tensor's device (`device=x.device`,
        `.to(x.device)`): a sibling of the new tensor by construction, never one to follow."""
        if not isinstance(operand, cst.Name):
            return False
        binding = self.fn.binding_before(operand.value, seq)
        if binding is None or binding.value is None:
            return False
        stack: list[cst.CSTNode] = [binding.value]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Attribute) and node.attr.value == "device" \
                    and self._mentions_new(node.value, binding.seq, origin, carried):
                return True
            if not isinstance(node, cst.Lambda):
                stack.extend(child_nodes(node))
        return False

    def _sent_to_collective(self, origin: cst.BaseExpression, carried: set[int]) -> bool:
        for seq, call in self.fn.calls:
            func = call.func
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            if name in _COLLECTIVES and any(self._mentions_new(a.value, seq, origin, carried) for a in call.args):
                return True
        return False

    def sent_to_collective(self, origin: cst.BaseExpression) -> bool:
        """The new tensor is handed to a collective (`dist.all_reduce(x)`): its device is the collective's."""
        return self._sent_to_collective(origin, self._carried_bindings(origin))

    def argument_siblings(self, call: cst.Call, seq: int) -> Iterator[Sibling]:
        """Tensors the call's own arguments (or those of methods chained on it) read a shape or dtype from
        (`x.shape[0]`, `dtype=x.dtype`, or a local `n = x.size(0)` used as the size)."""
        arguments = [arg.value for arg in call.args if not (arg.keyword is not None and arg.keyword.value == "device")]
        for _, chained in self.fn.calls:  # `torch.arange(n, device="cuda").repeat(x.shape[0], 1)`
            func = chained.func
            if isinstance(func, cst.Attribute) and func.value is call:
                arguments.extend(arg.value for arg in chained.args)
        for argument in arguments:
            for source, words in self._shape_sources(argument, seq):
                sibling = self._sibling(source, seq, seq, words, call, SiblingRelation.SHAPE)
                if sibling is not None:
                    yield sibling

    def _shape_sources(self, expr: cst.CSTNode, seq: int, hops: int = 0) -> Iterator[tuple[cst.BaseExpression, str]]:
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
                if isinstance(func, cst.Attribute):
                    # `graph.get_workspace_size()`: a size of the object the method belongs to, not of the tensors
                    # that object was built from (`graph = cudnn.pygraph(io_data_type=convert(qkv.dtype))`).
                    stack.extend(reversed([arg.value for arg in node.args]))
                    continue
            if isinstance(node, cst.Name) and hops == 0:
                binding = self.fn.binding_before(node.value, seq)
                if binding is not None and isinstance(binding.node, (cst.Assign, cst.AnnAssign)):
                    value = binding.value if binding.value is not None else binding.element_of
                    if value is not None:
                        for source, _ in self._shape_sources(value, binding.seq, hops + 1):
                            yield source, f"shaped from `{{sibling}}` (`{_one_line(code_of(binding.node))}`)"
                continue
            if not isinstance(node, cst.Lambda):
                stack.extend(reversed(list(child_nodes(node))))

    def _sibling(self, operand: cst.BaseExpression, site_seq: int, origin_seq: int, relation: str,
                 site: cst.CSTNode, kind: SiblingRelation) -> Sibling | None:
        model, fn = self.model, self.fn
        value = model.value_of(operand, fn, site_seq)
        if not value.is_tensor or value.sequence:
            return None
        if isinstance(operand, cst.Call) and model.factory_kind(operand, fn) is not None:
            return None  # `torch.tensor(0)` made on the spot: a scalar or a fresh tensor, no device to follow
        if value.placed:
            return None  # the code chose that tensor's device itself: a mismatch with it is deliberate
        if kind is SiblingRelation.CALL and not (value.received or value.origin is DeviceOrigin.CALLER):
            return None  # only a tensor the function received shows two tensors passed on must agree
        if kind is SiblingRelation.CALL and value.tensor is not None and value.tensor.optional:
            return None  # `plan.bind(q=q, sinks=self.sinks)` with sinks `Tensor | None`: the callee copes with None
        carrier = value.carrier
        evidence = value.tensor
        if code_of(carrier if carrier is not None else operand) in self.staged():
            return None  # the function moves that tensor to the platform device itself: staged, not followed
        if code_of(carrier if carrier is not None else operand) in self.asserted():
            return None  # `assert x.device == self.device`: the function requires it on the platform device
        if carrier is None:
            text = code_of(operand)
            return Sibling(text=text, relation=relation.replace("{sibling}", text), site=site, provable=False,
                           fix_blocker=f"`{text}` is not a plain name", kind=kind, evidence=evidence)
        if carrier is not operand:
            evidence = model.value_of(carrier, fn, site_seq).tensor or evidence
        text = code_of(carrier)
        blocker, provable = None, False
        names = list(iter_names(carrier)) if not isinstance(carrier, cst.Name) else [carrier]
        for name in names:
            if model.is_self(name, fn):
                continue
            # The fix writes `carrier.device` at the new tensor: the names must mean the same there.
            at_site = model.lookup(name.value, fn, site_seq)
            at_origin = model.lookup(name.value, fn, origin_seq)
            if at_site is None or at_origin is None or at_site[1] is not at_origin[1]:
                if at_site is not None and isinstance(at_site[1], Binding) and self._built_here(at_site[1]):
                    return None  # bound after the call from tensors the code built itself: a test's inputs
                blocker = f"`{name.value}` is assigned after the call"
                break
        if blocker is None and isinstance(carrier, cst.Name):
            at_site = model.lookup(carrier.value, fn, site_seq)
            provable = at_site is not None and at_site[0] is fn and not model.may_be_none(carrier, fn, site_seq)
        return Sibling(text=text, relation=relation.replace("{sibling}", text), site=site, provable=provable,
                       fix_blocker=blocker, kind=kind, evidence=evidence,
                       element=not isinstance(carrier, cst.Name) and not _is_self_attr(carrier, fn))

    def _built_here(self, binding: Binding) -> bool:
        value = binding.value if binding.value is not None else binding.element_of
        if value is None:
            return False
        found = self.model.value_of(value, self.fn, binding.seq)
        return found.is_tensor and found.origin in (DeviceOrigin.AMBIENT, DeviceOrigin.PLACED, DeviceOrigin.PLATFORM)


_METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout"})
_METADATA_METHODS = frozenset({"size", "numel", "dim", "item", "tolist", "data_ptr", "stride", "element_size",
                               "get_device", "nelement", "is_contiguous"})


def _assigned_operands(node: cst.Assign) -> int:
    """1 when an item assignment's value is an operand of its site (a value computed there, whose inputs the
    buffer should follow: `cu[1:] = seq_lens.cumsum(0)`), 0 for a bare name (a plain copy)."""
    return 1 if isinstance(node.value, (cst.Call, cst.BinaryOperation)) else 0


def _one_line(text: str, limit: int = 80) -> str:
    """Code quoted in a message: one line (a diagnostic is one line of text output), at most `limit` long."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _nodes_within(root: cst.CSTNode) -> set[int]:
    """ids of `root` and the nodes below it, not looking inside lambdas: the nodes `contains_node(root, ...)`
    finds, collected in one walk."""
    found: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        found.add(id(node))
        if type(node) is not cst.Lambda:
            stack.extend(child_nodes(node))
    return found


def _reads_only_metadata(node: cst.CSTNode) -> bool:
    # Exact types (LibCST's node classes have no subclasses): `isinstance` on them runs ABCMeta's check.
    if type(node) is cst.Attribute:
        return node.attr.value in _METADATA_ATTRIBUTES
    if type(node) is cst.Call:
        func = node.func
        if type(func) is cst.Attribute:
            return func.attr.value in _METADATA_METHODS
        return type(func) is cst.Name and func.value in ("len", "isinstance", "type", "id")
    return False


def _pointee(expr: cst.BaseExpression, hops: int = 0) -> cst.BaseExpression:
    """The tensor behind a pointer handed to a C or CUDA kernel: `get_ptr(w)`, `c_void_p(w.data_ptr())`,
    `w.data_ptr()` stand for `w` (a kernel's operands must share a device as much as a torch op's do)."""
    if hops > 2 or not isinstance(expr, cst.Call):
        return expr
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value == "data_ptr" and not expr.args:
        return func.value
    positional = [a for a in expr.args if a.keyword is None and not a.star]
    if len(expr.args) == 1 and len(positional) == 1 and not _is_neutral_call(expr) \
            and isinstance(func, (cst.Name, cst.Attribute)) and "ptr" in code_of(func).lower():
        return _pointee(positional[0].value, hops + 1)
    tail = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
    if tail == "c_void_p" and len(positional) == 1:
        return _pointee(positional[0].value, hops + 1)
    return expr


def _is_self_attr(node: cst.BaseExpression, fn: FunctionFacts) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == fn.self_name


def strong_evidence(evidence: TensorEvidence | None) -> bool:
    """Evidence a safe fix may rest on: an annotation or a torch call, not only how a value is used."""
    return evidence is not None and not evidence.weak
