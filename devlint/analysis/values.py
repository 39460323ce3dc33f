"""The value resolver: for any expression of a function, what devlint knows about its value.

One question, asked by every rule: *what is this expression?* The answer is a `Value` — whether it is a
tensor and on what evidence (`TensorEvidence`), and where its device comes from (`DeviceOrigin`: the
platform's device, a sibling tensor, a placement the code chose, the ambient default device, the caller).
A device expression (`"cuda"`, `x.device`, `self.device`) gets the same record: its `origin` says which
device it names. Answers are memoised per (function, expression, event), and follow names back to where
they were bound, `self.<attr>` to the class's assignments, and imported names to the facts of their module
(`project.py`), so the parallel "is it a tensor / was it placed / which device" predicates of earlier
versions are one recursive function here.

Everything is static and conservative: a value is a tensor only on evidence (an annotation, a torch call, a
use that only a tensor allows...), never because of its name, and unknown never produces a finding.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

from devlint.analysis.devices import PlatformDevice
from devlint.analysis.module import END_OF_FUNCTION, Binding, ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.names import dotted_name
from devlint.analysis.platform import expression_signature, matches_signature
from devlint.analysis.project import ModuleSummary, ProjectFacts
from devlint.analysis.tensors import (
    CONTRA_TENSOR_METHODS,
    LIKE_FACTORIES,
    MOVING_METHODS,
    NEW_METHODS,
    NON_TENSOR_METHODS,
    NON_TENSOR_TORCH,
    POSITIONAL_DEVICE_SLOT,
    SEQUENCE_METHODS,
    SEQUENCE_TORCH,
    TENSOR_API,
    TENSOR_ATTRIBUTES,
    TENSOR_CLASSES,
    TENSOR_ONLY_ATTRIBUTES,
    TENSOR_ONLY_METHODS,
    TENSOR_SUBMODULES,
    TORCH_FACTORIES,
    FactoryKind,
    code_of,
    contains_node,
    flatten_operands,
    opened,
    subscript_indices,
)
from devlint.analysis.walk import child_nodes


class EvidenceKind(enum.Enum):
    """Why devlint believes an expression is a tensor."""

    ANNOTATION = "annotation"  # `x: torch.Tensor`, `Optional[torch.Tensor]`
    TORCH_RESULT = "torch-result"  # the result of a torch function or factory
    TENSOR_METHOD = "tensor-method"  # a tensor method of a tensor (`x.float()`)
    RETURN_ANNOTATION = "return-annotation"  # a call of a function annotated `-> torch.Tensor`
    MODULE_CALL = "module-call"  # calling an `nn.Module` attribute (`self.proj(x)`)
    MODULE_STATE = "module-state"  # a registered buffer or parameter, `nn.Parameter(...)`
    FIELD = "field"  # a dataclass or class field annotated as a tensor (`batch.seq_lens`)
    USE = "use"  # used as only a tensor can be (`x.shape`, `x.view(...)`, passed to `torch.cumsum`)
    DERIVED = "derived"  # arithmetic, comparison or indexing of a tensor


@dataclass(frozen=True)
class TensorEvidence:
    """Why an expression is believed to be a tensor, and where that shows."""

    kind: EvidenceKind
    detail: str  # in words, for messages: "annotated `torch.Tensor`", "passed to `torch.cumsum`"
    node: cst.CSTNode | None = None  # where the evidence is, for its line number
    optional: bool = False  # annotated `Optional[...]`/`... | None`: the value may be None
    by_use: bool = False  # derived from a value that is a tensor only by how it is used
    line: int | None = None  # the line, when the evidence is in this file but not in the tree LibCST parsed

    @property
    def weak(self) -> bool:
        """Evidence from use alone (directly or through what it derives from): enough to report, not to
        rest a safe fix on."""
        return self.kind is EvidenceKind.USE or self.by_use


class DeviceOrigin(enum.Enum):
    """Where a tensor's device comes from (or, for a device expression, which device it names)."""

    PLATFORM = "platform"  # the platform's device (`"cuda"`, `current_platform.device_type`, `.cuda()`)
    SIBLING = "sibling"  # another tensor's device (`x.device`, `torch.zeros_like(x)`, `x + 1`)
    PLACED = "placed"  # chosen by the code on purpose: `"cpu"`, a device variable, `.to(dev)`
    AMBIENT = "ambient"  # the ambient default device: a factory with no device
    CALLER = "caller"  # decided by the caller: a parameter (a tensor, or a device) of the function
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Value:
    """What is known of one expression's value."""

    tensor: TensorEvidence | None = None
    origin: DeviceOrigin = DeviceOrigin.UNKNOWN
    platform: PlatformDevice | None = None  # set when origin is PLATFORM
    # A short expression with the same device (`inv_freq` for `inv_freq.float()[None]`): what a fix writes
    # `.device` after. None when there is none to write (a helper's result).
    carrier: cst.BaseExpression | None = None
    sequence: bool = False  # several tensors (`x.chunk(2)`, `torch.split(...)`): an element is a tensor
    received: bool = False  # the value (or its carrier) came in from outside: a parameter or an attribute
    # The result of a call handed a device (`helper(n, device=dev)`, `symm_mem.empty(..., device=dev)`) or
    # of a move of something not known to be a tensor (`meta.lens_cpu.npu()`): whatever it is, it sits
    # where the code put it. Made a tensor by how it is used, it is a tensor the code placed.
    handed: bool = False

    @property
    def is_tensor(self) -> bool:
        return self.tensor is not None

    @property
    def placed(self) -> bool:
        """The code chose this tensor's device itself (a factory's `device=`, a move)."""
        return self.origin in (DeviceOrigin.PLATFORM, DeviceOrigin.PLACED)


UNKNOWN = Value()
_HANDED = Value(origin=DeviceOrigin.PLACED, handed=True)
_BUILTINS = frozenset(dir(builtins))


def describe_evidence(name: str, evidence: TensorEvidence, line: int | None) -> str:
    where = f" (line {line})" if line is not None else ""
    return f"`{name}` is a tensor: {evidence.detail}{where}"


