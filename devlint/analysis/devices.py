"""Is this device expression the platform's device? Follows aliases back to where they were set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import libcst as cst

from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.platform import expression_signature, matches_signature
from devlint.analysis.tensors import TensorModel


@dataclass(frozen=True)
class PlatformDevice:
    """A device expression that names the platform device.

    `origin` is the platform expression itself (`current_platform.device_type`, `"cuda"`); when the use site
    reads it through a name (`device`, `self.device`, `DEVICE`), `alias` is that name and `alias_node` the
    statement that set it, so a message can say where.
    """

    origin: cst.BaseExpression
    alias: str | None = None
    alias_node: cst.CSTNode | None = None
    conditional: bool = False  # chosen by a conditional expression: another branch may be the intended one


class PlatformDevices:
    MAX_DEPTH = 16

    def __init__(self, facts: ModuleFacts, model: TensorModel) -> None:
        self.facts = facts
        self.model = model
        self.string_pattern = facts.table.device_string_pattern()
        self._attr_memo: dict[tuple[str, str], PlatformDevice | None] = {}

    def platform_device_of(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int,
                           depth: int = 0) -> PlatformDevice | None:
        if depth > self.MAX_DEPTH:
            return None
        depth += 1
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            if isinstance(value, str) and self.string_pattern.fullmatch(value):
                return PlatformDevice(expr)
            return None
        if isinstance(expr, cst.FormattedString):
            return self._formatted(expr, fn, seq, depth)
        if isinstance(expr, cst.IfExp):
            branch = (self.platform_device_of(expr.body, fn, seq, depth)
                      or self.platform_device_of(expr.orelse, fn, seq, depth))
            return dataclasses.replace(branch, conditional=True) if branch else None
        if isinstance(expr, (cst.Name, cst.Attribute, cst.Call)):
            resolved, written = expression_signature(expr, fn.scope)
            if matches_signature(resolved, written, self.facts.table.signatures):
                return PlatformDevice(expr)
        if isinstance(expr, cst.Call):
            if fn.scope.qualified_name(expr.func) == "torch.device" and expr.args:
                first = expr.args[0]
                if first.keyword is None or first.keyword.value == "type":
                    inner = self.platform_device_of(first.value, fn, seq, depth)
                    if inner is not None and inner.alias is None:
                        return dataclasses.replace(inner, origin=expr)
                    return inner
            return None
        if isinstance(expr, cst.Name):
            return self._through_name(expr, fn, seq, depth)
        if isinstance(expr, cst.Attribute) and self.model.is_self(expr.value, fn) and fn.cls is not None:
            return self.platform_attr(fn.cls, expr.attr.value)
        return None

    def platform_move_of(self, call: cst.Call, fn: FunctionFacts, seq: int) -> tuple[PlatformDevice, cst.Arg | None] | None:
        """For a move of a tensor to the platform device — `x.cuda()` (or `.xpu()`, `.npu()`, …),
        `x.to("cuda")`, `x.to(device=current_platform.device_type)` — the platform device and the argument
        that names it (None for `.cuda()`)."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not self.model.is_tensor(func.value, fn, seq):
            return None
        method = func.attr.value
        if method in self.facts.table.device_types:
            return PlatformDevice(call), None
        if method != "to":
            return None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value != "device":
                continue
            found = self.platform_device_of(arg.value, fn, seq)
            if found is not None:
                return found, arg
            if arg.keyword is None:
                break  # only the first positional argument can be a device
        return None

    def _formatted(self, expr: cst.FormattedString, fn: FunctionFacts, seq: int, depth: int) -> PlatformDevice | None:
        if not expr.parts:
            return None
        first = expr.parts[0]
        if isinstance(first, cst.FormattedStringText):
            word = first.value.split(":", 1)[0]
            if self.string_pattern.fullmatch(word) and (first.value == word or first.value.startswith(word + ":")):
                return PlatformDevice(expr)
            return None
        if isinstance(first, cst.FormattedStringExpression):
            inner = self.platform_device_of(first.expression, fn, seq, depth)
            if inner is not None:
                return dataclasses.replace(inner, origin=expr)
        return None

    def _through_name(self, expr: cst.Name, fn: FunctionFacts, seq: int, depth: int) -> PlatformDevice | None:
        found = self.model.lookup(expr.value, fn, seq)
        if found is None:
            return None
        owner, binding = found
        if isinstance(binding, cst.Param) or binding.value is None:
            return None  # a parameter: the caller decides the device
        inner = self.platform_device_of(binding.value, owner, binding.seq, depth)
        if inner is None:
            return None
        if inner.alias is not None:
            return inner
        return dataclasses.replace(inner, alias=expr.value, alias_node=binding.node)

    def platform_attr(self, cls: ClassFacts, attr: str) -> PlatformDevice | None:
        """`self.<attr>` names the platform device when every assignment to it in the class does. A
        constructor parameter whose default is a platform device counts (`def __init__(self, device="cuda")`
        then `self.device = device`): that default is what the attribute holds unless a caller overrides it."""
        key = (cls.name, attr)
        if key in self._attr_memo:
            return self._attr_memo[key]
        self._attr_memo[key] = None
        assignments = [a for c in self.facts.class_chain(cls) for a in c.attr_assignments.get(attr, ())]
        result: PlatformDevice | None = None
        for assignment in assignments:
            value = assignment.value
            if value is None:
                result = None
                break
            found = self.platform_device_of(value, assignment.function, assignment.seq)
            if found is None and isinstance(value, cst.Name):
                found = self._param_default(value, assignment.function)
            if found is None:
                result = None
                break
            if result is None:
                result = dataclasses.replace(found, alias=f"self.{attr}", alias_node=assignment.node)
        self._attr_memo[key] = result
        return result

    def _param_default(self, name: cst.Name, fn: FunctionFacts) -> PlatformDevice | None:
        param = fn.params.get(name.value)
        if param is None or param.default is None or fn.binding_before(name.value, 1 << 62):
            return None
        return self.platform_device_of(param.default, fn.parent or fn, 0)
