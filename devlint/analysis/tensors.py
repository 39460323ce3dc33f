"""What is a tensor, which device a tensor carries, and which sibling tensor a new tensor meets.

All answers are static and conservative: an expression counts as a tensor only when the code says so (an
annotation, a torch function, a tensor method on a tensor, a registered buffer, a method annotated
`-> torch.Tensor`, or a name bound to one of those). Anything we cannot prove stays "unknown", and unknown
never produces a finding: a linter in CI must not cry wolf.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from devlint.analysis.module import Binding, ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.names import dotted_name
from devlint.analysis.walk import child_nodes

TORCH_FACTORIES = frozenset({
    "arange", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "asarray", "empty_strided", "tril_indices", "triu_indices",
    "range", "scalar_tensor", "sparse_coo_tensor", "normal", "bernoulli", "complex", "polar",
})
LIKE_FACTORIES = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
                            "randint_like"})
NEW_METHODS = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "new_empty_strided"})

# torch.<name> calls that do not return a tensor (or return several): never a tensor sibling.
NON_TENSOR_TORCH = frozenset({
    "device", "dtype", "Size", "Generator", "finfo", "iinfo", "no_grad", "enable_grad", "inference_mode",
    "compile", "manual_seed", "seed", "numel", "typename", "autocast", "empty_cache", "load", "save",
    "chunk", "split", "unbind", "tensor_split", "sort", "topk", "meshgrid", "broadcast_tensors",
    "broadcast_shapes", "result_type", "promote_types", "can_cast", "use_deterministic_algorithms",
    "from_numpy", "stream", "library", "Stream", "Event",
})
TENSOR_SUBMODULES = ("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special.")
TENSOR_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.Tensor"})

# Tensor methods that do not return a tensor.
NON_TENSOR_METHODS = frozenset({
    "size", "dim", "ndimension", "numel", "nelement", "item", "tolist", "stride", "storage_offset",
    "data_ptr", "element_size", "is_contiguous", "is_floating_point", "is_complex", "is_pinned",
    "is_shared", "get_device", "untyped_storage", "storage", "numpy", "type", "equal", "chunk", "split",
    "unbind", "tensor_split", "split_with_sizes", "register_hook", "backward", "__len__", "is_set_to",
    "nbytes", "itemsize", "dim_order",
})
SEQUENCE_METHODS = frozenset({"chunk", "split", "unbind", "tensor_split", "split_with_sizes", "sort", "topk",
                              "max", "min", "median", "mode", "kthvalue", "unique", "unique_consecutive"})
SEQUENCE_TORCH = frozenset({"chunk", "split", "unbind", "tensor_split", "sort", "topk", "meshgrid",
                            "broadcast_tensors", "unique"})
# Methods whose result lives on another device than their receiver: the receiver's device says nothing.
MOVING_METHODS = frozenset({"to", "cuda", "cpu", "xpu", "npu", "hpu", "mps", "to_empty", "pin_memory"})
# Tensor methods that read only another tensor's shape or type, or move to it: no device mixing.
NON_MIXING_METHODS = frozenset({"to", "type_as", "expand_as", "view_as", "reshape_as", "new_zeros",
                                "new_ones", "new_empty", "new_full", "new_tensor", "new_empty_strided",
                                "size", "dim", "numel", "register_buffer", "register_parameter",
                                "append", "extend", "get", "setdefault", "update", "pop", "add",
                                "format", "join", "startswith", "endswith", "split"})
TENSOR_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "data", "grad", "real", "imag"})
SHAPE_ATTRIBUTES = frozenset({"shape", "dtype", "ndim"})
SHAPE_METHODS = frozenset({"size", "numel", "dim", "stride", "nelement"})


@dataclass(frozen=True)
class Sibling:
    """A tensor the new tensor should follow: `carrier.device` is where it must live."""

    text: str  # the sibling as written: a name or `self.<attr>` when `fix_blocker` is None
    relation: str  # how the two meet, in words: "combined with `inv_freq` in `torch.einsum`"
    site: cst.CSTNode  # where they meet, for the line number
    provable: bool  # a tensor of the same function (parameter or local, never None), not an attribute
    fix_blocker: str | None = None  # why `<text>.device` cannot be written at the new tensor, if it cannot
    kind: str = "combine"  # "combine" (must share a device), "copy" (`.copy_()`, item assignment), "shape"


def flatten_operands(args: tuple[cst.Arg, ...] | list[cst.Arg]) -> Iterator[cst.BaseExpression]:
    """Argument values, with list/tuple displays opened up (`torch.cat((a, b))` meets a and b)."""
    for arg in args:
        if arg.star:
            continue
        value = arg.value
        if isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                if isinstance(element, cst.Element):
                    yield element.value
        else:
            yield value


def subscript_indices(node: cst.Subscript) -> Iterator[cst.BaseExpression]:
    for element in node.slice:
        if isinstance(element.slice, cst.Index):
            yield element.slice.value


def iter_names(node: cst.CSTNode) -> Iterator[cst.Name]:
    """Names read inside an expression (attribute names and lambda bodies excluded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)
        elif isinstance(current, cst.Lambda):
            continue
        else:
            stack.extend(child_nodes(current))