class ValueResolver:
    """Values of expressions in one module, computed on demand and memoised."""

    MAX_DEPTH = 24

    def __init__(self, facts: ModuleFacts, project: ProjectFacts | None = None,
                 summary: Callable[[], ModuleSummary | None] | None = None) -> None:
        self.facts = facts
        self.project = project
        self._summary_factory = summary
        self._summary: ModuleSummary | None = None
        self.string_pattern = facts.table.device_string_pattern()
        self._memo: dict[tuple[int, int, int], tuple[cst.BaseExpression, Value]] = {}
        # Keyed by the class's facts, not its name: `if hip: class Scratch ... else: class Scratch ...` are two.
        self._attr_memo: dict[tuple[int, str], Value] = {}
        self._platform_attr_memo: dict[tuple[int, str], PlatformDevice | None] = {}
        self._uses: dict[int, dict[str, TensorEvidence]] = {}
        self._contra: dict[int, set[str]] = {}
        self._contra_only: dict[int, set[str]] = {}  # functions only asked what they show is no tensor

    @property
    def summary(self) -> ModuleSummary | None:
        """This module's own summary, from CPython's parse of the whole file (the prefilter may have kept
        only part of it from LibCST): computed the first time a rule needs it."""
        if self._summary is None and self._summary_factory is not None:
            self._summary = self._summary_factory()
            self._summary_factory = None
        return self._summary

    # -- names ---------------------------------------------------------------------------------------
    def lookup(self, name: str, fn: FunctionFacts, seq: int) -> tuple[FunctionFacts, Binding | cst.Param] | None:
        """What `name` refers to at event `seq` of `fn`: a binding or a parameter, searching enclosing
        functions (as they stand when the inner one runs) and finally the module."""
        found = self.lookup_all(name, fn, seq)
        return (found[0], found[1][0]) if found is not None else None

    def lookup_all(self, name: str, fn: FunctionFacts,
                   seq: int) -> tuple[FunctionFacts, list[Binding | cst.Param]] | None:
        """Like `lookup`, with every binding that may hold there (if/else branches), latest first."""
        current: FunctionFacts | None = fn
        at = seq
        while current is not None:
            if current.binds(name):
                reaching: list[Binding | cst.Param] = list(current.bindings_reaching(name, at))
                if reaching:
                    if name in current.params and _may_fall_through(reaching, current):
                        reaching.append(current.params[name])
                    return current, reaching
                if name in current.params:
                    return current, [current.params[name]]
                return None
            current = current.parent
            at = END_OF_FUNCTION
        return None

    def is_self(self, expr: cst.BaseExpression, fn: FunctionFacts) -> bool:
        return fn.self_name is not None and isinstance(expr, cst.Name) and expr.value == fn.self_name \
            and not fn.bindings.get(fn.self_name)

    # -- torch names ---------------------------------------------------------------------------------
    def torch_function(self, call: cst.Call, fn: FunctionFacts) -> str | None:
        """`arange` for `torch.arange(...)`/`th.arange(...)`/`ar(...)`; a dotted tail for submodules
        (`nn.functional.softmax`); None if the callee is not torch."""
        qualified = fn.scope.qualified_name(call.func)
        if qualified is None or not qualified.startswith("torch."):
            return None
        return qualified[len("torch."):]

    def factory_kind(self, call: cst.Call, fn: FunctionFacts) -> FactoryKind | None:
        name = self.torch_function(call, fn)
        if name in TORCH_FACTORIES:
            return FactoryKind.FACTORY
        if name in LIKE_FACTORIES:
            return FactoryKind.LIKE
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in NEW_METHODS and name is None:
            return FactoryKind.NEW
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

    def device_argument(self, call: cst.Call, fn: FunctionFacts) -> cst.Arg | None:
        """The argument that gives a factory call its device: `device=`, or its positional slot."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "device":
                return arg
        slot = POSITIONAL_DEVICE_SLOT.get(self.torch_function(call, fn) or "")
        if slot is not None:
            positional = [a for a in call.args if a.keyword is None and not a.star]
            if len(positional) > slot:
                return positional[slot]
        return None

    # -- the resolver --------------------------------------------------------------------------------
    def value_of(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int, depth: int = 0) -> Value:
        key = (id(fn), id(expr), seq)
        entry = self._memo.get(key)
        if entry is not None:
            return entry[1]
        if depth > self.MAX_DEPTH:
            return UNKNOWN
        # The entry holds the expression itself: a node made on the fly (a carrier `cst.Name`) stays alive
        # while its answer is kept, so no later node can reuse its id and receive that answer.
        self._memo[key] = (expr, UNKNOWN)  # cycle guard
        found = self._resolve(expr, fn, seq, depth + 1)
        self._memo[key] = (expr, found)
        return found

    def _resolve(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int, depth: int) -> Value:
        if isinstance(expr, cst.Name):
            return self._name(expr, fn, seq, depth)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, fn, seq, depth)
        if isinstance(expr, cst.Call):
            return self._call(expr, fn, seq, depth)
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            found = self._string(expr)
            if found.platform is not None and self._guarded(expr, fn):
                return Value(origin=DeviceOrigin.PLACED)  # `if current_platform.is_xpu(): ... device="xpu"`
            return found
        if isinstance(expr, cst.FormattedString):
            return self._formatted(expr, fn, seq, depth)
        if isinstance(expr, cst.Subscript):
            return self._subscript(expr, fn, seq, depth)
        if isinstance(expr, (cst.BinaryOperation, cst.Comparison)):
            operands = [expr.left, expr.right] if isinstance(expr, cst.BinaryOperation) else \
                [expr.left, *(c.comparator for c in expr.comparisons)]
            return self._first_tensor(operands, fn, seq, depth) or UNKNOWN  # `a + b`: on its tensor's device
        if isinstance(expr, cst.UnaryOperation):
            if isinstance(expr.operator, cst.Not):
                return UNKNOWN
            return self.value_of(expr.expression, fn, seq, depth)
        if isinstance(expr, cst.IfExp):
            return self._choice(expr, fn, seq, depth)
        if isinstance(expr, cst.NamedExpr):
            return self.value_of(expr.value, fn, seq, depth)
        return UNKNOWN

    def _guarded(self, literal: cst.SimpleString | cst.ConcatenatedString, fn: FunctionFacts) -> bool:
        """The literal sits in the body of an `if` that checks for that very platform."""
        try:
            value = literal.evaluated_value
        except (cst.CSTValidationError, ValueError, TypeError):
            return False
        if not isinstance(value, str):
            return False
        word = value.split(":", 1)[0]
        current: FunctionFacts | None = fn
        while current is not None:
            for _, branch in current.ifs:
                if word in _guard_words(branch.test) and contains_node(branch.body, literal):
                    return True
            if value == word:  # `with torch.cuda.device(x.device): ... device="cuda"`: "cuda" is x's GPU there
                for block in current.withs:
                    if any(self._selects_device(item.item, word, current) for item in block.items) \
                            and contains_node(block.body, literal):
                        return True
            current = current.parent
        return False

    @staticmethod
    def _selects_device(expr: cst.BaseExpression, word: str, fn: FunctionFacts) -> bool:
        """`torch.cuda.device(i)` / `torch.cuda.device_of(x)`: a context that picks which `word` device is meant."""
        return isinstance(expr, cst.Call) and fn.scope.qualified_name(expr.func) in (
            f"torch.{word}.device", f"torch.{word}.device_of")

    # -- strings: device words -----------------------------------------------------------------------
    def _string(self, expr: cst.SimpleString | cst.ConcatenatedString) -> Value:
        try:
            value = expr.evaluated_value
        except (cst.CSTValidationError, ValueError, TypeError):
            return UNKNOWN  # `"a" b"b"`: not a valid concatenation, so no device either
        if isinstance(value, str):
            if self.string_pattern.fullmatch(value):
                return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(expr))
            return Value(origin=DeviceOrigin.PLACED)  # "cpu", "meta": a device chosen on purpose
        return UNKNOWN

    def _formatted(self, expr: cst.FormattedString, fn: FunctionFacts, seq: int, depth: int) -> Value:
        if not expr.parts:
            return UNKNOWN
        first = expr.parts[0]
        if isinstance(first, cst.FormattedStringText):
            word = first.value.split(":", 1)[0]
            if self.string_pattern.fullmatch(word) and (first.value == word or first.value.startswith(word + ":")):
                return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(expr))
            return Value(origin=DeviceOrigin.PLACED)
        if isinstance(first, cst.FormattedStringExpression):
            inner = self.value_of(first.expression, fn, seq, depth)
            if inner.platform is not None:
                platform = inner.platform if inner.platform.alias is not None else \
                    dataclasses.replace(inner.platform, origin=expr)
                return Value(origin=DeviceOrigin.PLATFORM, platform=platform)
        return UNKNOWN

    def _choice(self, expr: cst.IfExp, fn: FunctionFacts, seq: int, depth: int) -> Value:
        body, orelse = self.value_of(expr.body, fn, seq, depth), self.value_of(expr.orelse, fn, seq, depth)
        for side in (body, orelse):
            if not side.is_tensor and side.origin is DeviceOrigin.SIBLING:
                # `lens.device if lens is not None else "cuda"`: follows the tensor whenever there is one.
                return side
        platform = body.platform or orelse.platform
        if platform is not None:
            return Value(origin=DeviceOrigin.PLATFORM, platform=dataclasses.replace(platform, conditional=True))
        for side in (body, orelse):
            if side.is_tensor:
                return side
        return body if body.origin is not DeviceOrigin.UNKNOWN else orelse

    # -- names ---------------------------------------------------------------------------------------
    def _name(self, expr: cst.Name, fn: FunctionFacts, seq: int, depth: int) -> Value:
        found = self.lookup_all(expr.value, fn, seq)
        if found is None:
            return self._imported(expr.value, fn)
        owner, bindings = found
        values = [self._binding_value(expr, owner, binding, depth) for binding in bindings]
        if len(values) == 1:
            return values[0]
        return self._merge(values)

    def _merge(self, values: list[Value]) -> Value:
        """One value for a name bound differently in the branches of an `if`."""
        platforms = [v.platform for v in values if v.platform is not None]
        if platforms:
            conditional = len(platforms) < len(values) or any(p.conditional for p in platforms)
            tensor = next((v.tensor for v in values if v.tensor is not None), None)
            return dataclasses.replace(values[0] if values[0].platform else
                                       next(v for v in values if v.platform is not None),
                                       tensor=tensor, platform=dataclasses.replace(platforms[0], conditional=conditional))
        return next((v for v in values if v.is_tensor), values[0])

    def _binding_value(self, expr: cst.Name, owner: FunctionFacts, binding: Binding | cst.Param,
                       depth: int) -> Value:
        if isinstance(binding, cst.Param):
            return self._parameter(expr.value, owner, binding)
        if binding.annotation is not None and self.is_tensor_annotation(binding.annotation, owner):
            return Value(tensor=TensorEvidence(EvidenceKind.ANNOTATION, f"annotated `{code_of(binding.annotation)}`",
                                               binding.node), carrier=expr, origin=DeviceOrigin.UNKNOWN)
        if binding.element_of is not None:
            return self._element(expr, owner, binding, depth)
        if binding.value is None or binding.value is expr or isinstance(binding.node, (cst.FunctionDef, cst.ClassDef)):
            # A loop variable, a `with ... as` target, an exception: known only by how it is used.
            used = self._used_as_tensor(expr.value, owner)
            if used is not None:
                return Value(tensor=used, carrier=expr, origin=DeviceOrigin.UNKNOWN)
            return UNKNOWN
        if _is_builtin_scalar(binding.value, owner):
            return UNKNOWN  # `n = float(x)`: a Python number, however it is used afterwards
        inner = self.value_of(binding.value, owner, binding.seq, depth)
        if inner.platform is not None and inner.platform.alias is None:
            inner = dataclasses.replace(inner, platform=dataclasses.replace(
                inner.platform, alias=expr.value, alias_node=binding.node))
        if inner.is_tensor:
            return dataclasses.replace(inner, carrier=expr)
        if inner is UNKNOWN or inner.handed:
            used = self._used_as_tensor(expr.value, owner)
            if used is not None:
                return Value(tensor=used, carrier=expr, origin=inner.origin)
        return inner

    def _element(self, expr: cst.Name, owner: FunctionFacts, binding: Binding, depth: int) -> Value:
        container = binding.element_of
        assert container is not None
        if isinstance(container, (cst.Tuple, cst.List)) and binding.index is not None:
            elements = container.elements
            if binding.index < len(elements) and not isinstance(elements[binding.index], cst.StarredElement):
                return self._binding_value(expr, owner, dataclasses.replace(
                    binding, value=elements[binding.index].value, element_of=None), depth)
            return UNKNOWN
        inner = self.value_of(container, owner, binding.seq, depth)
        if inner.sequence and inner.tensor is not None:
            return dataclasses.replace(inner, sequence=False, carrier=expr, tensor=TensorEvidence(
                EvidenceKind.DERIVED, f"unpacked from `{code_of(container)}`", binding.node,
                by_use=_weak(inner.tensor)))
        used = self._used_as_tensor(expr.value, owner)
        if used is not None:
            return Value(tensor=used, carrier=expr, origin=inner.origin if inner.handed else DeviceOrigin.UNKNOWN)
        return UNKNOWN

    def _parameter(self, name: str, owner: FunctionFacts, param: cst.Param) -> Value:
        carrier = cst.Name(name)
        if param.annotation is not None and self.is_tensor_annotation(param.annotation.annotation, owner):
            optional = _optional(param.annotation.annotation) or (
                isinstance(param.default, cst.Name) and param.default.value == "None")
            return Value(tensor=TensorEvidence(EvidenceKind.ANNOTATION,
                                               f"annotated `{code_of(param.annotation.annotation)}`", param,
                                               optional=optional),
                         origin=DeviceOrigin.CALLER, carrier=carrier, received=True)
        if param.annotation is not None:
            return Value(origin=DeviceOrigin.CALLER, received=True)  # `theta: float`: the annotation says what it is
        used = self._used_as_tensor(name, owner)
        if used is not None:
            return Value(tensor=used, origin=DeviceOrigin.CALLER, carrier=carrier, received=True)
        return Value(origin=DeviceOrigin.CALLER, received=True)

    def _imported(self, name: str, fn: FunctionFacts) -> Value:
        """A module-level name this module imports or defines where the analysis cannot see its value
        (a function blanked out by the prefilter, a name from another module of the package)."""
        qualified = fn.scope.qualified_of_name(name)
        if qualified is not None and self.project is not None:
            platform = self.project.platform_constant(qualified)
            if platform is not None:
                return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(
                    cst.Name(name), alias=name, note=platform))
        return UNKNOWN

    # -- attributes ----------------------------------------------------------------------------------
    def _attribute(self, expr: cst.Attribute, fn: FunctionFacts, seq: int, depth: int) -> Value:
        platform = self._platform_signature(expr, fn)
        if platform is not None:
            return Value(origin=DeviceOrigin.PLATFORM, platform=platform)
        attr = expr.attr.value
        if self.is_self(expr.value, fn):
            if fn.cls is None:
                return UNKNOWN
            here = self._placed_here(expr, attr, fn, seq, depth)
            if here is not None:
                return here
            value = self.attr_value(fn.cls, attr)
            if value.is_tensor or value.platform is not None:
                return dataclasses.replace(value, carrier=expr) if value.is_tensor else value
            if self._assigned_a_non_tensor(fn.cls, attr):
                return value  # `self.config = config`, where `config.hidden_size` is read: a config
            used = self._used_as_tensor(code_of(expr), fn)
            if used is not None:
                assignments = [a for c in self.facts.class_chain(fn.cls) for a in c.attr_assignments.get(attr, ())]
                return Value(tensor=used, carrier=expr, received=True, origin=self._attr_origin(assignments))
            return value
        if attr == "device":
            inner = self.value_of(expr.value, fn, seq, depth)
            if inner.is_tensor:
                return Value(origin=DeviceOrigin.SIBLING, carrier=inner.carrier or expr.value,
                             received=inner.received)
            return UNKNOWN
        if attr in TENSOR_ATTRIBUTES:
            inner = self.value_of(expr.value, fn, seq, depth)
            if inner.is_tensor:
                return inner
        # `batch.seq_lens`: a field of a class we know, or used as a tensor here.
        field_evidence = self._field(expr, fn, seq, depth)
        if field_evidence is not None:
            return Value(tensor=field_evidence, carrier=expr, received=True)
        used = self._used_as_tensor(code_of(expr), fn)
        if used is not None:
            return Value(tensor=used, carrier=expr, received=True)
        return UNKNOWN

    def _placed_here(self, expr: cst.Attribute, attr: str, fn: FunctionFacts, seq: int, depth: int) -> Value | None:
        """`self.<attr>` just set by this function to a tensor it placed (`self.table = torch.full(...,
        device=device)`, then `self.table[a:b] = torch.arange(..., device=device)`): that placement, whatever
        other methods assign."""
        binding = fn.dominating_attr_binding(attr, seq, expr)
        if binding is None or binding.value is None:
            return None
        value = self.value_of(binding.value, fn, binding.seq, depth)
        if not value.placed:
            return None
        if not value.is_tensor:
            used = self._used_as_tensor(code_of(expr), fn)
            if used is None:
                return None
            value = dataclasses.replace(value, tensor=used)
        return dataclasses.replace(value, carrier=expr)

    def _field(self, expr: cst.Attribute, fn: FunctionFacts, seq: int, depth: int) -> TensorEvidence | None:
        if not isinstance(expr.value, cst.Name):
            return None
        found = self.lookup(expr.value.value, fn, seq)
        annotation: cst.BaseExpression | None = None
        owner = fn
        if found is not None:
            owner, binding = found
            if isinstance(binding, cst.Param) and binding.annotation is not None:
                annotation = binding.annotation.annotation
            elif isinstance(binding, Binding) and binding.annotation is not None:
                annotation = binding.annotation
        if annotation is None:
            return None
        class_name = _class_of_annotation(annotation)
        if class_name is None:
            return None
        attr = expr.attr.value
        local = self.facts.classes.get(class_name)
        if local is not None:
            for current in self.facts.class_chain(local):
                if attr in current.annotated_tensor_attrs:
                    return TensorEvidence(EvidenceKind.FIELD, f"a field of `{class_name}` annotated as a tensor",
                                          current.node)
        if self.summary is not None and attr in self.summary.tensor_fields.get(class_name, ()):
            return TensorEvidence(EvidenceKind.FIELD, f"a field of `{class_name}` annotated as a tensor",
                                  line=self.summary.class_lines.get(class_name))
        qualified = owner.scope.qualified_name(cst.Name(class_name)) if "." not in class_name else None
        if qualified is not None and self.project is not None and self.project.tensor_field(qualified, attr):
            return TensorEvidence(EvidenceKind.FIELD, f"a field of `{qualified}` annotated as a tensor")
        return None

    def attr_value(self, cls: ClassFacts, attr: str) -> Value:
        """What `self.<attr>` holds in methods of `cls`: a tensor (a buffer, an annotated attribute, or every
        assignment a tensor), or a platform device (the constructor's last assignment names one)."""
        key = (id(cls), attr)
        if key in self._attr_memo:
            return self._attr_memo[key]
        self._attr_memo[key] = UNKNOWN  # cycle guard: `self.a = self.a * 2`
        result = self._compute_attr_value(cls, attr)
        self._attr_memo[key] = result
        return result

    def _compute_attr_value(self, cls: ClassFacts, attr: str) -> Value:
        chain = self.facts.class_chain(cls)
        assignments = [a for c in chain for a in c.attr_assignments.get(attr, ())]
        for current in chain:
            if attr in current.buffers:
                return Value(tensor=TensorEvidence(EvidenceKind.MODULE_STATE, "a registered buffer or parameter",
                                                   current.buffers[attr]),
                             origin=self._attr_origin(assignments), received=True)
            if attr in current.annotated_tensor_attrs:
                return Value(tensor=TensorEvidence(EvidenceKind.ANNOTATION, "an attribute annotated as a tensor",
                                                   current.node),
                             origin=self._attr_origin(assignments), received=True)
        tensor: TensorEvidence | None = None
        for assignment in assignments:
            if assignment.value is None:
                continue
            value = self.value_of(assignment.value, assignment.function, assignment.seq)
            if value.is_tensor:
                tensor = value.tensor
                break
        if tensor is not None:
            return Value(tensor=tensor, origin=self._attr_origin(assignments), received=True)
        platform = self.platform_attr(cls, attr)
        if platform is not None:
            return Value(origin=DeviceOrigin.PLATFORM, platform=platform)
        return Value(received=True)

    def _assigned_a_non_tensor(self, cls: ClassFacts, attr: str) -> bool:
        """Some assignment `self.<attr> = name` takes a parameter that its function shows is no tensor."""
        for current in self.facts.class_chain(cls):
            for assignment in current.attr_assignments.get(attr, ()):
                value = assignment.value
                if isinstance(value, cst.Name) and value.value in assignment.function.params:
                    function = assignment.function
                    if value.value in self._contra_of(function):
                        return True
        return False

    def _attr_origin(self, assignments: list) -> DeviceOrigin:
        """PLACED when every assignment places its tensor on purpose (a device the code chose)."""
        # `self.cache = None` holds no tensor: where the attribute is one, it is what the others assigned.
        assignments = [a for a in assignments if not (isinstance(a.value, cst.Name) and a.value.value == "None")]
        if assignments and all(a.value is not None and self.value_of(a.value, a.function, a.seq).placed
                               for a in assignments):
            return DeviceOrigin.PLACED
        return DeviceOrigin.UNKNOWN

    def platform_attr(self, cls: ClassFacts, attr: str) -> PlatformDevice | None:
        """`self.<attr>` names the platform device when the constructor's last assignment to it does and no
        other method sets it to something else. A constructor parameter whose default is a platform device
        counts (`def __init__(self, device="cuda")` then `self.device = device`)."""
        key = (id(cls), attr)
        if key in self._platform_attr_memo:
            return self._platform_attr_memo[key]
        self._platform_attr_memo[key] = None
        assignments = [a for c in self.facts.class_chain(cls) for a in c.attr_assignments.get(attr, ())]
        constructor = [a for a in assignments if a.function.name == "__init__"]
        others = [a for a in assignments if a.function.name != "__init__"]
        result: PlatformDevice | None = None
        last = max(constructor, key=lambda a: a.seq) if constructor else None
        if last is not None and last.value is not None:
            found = self._assigned_platform(last.value, last.function, last.seq)
            if found is not None and all(
                    a.value is not None and self._assigned_platform(a.value, a.function, a.seq) is not None
                    for a in others):
                result = dataclasses.replace(found, alias=f"self.{attr}", alias_node=last.node) \
                    if found.alias is None or not found.alias.startswith("self.") else found
        elif others and all(a.value is not None and self._assigned_platform(a.value, a.function, a.seq) is not None
                            for a in others):
            first = others[0]
            found = self._assigned_platform(first.value, first.function, first.seq)  # type: ignore[arg-type]
            if found is not None:
                result = dataclasses.replace(found, alias=f"self.{attr}", alias_node=first.node)
        self._platform_attr_memo[key] = result
        return result

    def _assigned_platform(self, value: cst.BaseExpression, fn: FunctionFacts, seq: int) -> PlatformDevice | None:
        found = self.value_of(value, fn, seq).platform
        if found is None and isinstance(value, cst.Name):
            found = self._param_default(value, fn)
        return found

    def _param_default(self, name: cst.Name, fn: FunctionFacts) -> PlatformDevice | None:
        param = fn.params.get(name.value)
        if param is None or param.default is None or fn.binding_before(name.value, END_OF_FUNCTION):
            return None
        return self.value_of(param.default, fn.parent or fn, 0).platform

    def _platform_signature(self, expr: cst.BaseExpression, fn: FunctionFacts) -> PlatformDevice | None:
        """A platform-device table entry (`current_platform.device_type`, `get_accelerator().device_name()`),
        also read through an attribute that continues from it (`current_accelerator().type`)."""
        node = expr
        while True:
            resolved, written = expression_signature(node, fn.scope)
            if matches_signature(resolved, written, self.facts.table.signatures):
                return PlatformDevice(expr)
            if isinstance(node, cst.Attribute) and node.attr.value in ("device", "device_type", "type") \
                    and node is expr:
                node = node.value
                continue
            return None

    # -- calls ---------------------------------------------------------------------------------------
    def _call(self, expr: cst.Call, fn: FunctionFacts, seq: int, depth: int) -> Value:
        platform = self._platform_signature(expr, fn)
        if platform is not None:
            return Value(origin=DeviceOrigin.PLATFORM, platform=platform)
        func = expr.func
        torch_name = self.torch_function(expr, fn)
        if torch_name is not None:
            found = self._torch_call(expr, torch_name, fn, seq, depth)
        elif isinstance(func, cst.Attribute):
            found = self._method_call(expr, func, fn, seq, depth)
        elif isinstance(func, cst.Name):
            found = self._function_call(expr, func, fn, seq, depth)
        else:
            found = UNKNOWN
        if found is UNKNOWN and self._handed_a_device(expr, fn, seq, depth):
            return _HANDED
        return found

    def _handed_a_device(self, expr: cst.Call, fn: FunctionFacts, seq: int, depth: int) -> bool:
        """A call whose result the code put on a device it chose: one handed `device=` a platform device or
        a placement (`_coefficients(w, n, device=dev)`, `symm_mem.empty(n, device=dev)`), a platform device
        as an argument, or a move of a value not known to be a tensor (`meta.lens_cpu.npu()`,
        `obj.buf.to("cpu")`). Not a device the caller passed: that one is the caller's to match."""
        func = expr.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if method is not None and method in self.facts.table.device_types:
            return True
        for position, arg in enumerate(expr.args):
            if arg.star or (arg.keyword is not None and arg.keyword.value != "device"):
                continue
            value = self.value_of(arg.value, fn, seq, depth)
            if value.is_tensor:
                continue
            if value.platform is not None:
                return True
            if value.origin is DeviceOrigin.PLACED and (
                    arg.keyword is not None or method == "to" and position == 0 and self._names_a_device(arg, value)):
                return True
        return False

    def _torch_call(self, expr: cst.Call, name: str, fn: FunctionFacts, seq: int, depth: int) -> Value:
        if name == "device":
            if expr.args and (expr.args[0].keyword is None or expr.args[0].keyword.value == "type"):
                inner = self.value_of(expr.args[0].value, fn, seq, depth)
                if inner.platform is not None:
                    platform = inner.platform if inner.platform.alias is not None else \
                        dataclasses.replace(inner.platform, origin=expr)
                    return Value(origin=DeviceOrigin.PLATFORM, platform=platform)
                return dataclasses.replace(inner, tensor=None)
            return UNKNOWN
        evidence = TensorEvidence(EvidenceKind.TORCH_RESULT, f"returned by `torch.{name}`", expr)
        legacy = _LEGACY_TENSOR_TYPE.fullmatch(name)
        if legacy is not None:  # `torch.cuda.LongTensor(...)`: placed by its type; `torch.LongTensor`: the CPU
            word = legacy.group(1)
            if word is not None and word in self.facts.table.device_types:
                return Value(tensor=evidence, origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(expr))
            return Value(tensor=evidence, origin=DeviceOrigin.PLACED)
        kind = self.factory_kind(expr, fn)
        if kind is FactoryKind.FACTORY:
            device = self.device_argument(expr, fn)
            if device is None:
                return Value(tensor=evidence, origin=DeviceOrigin.AMBIENT)
            placed = self.value_of(device.value, fn, seq, depth)
            return self._placed_at(evidence, placed)
        if kind is FactoryKind.LIKE:
            device = self.device_argument(expr, fn)
            source = expr.args[0].value if expr.args and not expr.args[0].star else None
            if device is not None:
                return self._placed_at(evidence, self.value_of(device.value, fn, seq, depth))
            inner = self.value_of(source, fn, seq, depth) if source is not None else UNKNOWN
            if inner.placed:  # `torch.empty_like(x)` of an `x` the code placed: placed there too
                return Value(tensor=evidence, origin=inner.origin, platform=inner.platform)
            return Value(tensor=evidence, origin=DeviceOrigin.SIBLING, carrier=inner.carrier, received=inner.received)
        if name in SEQUENCE_TORCH:
            first = self._first_tensor(list(flatten_operands(expr.args)), fn, seq, depth)
            return Value(tensor=evidence, sequence=True, origin=first.origin if first else DeviceOrigin.UNKNOWN,
                         carrier=first.carrier if first else None)
        if not self.returns_tensor(expr, fn):
            return UNKNOWN
        if f"torch.{name}" in TENSOR_CLASSES:
            inner = self.value_of(expr.args[0].value, fn, seq, depth) if expr.args else UNKNOWN
            return dataclasses.replace(inner, tensor=TensorEvidence(EvidenceKind.MODULE_STATE,
                                                                    f"wrapped in `torch.{name}`", expr)) \
                if inner.is_tensor else Value(tensor=evidence)
        first = self._first_tensor(list(flatten_operands(expr.args)), fn, seq, depth)
        if first is None:
            return Value(tensor=evidence)
        return Value(tensor=evidence, origin=first.origin, platform=first.platform, carrier=first.carrier,
                     received=first.received)

    def _placed_at(self, evidence: TensorEvidence, device: Value) -> Value:
        if device.platform is not None:
            return Value(tensor=evidence, origin=DeviceOrigin.PLATFORM, platform=device.platform)
        if device.origin is DeviceOrigin.SIBLING:
            return Value(tensor=evidence, origin=DeviceOrigin.SIBLING, carrier=device.carrier, received=device.received)
        return Value(tensor=evidence, origin=DeviceOrigin.PLACED)

    def _first_tensor(self, operands: list[cst.BaseExpression], fn: FunctionFacts, seq: int,
                      depth: int) -> Value | None:
        for operand in operands:
            value = self.value_of(operand, fn, seq, depth)
            if value.is_tensor:
                return value
        return None

    def _method_call(self, expr: cst.Call, func: cst.Attribute, fn: FunctionFacts, seq: int, depth: int) -> Value:
        method = func.attr.value
        receiver = func.value
        if self.is_self(receiver, fn) and fn.cls is not None:
            found = self.facts.find_method(fn.cls, method)
            if found is not None:
                if found.returns is not None and self.is_tensor_annotation(found.returns, found):
                    placed = self._returns_placed(found)
                    return Value(tensor=TensorEvidence(EvidenceKind.RETURN_ANNOTATION,
                                                       f"returned by `self.{method}()`, annotated "
                                                       f"`{code_of(found.returns)}`", found.node,
                                                       optional=_optional(found.returns)),
                                 origin=placed.origin if placed is not None else DeviceOrigin.UNKNOWN,
                                 platform=placed.platform if placed is not None else None)
                return UNKNOWN
            if self.summary is not None and method in self.summary.tensor_methods.get(fn.cls.name, ()):
                return Value(tensor=TensorEvidence(EvidenceKind.RETURN_ANNOTATION,
                                                   f"returned by `self.{method}()`, annotated as a tensor"))
            layer = self._module_attr(fn.cls, method)
            if layer is not None and (layer.startswith("torch.nn.") and layer.rsplit(".", 1)[-1] not in _TUPLE_LAYERS
                                      or any(self.value_of(a.value, fn, seq, depth).is_tensor
                                             for a in expr.args if not a.star and a.keyword is None)):
                return Value(tensor=TensorEvidence(EvidenceKind.MODULE_CALL,
                                                   f"the output of `self.{method}`, a `{layer.removeprefix('torch.nn.')}`",
                                                   expr))
            return UNKNOWN
        if method in SEQUENCE_METHODS or method in NON_TENSOR_METHODS:
            inner = self.value_of(receiver, fn, seq, depth)
            if method in SEQUENCE_METHODS and inner.is_tensor:
                return dataclasses.replace(inner, sequence=True, carrier=inner.carrier)
            return UNKNOWN
        if method == "format" and isinstance(receiver, (cst.SimpleString, cst.FormattedString)):
            inner = self.value_of(receiver, fn, seq, depth)  # `"cuda:{}".format(rank)`
            return Value(origin=inner.origin, platform=inner.platform)
        inner = self.value_of(receiver, fn, seq, depth)
        if not inner.is_tensor:
            return UNKNOWN  # a method of something not known to be a tensor
        evidence = TensorEvidence(EvidenceKind.TENSOR_METHOD,
                                  f"returned by `.{method}()` of the tensor `{code_of(receiver)}`", expr,
                                  by_use=_weak(inner.tensor))
        if method in MOVING_METHODS:
            return self._move(expr, method, inner, evidence, fn, seq, depth)
        return dataclasses.replace(inner, tensor=evidence)

    def _move(self, expr: cst.Call, method: str, inner: Value, evidence: TensorEvidence, fn: FunctionFacts,
              seq: int, depth: int) -> Value:
        if method in self.facts.table.device_types:
            return Value(tensor=evidence, origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(expr))
        if method != "to":
            return Value(tensor=evidence, origin=DeviceOrigin.PLACED)
        for position, arg in enumerate(expr.args):
            if arg.keyword is not None and arg.keyword.value != "device":
                continue
            if arg.keyword is None and position > 0:
                break
            target = self.value_of(arg.value, fn, seq, depth)
            if target.platform is not None:
                return Value(tensor=evidence, origin=DeviceOrigin.PLATFORM, platform=target.platform)
            if target.is_tensor:  # `.to(other)`: other's device and dtype
                return Value(tensor=evidence, origin=DeviceOrigin.SIBLING, carrier=target.carrier)
            if target.origin is DeviceOrigin.SIBLING:
                return Value(tensor=evidence, origin=DeviceOrigin.SIBLING, carrier=target.carrier)
            if self._names_a_device(arg, target):
                return Value(tensor=evidence, origin=DeviceOrigin.PLACED)
        return dataclasses.replace(inner, tensor=inner.tensor or evidence)

    @staticmethod
    def _names_a_device(arg: cst.Arg, target: Value) -> bool:
        """`.to("cpu")`, `.to(device=d)`, `.to(torch.device(...))`, `.to(self.device)`, `.to(dev)`: a device
        chosen by the code; not `.to(torch.float16)`."""
        if arg.keyword is not None:
            return True
        value = arg.value
        if isinstance(value, (cst.SimpleString, cst.FormattedString)) or target.origin is DeviceOrigin.PLACED:
            return True
        if isinstance(value, cst.Call):
            return dotted_name(value.func) in ("torch.device", "device")
        name = dotted_name(value)
        return name is not None and "device" in name.rsplit(".", 1)[-1].lower()

    def _function_call(self, expr: cst.Call, func: cst.Name, fn: FunctionFacts, seq: int, depth: int) -> Value:
        """A call of a function of this module or of another module of the package."""
        name = func.value
        if name in _BUILTINS and fn.scope.qualified_of_name(name) is None and self.lookup(name, fn, seq) is None:
            return UNKNOWN
        found = self.lookup(name, fn, seq)
        if found is not None:
            owner, binding = found
            if isinstance(binding, Binding) and isinstance(binding.node, cst.FunctionDef):
                defined = binding.node
                if defined.returns is not None and self.is_tensor_annotation(defined.returns.annotation, owner):
                    return Value(tensor=TensorEvidence(EvidenceKind.RETURN_ANNOTATION,
                                                       f"returned by `{name}()`, annotated "
                                                       f"`{code_of(defined.returns.annotation)}`", defined,
                                                       optional=_optional(defined.returns.annotation)))
                platform = self._platform_helper_local(name)
                if platform is not None:
                    return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(
                        expr, note=f"`{name}()` {platform}",
                        conditional=self.summary is not None and name in self.summary.cpu_choices))
                return UNKNOWN
            if not (owner.is_module and isinstance(binding, Binding) and binding.value is None):
                return UNKNOWN
        if self.summary is not None and fn.scope.qualified_of_name(name) is None:
            if name in self.summary.tensor_functions:
                annotation, line = self.summary.annotations.get(name, ("torch.Tensor", 0))
                return Value(tensor=TensorEvidence(EvidenceKind.RETURN_ANNOTATION,
                                                   f"returned by `{name}()`, annotated `{annotation}`",
                                                   line=line or None,
                                                   optional="Optional" in annotation or "None" in annotation))
            note = self.summary.platform_helpers.get(name)
            if note is not None:
                return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(
                    expr, note=f"`{name}()` {note}", conditional=name in self.summary.cpu_choices))
        qualified = fn.scope.qualified_of_name(name)
        if qualified is not None and self.project is not None:
            if self.project.returns_tensor(qualified):
                return Value(tensor=TensorEvidence(EvidenceKind.RETURN_ANNOTATION,
                                                   f"returned by `{qualified}()`, annotated as a tensor"))
            helper = self.project.platform_helper(qualified)
            if helper is not None:
                return Value(origin=DeviceOrigin.PLATFORM, platform=PlatformDevice(expr, note=helper[0],
                                                                                   conditional=helper[1]))
        return UNKNOWN

    def _returns_placed(self, method: FunctionFacts) -> Value | None:
        """When every value the method returns was placed by the code (`torch.arange(..., device=self.device)`
        and what is computed from it), that placement; its result is then no sibling to follow either."""
        if not method.return_values:
            return None
        found: Value | None = None
        for seq, expr in method.return_values:
            value = self.value_of(expr, method, seq)
            if not value.placed:
                return None
            found = found or value
        return found

    def _module_attr(self, cls: ClassFacts, attr: str) -> str | None:
        """The layer class `self.<attr>` is built from, when it is an `nn.Module` (`nn.Linear(...)`, a module
        class of this file or package)."""
        for current in self.facts.class_chain(cls):
            for assignment in current.attr_assignments.get(attr, ()):
                value = assignment.value
                if not isinstance(value, cst.Call):
                    continue
                scope = assignment.function.scope
                qualified = scope.qualified_name(value.func)
                if qualified is not None and qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[-1][:1].isupper():
                    return qualified
                local = dotted_name(value.func)
                if local in self.facts.classes and self._is_module_class(self.facts.classes[local]):
                    return local
                if self.summary is not None and local in self.summary.module_classes:
                    return local
                if qualified is not None and self.project is not None and self.project.is_module_class(qualified):
                    return code_of(value.func)
        return None

    def _is_module_class(self, cls: ClassFacts) -> bool:
        scope = self.facts.module_function.scope
        return any((scope.qualified_name(base) or "").startswith("torch.nn.")
                   for current in self.facts.class_chain(cls) for base in current.bases) or \
            (self.summary is not None and cls.name in self.summary.module_classes)

    def _platform_helper_local(self, name: str) -> str | None:
        if self.summary is None:
            return None
        return self.summary.platform_helpers.get(name)

    # -- subscripts and operators --------------------------------------------------------------------
    def _subscript(self, expr: cst.Subscript, fn: FunctionFacts, seq: int, depth: int) -> Value:
        inner = self.value_of(expr.value, fn, seq, depth)
        if inner.is_tensor and not inner.sequence:
            return dataclasses.replace(inner, tensor=TensorEvidence(
                EvidenceKind.DERIVED, f"indexes the tensor `{code_of(expr.value)}`", expr,
                by_use=_weak(inner.tensor)))
        if inner.is_tensor and inner.sequence:
            # One tensor of several: the element itself carries the device (`parts[0].device`).
            return dataclasses.replace(inner, sequence=False, carrier=expr, tensor=TensorEvidence(
                EvidenceKind.DERIVED, f"an element of `{code_of(expr.value)}`", expr, by_use=_weak(inner.tensor)))
        used = self._used_as_tensor(code_of(expr), fn)
        if used is not None:
            return Value(tensor=used, carrier=expr, received=inner.received or inner.origin is DeviceOrigin.CALLER)
        return UNKNOWN

    # -- tensor evidence from use --------------------------------------------------------------------
    def _used_as_tensor(self, text: str, fn: FunctionFacts) -> TensorEvidence | None:
        """Evidence that `text` (a parameter, loop variable, `obj.attr` or `info[2]`) is a tensor from how
        `fn` uses it: a tensor-only attribute or method, or the tensor operand of a torch function. A
        callable, or something with module methods (`.parameters()`, `.eval()`), is no tensor."""
        uses = self._uses.get(id(fn))
        if uses is None:
            uses, contra = self._collect_uses(fn)
            self._uses[id(fn)] = uses
            self._contra[id(fn)] = contra
        if text in self._contra[id(fn)] or text == fn.self_name or text in ("self", "cls"):
            return None  # `self.dtype` says nothing about `self`
        if fn.self_name is not None and fn.cls is not None and text.startswith(fn.self_name + "."):
            # `self.config.dtype` here, `self.config.hidden_size` in another method: no tensor either.
            tail = text[len(fn.self_name):]
            for method in self.facts.class_chain(fn.cls):
                for other in method.methods.values():
                    if other is fn or other.self_name is None:
                        continue
                    if other.self_name + tail in self._contra_of(other):
                        return None
        return uses.get(text)

    def _contra_of(self, fn: FunctionFacts) -> set[str]:
        """What `fn` shows is no tensor (the second half of `_collect_uses`), collected without the evidence
        when only this is asked (a class's other methods, read for one attribute)."""
        contra = self._contra.get(id(fn))
        if contra is None:
            contra = self._contra_only.get(id(fn))
            if contra is None:
                contra = self._contra_only[id(fn)] = self._collect_uses(fn, evidence=False)[1]
        return contra

    def _collect_uses(self, fn: FunctionFacts, evidence: bool = True) -> tuple[dict[str, TensorEvidence], set[str]]:
        """Evidence of tensors from use, and what is shown to be no tensor; `evidence=False`: only the latter
        (the same set). The first piece of evidence for a key is kept."""
        uses: dict[str, TensorEvidence] = {}
        contra: set[str] = set()
        for node in own_nodes(fn.node):
            if type(node) is cst.Attribute:  # exact types: no subclasses, and no ABCMeta check
                owner = _use_key(node.value)
                if owner is None:
                    continue
                attr = node.attr.value
                if attr in TENSOR_ONLY_ATTRIBUTES:
                    if evidence and owner not in uses:
                        uses[owner] = TensorEvidence(EvidenceKind.USE, f"`{code_of(node)}` is read", node)
                elif attr not in TENSOR_API:
                    # `config.hidden_size`: a tensor has no such attribute, so `config.dtype` is no evidence.
                    contra.add(owner)
            elif type(node) is cst.Call:
                func = node.func
                key = _use_key(func)
                if key is not None:
                    contra.add(key)  # called: a function or a module, not a tensor
                if isinstance(func, cst.Attribute):
                    owner = _use_key(func.value)
                    if owner is not None:
                        method = func.attr.value
                        if method in TENSOR_ONLY_METHODS:
                            if evidence and owner not in uses:
                                uses[owner] = TensorEvidence(EvidenceKind.USE, f"`.{method}()` is called on it", node)
                        elif method in CONTRA_TENSOR_METHODS:
                            contra.add(owner)
                if not evidence:
                    continue
                name = self.torch_function(node, fn)
                if name is not None and (self.returns_tensor(node, fn) or name.startswith("ops.")) \
                        and self.factory_kind(node, fn) is None \
                        and name not in ("tensor", "as_tensor", "asarray", "from_numpy"):
                    for operand in _tensor_operands(node):
                        key = _use_key(operand)
                        if key is not None and key not in uses:
                            uses[key] = TensorEvidence(EvidenceKind.USE, f"passed to `torch.{name}`", node)
        return uses, contra

    # -- annotations ---------------------------------------------------------------------------------
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

    # -- the questions rules ask (each a view of `value_of`) -----------------------------------------
    def is_tensor(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> bool:
        return self.value_of(expr, fn, seq).is_tensor

    def explicitly_placed(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> bool:
        return self.value_of(expr, fn, seq).placed

    def device_carrier(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> cst.BaseExpression | None:
        value = self.value_of(expr, fn, seq)
        return value.carrier if value.is_tensor else None

    def platform_device_of(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> PlatformDevice | None:
        value = self.value_of(expr, fn, seq)
        return value.platform if not value.is_tensor else None

    def platform_move_of(self, call: cst.Call, fn: FunctionFacts,
                         seq: int) -> tuple[PlatformDevice, cst.Arg | None] | None:
        """For a move of a tensor to the platform device — `x.cuda()` (or `.xpu()`, `.npu()`, …),
        `x.to("cuda")`, `x.to(dtype=..., device=current_platform.device_type)` — the platform device and the
        argument that names it (None for `.cuda()`)."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        found: tuple[PlatformDevice, cst.Arg | None] | None = None
        if method in self.facts.table.device_types:
            found = PlatformDevice(call), None
        elif method == "to":
            for position, arg in enumerate(call.args):
                if arg.keyword is not None and arg.keyword.value != "device":
                    continue
                if arg.keyword is None and position > 0:
                    break  # only the first positional argument can be a device
                platform = self.platform_device_of(arg.value, fn, seq)
                if platform is not None:
                    found = platform, arg
                break
        if found is None or not self.is_tensor(func.value, fn, seq):
            return None  # the receiver is asked about last: most calls are no move at all
        return found

    def may_be_none(self, name: cst.Name, fn: FunctionFacts, seq: int) -> bool:
        """A parameter annotated `Optional[Tensor]`/`Tensor | None` or defaulting to None: `name.device`
        could raise, so a fix must not rely on it without a human look."""
        found = self.lookup(name.value, fn, seq)
        if found is None:
            return False
        if not isinstance(found[1], cst.Param):
            evidence = self.value_of(name, fn, seq).tensor
            return evidence is not None and evidence.optional
        param = found[1]
        if isinstance(param.default, cst.Name) and param.default.value == "None":
            return True
        if param.annotation is None:
            return False
        text = code_of(param.annotation.annotation)
        return "Optional" in text or "None" in text

    def evidence_of(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int) -> TensorEvidence | None:
        return self.value_of(expr, fn, seq).tensor


def _may_fall_through(bindings: list[Binding | cst.Param], fn: FunctionFacts) -> bool:
    """A parameter rebound only in a branch of an `if` with no `else` (`if device is None: device = "cuda"`)
    may still hold its argument."""
    earliest = bindings[-1]
    return isinstance(earliest, Binding) and any(head not in fn.complete_chains for head, _ in earliest.branches)


# torch.nn layers whose output is a tuple, not a tensor.
_TUPLE_LAYERS = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention", "ModuleList", "ModuleDict", "Sequential",
                           "ParameterList", "ParameterDict", "Module", "Identity"})


def _guard_words(test: cst.BaseExpression) -> set[str]:
    """Device words an `if` test checks for: `current_platform.is_xpu()`, `torch.cuda.is_available()`,
    `x.is_cuda`, `device.type == "npu"`, `is_npu() and ...`. A negated check guards nothing."""
    words: set[str] = set()
    stack: list[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.UnaryOperation):
            continue  # `not is_xpu()`
        if isinstance(node, cst.BooleanOperation):
            if isinstance(node.operator, cst.And):
                stack.extend((node.left, node.right))
            continue
        if isinstance(node, cst.Call):
            node = node.func
        if isinstance(node, cst.Attribute):
            name = node.attr.value
            if name.startswith("is_") and len(name) > 3:
                words.add(name[3:])
            elif name == "is_available":
                inner = node.value
                if isinstance(inner, cst.Attribute):
                    words.add(inner.attr.value)
        elif isinstance(node, cst.Name) and node.value.startswith("is_") and len(node.value) > 3:
            words.add(node.value[3:])
        elif isinstance(node, cst.Comparison):
            for part in [node.left, *(c.comparator for c in node.comparisons)]:
                if isinstance(part, cst.SimpleString) and isinstance(part.evaluated_value, str):
                    words.add(part.evaluated_value.split(":", 1)[0])
    return words


_LEGACY_TENSOR_TYPE = re.compile(r"(?:(\w+)\.)?(?:Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool)Tensor")
_SCALAR_BUILTINS = frozenset({"int", "float", "bool", "len", "round", "list", "tuple", "dict", "set", "range"})


def _is_builtin_scalar(value: cst.BaseExpression, fn: FunctionFacts) -> bool:
    return (isinstance(value, (cst.Integer, cst.Float))
            or isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
            and value.func.value in _SCALAR_BUILTINS and fn.scope.qualified_of_name(value.func.value) is None)


def _weak(evidence: TensorEvidence | None) -> bool:
    return evidence is not None and evidence.weak


def _optional(annotation: cst.BaseExpression) -> bool:
    text = code_of(annotation)
    return "Optional" in text or "None" in text


def _class_of_annotation(annotation: cst.BaseExpression) -> str | None:
    """`ForwardBatch` for `batch: ForwardBatch`, `Optional["ForwardBatch"]`, `"ForwardBatch"`."""
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        return text if isinstance(text, str) and text.isidentifier() else None
    if isinstance(annotation, cst.Name):
        return annotation.value
    if isinstance(annotation, cst.Attribute):
        return annotation.attr.value
    if isinstance(annotation, cst.Subscript) and (dotted_name(annotation.value) or "").endswith("Optional"):
        for element in subscript_indices(annotation):
            return _class_of_annotation(element)
    if isinstance(annotation, cst.BinaryOperation):
        for side in (annotation.left, annotation.right):
            if not (isinstance(side, cst.Name) and side.value == "None"):
                return _class_of_annotation(side)
    return None


def _use_key(node: cst.BaseExpression) -> str | None:
    """The text a use is recorded under: a name, `obj.attr` chains, and `name[<literal>]`."""
    # Exact types (LibCST's node classes have no subclasses): `isinstance` on them runs ABCMeta's check.
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        inner = _use_key(node.value)
        return f"{inner}.{node.attr.value}" if inner is not None else None
    if type(node) is cst.Subscript and len(node.slice) == 1:
        element = node.slice[0].slice
        if isinstance(element, cst.Index) and isinstance(element.value, (cst.Integer, cst.SimpleString)):
            inner = _use_key(node.value)
            return f"{inner}[{code_of(element.value)}]" if inner is not None else None
    return None


def _tensor_operands(call: cst.Call) -> Iterator[cst.BaseExpression]:
    """The operands of a torch function that must be tensors: the first positional argument (or the list
    display it is: `torch.cat([a, b])`) and `input=`/`tensors=`; later ones may be scalars
    (`torch.pow(x, norm_type)`)."""
    positional = 0
    for arg in call.args:
        if arg.star or (arg.keyword is not None and arg.keyword.value not in ("input", "tensors")):
            continue
        if arg.keyword is None:
            positional += 1
            if positional > 1:
                continue
        yield from opened(arg.value)


_OTHER_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})  # exact types: no subclasses


def own_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Nodes of a function's own body: nested functions, classes and lambdas are other scopes."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node is not root and type(node) in _OTHER_SCOPES:
            continue
        yield node
        stack.extend(child_nodes(node))