def contains_node(haystack: cst.CSTNode, needle: cst.CSTNode) -> bool:
    stack = [haystack]
    while stack:
        current = stack.pop()
        if current is needle:
            return True
        if not isinstance(current, cst.Lambda):
            stack.extend(child_nodes(current))
    return False


class TensorModel:
    """Tensor facts for one module, computed on demand and memoised."""

    MAX_DEPTH = 24

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self._tensor_attr_memo: dict[tuple[str, str], bool] = {}

    # -- names -----------------------------------------------------------------------------------------
    def lookup(self, name: str, fn: FunctionFacts, seq: int) -> tuple[FunctionFacts, Binding | cst.Param] | None:
        """What `name` refers to at event `seq` of `fn`: a binding or a parameter, searching enclosing
        functions (as they stand when the inner one runs) and finally the module."""
        current: FunctionFacts | None = fn
        at = seq
        while current is not None:
            if current.binds(name):
                binding = current.binding_before(name, at)
                if binding is not None:
                    return current, binding
                if name in current.params:
                    return current, current.params[name]
                if current.scope.imports.get(name) is not None:
                    return None
                return None
            current = current.parent
            at = 1 << 62
        return None

    # -- torch names -----------------------------------------------------------------------------------
    def torch_function(self, call: cst.Call, fn: FunctionFacts) -> str | None:
        """`arange` for `torch.arange(...)`/`th.arange(...)`/`ar(...)`; a dotted tail for submodules
        (`nn.functional.softmax`); None if the callee is not torch."""
        qualified = fn.scope.qualified_name(call.func)
        if qualified is None or not qualified.startswith("torch."):
            return None
        return qualified[len("torch."):]

    def factory_kind(self, call: cst.Call, fn: FunctionFacts) -> str | None:
        """'factory', 'like' or 'new' for a tensor factory call, else None."""
        name = self.torch_function(call, fn)
        if name in TORCH_FACTORIES:
            return "factory"
        if name in LIKE_FACTORIES:
            return "like"
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in NEW_METHODS and name is None:
            return "new"
        return None

    def returns_tensor(self, call: cst.Call, fn: FunctionFacts) -> bool:
        name = self.torch_function(call, fn)
        if name is None:
            return False
        qualified = "torch." + name
        if qualified in TENSOR_CLASSES:
            return True
        if "." in name:
            return qualified.startswith(TENSOR_SUBMODULES)
        if name.startswith(("_", "is_", "get_", "set_")) or name[0].isupper():
            return False
        return name not in NON_TENSOR_TORCH

    # -- is it a tensor? -------------------------------------------------------------------------------
    def is_tensor(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int, depth: int = 0) -> bool:
        if depth > self.MAX_DEPTH:
            return False
        depth += 1
        if isinstance(expr, cst.Name):
            found = self.lookup(expr.value, fn, seq)
            if found is None:
                return False
            owner, binding = found
            if isinstance(binding, cst.Param):
                return binding.annotation is not None and self.is_tensor_annotation(binding.annotation.annotation, owner)
            if binding.annotation is not None and self.is_tensor_annotation(binding.annotation, owner):
                return True
            if binding.element_of is not None:
                return self.is_tensor_sequence(binding.element_of, owner, binding.seq, depth)
            if binding.value is None or binding.value is expr:
                return False
            return self.is_tensor(binding.value, owner, binding.seq, depth)
        if isinstance(expr, cst.Attribute):
            if self.is_self(expr.value, fn):
                return fn.cls is not None and self.is_tensor_attr(fn.cls, expr.attr.value)
            if expr.attr.value in TENSOR_ATTRIBUTES:
                return self.is_tensor(expr.value, fn, seq, depth)
            return False
        if isinstance(expr, cst.Call):
            if self.factory_kind(expr, fn) is not None or self.returns_tensor(expr, fn):
                return True
            func = expr.func
            if isinstance(func, cst.Attribute):
                if self.is_self(func.value, fn) and fn.cls is not None:
                    method = self.facts.find_method(fn.cls, func.attr.value)
                    return method is not None and method.returns is not None and \
                        self.is_tensor_annotation(method.returns, method)
                method_name = func.attr.value
                if method_name in NON_TENSOR_METHODS or method_name in SEQUENCE_METHODS:
                    return False
                return self.is_tensor(func.value, fn, seq, depth)
            return False
        if isinstance(expr, cst.Subscript):
            return self.is_tensor(expr.value, fn, seq, depth) or self.is_tensor_sequence(expr.value, fn, seq, depth)
        if isinstance(expr, cst.BinaryOperation):
            return self.is_tensor(expr.left, fn, seq, depth) or self.is_tensor(expr.right, fn, seq, depth)
        if isinstance(expr, cst.UnaryOperation):
            return not isinstance(expr.operator, cst.Not) and self.is_tensor(expr.expression, fn, seq, depth)
        if isinstance(expr, cst.IfExp):
            return self.is_tensor(expr.body, fn, seq, depth) or self.is_tensor(expr.orelse, fn, seq, depth)
        return False

    def may_be_none(self, name: cst.Name, fn: FunctionFacts, seq: int) -> bool:
        """A parameter annotated `Optional[Tensor]`/`Tensor | None` or defaulting to None: `name.device`
        could raise, so a fix must not rely on it without a human look."""
        found = self.lookup(name.value, fn, seq)
        if found is None or not isinstance(found[1], cst.Param):
            return False
        param = found[1]
        if isinstance(param.default, cst.Name) and param.default.value == "None":
            return True
        if param.annotation is None:
            return False
        text = cst.Module([]).code_for_node(param.annotation.annotation)
        return "Optional" in text or "None" in text

    def is_tensor_sequence(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int, depth: int = 0) -> bool:
        """A call returning several tensors: `x.chunk(2)`, `torch.split(x, n)`, `x.max(dim=-1)`."""
        if not isinstance(expr, cst.Call):
            return False
        name = self.torch_function(expr, fn)
        if name in SEQUENCE_TORCH:
            return True
        func = expr.func
        return (isinstance(func, cst.Attribute) and func.attr.value in SEQUENCE_METHODS
                and self.is_tensor(func.value, fn, seq, depth + 1))

    def is_tensor_annotation(self, annotation: cst.BaseExpression, fn: FunctionFacts) -> bool:
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if not isinstance(text, str):
                return False
            try:
                annotation = cst.parse_expression(text)
            except cst.ParserSyntaxError:
                return False
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            qualified = fn.scope.qualified_name(annotation)
            return qualified is not None and qualified.startswith("torch.") and (
                qualified.endswith("Tensor") or qualified.endswith("Parameter"))
        if isinstance(annotation, cst.BinaryOperation):  # `torch.Tensor | None`
            return self.is_tensor_annotation(annotation.left, fn) or self.is_tensor_annotation(annotation.right, fn)
        if isinstance(annotation, cst.Subscript):  # Optional[torch.Tensor], Union[torch.Tensor, None]
            head = dotted_name(annotation.value) or ""
            if head.rsplit(".", 1)[-1] in ("Optional", "Union"):
                return any(self.is_tensor_annotation(e, fn) for e in subscript_indices(annotation))
        return False

    def is_self(self, expr: cst.BaseExpression, fn: FunctionFacts) -> bool:
        return fn.self_name is not None and isinstance(expr, cst.Name) and expr.value == fn.self_name \
            and not fn.bindings.get(fn.self_name)

    def is_tensor_attr(self, cls: ClassFacts, attr: str) -> bool:
        key = (cls.name, attr)
        if key in self._tensor_attr_memo:
            return self._tensor_attr_memo[key]
        self._tensor_attr_memo[key] = False  # cycle guard: `self.a = self.a * 2`
        result = False
        for current in self.facts.class_chain(cls):
            if attr in current.buffers or attr in current.annotated_tensor_attrs:
                result = True
                break
            for assignment in current.attr_assignments.get(attr, ()):
                if assignment.value is not None and self.is_tensor(assignment.value, assignment.function,
                                                                   assignment.seq):
                    result = True
                    break
            if result:
                break
        self._tensor_attr_memo[key] = result
        return result

    # -- was a tensor placed on a device on purpose? -----------------------------------------------------
    def explicitly_placed(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int, depth: int = 0) -> bool:
        """True when the code chose this tensor's device itself: a factory call with `device=` (other than
        another tensor's `.device`), or a move (`.cpu()`, `.cuda()`, `.to("cuda")`). Such a tensor is no
        sibling to follow: a mismatch with it is deliberate (host staging buffers, tests that build all
        their inputs on the GPU), not an accident of a platform global."""
        if depth > self.MAX_DEPTH:
            return False
        depth += 1
        if isinstance(expr, cst.Name):
            found = self.lookup(expr.value, fn, seq)
            if found is None or isinstance(found[1], cst.Param):
                return False
            owner, binding = found
            value = binding.value if binding.value is not None else binding.element_of
            return value is not None and value is not expr and self.explicitly_placed(value, owner, binding.seq, depth)
        if isinstance(expr, cst.Attribute) and self.is_self(expr.value, fn) and fn.cls is not None:
            assignments = [a for c in self.facts.class_chain(fn.cls) for a in c.attr_assignments.get(expr.attr.value, ())]
            return bool(assignments) and all(
                a.value is not None and self.explicitly_placed(a.value, a.function, a.seq, depth) for a in assignments)
        if isinstance(expr, cst.Subscript):
            return self.explicitly_placed(expr.value, fn, seq, depth)
        if isinstance(expr, cst.UnaryOperation):
            return self.explicitly_placed(expr.expression, fn, seq, depth)
        if isinstance(expr, cst.BinaryOperation):
            return any(self.explicitly_placed(side, fn, seq, depth) for side in (expr.left, expr.right)
                       if self.is_tensor(side, fn, seq))
        if isinstance(expr, cst.Call):
            func = expr.func
            if self.factory_kind(expr, fn) is not None:
                device = next((a for a in expr.args if a.keyword is not None and a.keyword.value == "device"), None)
                return device is not None and not self._is_device_of_tensor(device.value, fn, seq)
            if self.returns_tensor(expr, fn):
                first = next((o for o in flatten_operands(expr.args) if self.is_tensor(o, fn, seq)), None)
                return first is not None and self.explicitly_placed(first, fn, seq, depth)
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if method in MOVING_METHODS and (method != "to" or any(self._names_a_device(a, fn, seq) for a in expr.args)):
                    return True
                if self.is_tensor(func.value, fn, seq):
                    return self.explicitly_placed(func.value, fn, seq, depth)
        return False

    def _names_a_device(self, arg: cst.Arg, fn: FunctionFacts, seq: int) -> bool:
        """`.to("cuda")`, `.to(device=d)`, `.to(torch.device(...))`, `.to(self.device)`, `.to(dev)` — a device
        chosen by the code; not `.to(torch.float16)`, `.to(other_tensor)` or `.to(x.device)` (inherited)."""
        value = arg.value
        if arg.keyword is not None:
            return arg.keyword.value == "device" and not self._is_device_of_tensor(value, fn, seq)
        if isinstance(value, (cst.SimpleString, cst.FormattedString)):
            return True
        if isinstance(value, cst.Call):
            return dotted_name(value.func) in ("torch.device", "device")
        name = dotted_name(value)
        if name is None or "device" not in name.rsplit(".", 1)[-1].lower():
            return False
        return not self._is_device_of_tensor(value, fn, seq)

    def _is_device_of_tensor(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> bool:
        return (isinstance(expr, cst.Attribute) and expr.attr.value == "device"
                and self.is_tensor(expr.value, fn, seq))

    # -- which device does a tensor expression carry? --------------------------------------------------
    def device_carrier(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int,
                       depth: int = 0) -> cst.BaseExpression | None:
        """A short expression with the same device as `expr` (`inv_freq` for `inv_freq.float()[None]`)."""
        if depth > self.MAX_DEPTH:
            return None
        depth += 1
        if isinstance(expr, cst.Name):
            return expr if self.is_tensor(expr, fn, seq) else None
        if isinstance(expr, cst.Attribute):
            if self.is_self(expr.value, fn):
                return expr if self.is_tensor(expr, fn, seq) else None
            if expr.attr.value in TENSOR_ATTRIBUTES:
                return self.device_carrier(expr.value, fn, seq, depth)
            return None
        if isinstance(expr, cst.Subscript):
            return self.device_carrier(expr.value, fn, seq, depth)
        if isinstance(expr, cst.UnaryOperation):
            return self.device_carrier(expr.expression, fn, seq, depth)
        if isinstance(expr, cst.BinaryOperation):
            for side in (expr.left, expr.right):
                if self.is_tensor(side, fn, seq):
                    return self.device_carrier(side, fn, seq, depth)
            return None
        if isinstance(expr, cst.Call):
            func = expr.func
            if self.returns_tensor(expr, fn) and self.factory_kind(expr, fn) is None:
                for operand in flatten_operands(expr.args):
                    if self.is_tensor(operand, fn, seq):
                        return self.device_carrier(operand, fn, seq, depth)
                return None
            if isinstance(func, cst.Attribute) and not self.is_self(func.value, fn) \
                    and func.attr.value not in MOVING_METHODS and self.is_tensor(func.value, fn, seq):
                return self.device_carrier(func.value, fn, seq, depth)
        return None
