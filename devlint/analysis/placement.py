"""Where a parameter's value places a tensor, and where a caller's device falls back to the platform's.

Two questions the device rules ask about parameters:

* `placements_of(fn, name)`: does parameter `name` of `fn` reach a *placement* — a factory's `device=`, a
  move (`.to(d)`, `.cuda(d)`), `torch.device(d)`, or a `device=` argument passed on — in `fn`, in a function
  or method of the same module it hands the value to, or through `self.<attr>` it stores the value in? A
  string used only to compare, dispatch or look up a backend places nothing (DL004).
* `caller_default(expr, fn, seq)`: is the device expression at a use site really the caller's (a
  parameter), which falls back to the platform device only when the caller passes none
  (`if device is None: device = "cuda"`, `device or "cuda"`, `self.device = device` with `device="cuda"`)?
  Then the fallback, not the use site, is what a finding points at and a fix may change (DL003), and the
  use site's `device=device` is never removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from devlint.analysis.devices import PlatformDevice
from devlint.analysis.module import Binding, ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.names import dotted_name
from devlint.analysis.tensors import contains_node, iter_names
from devlint.analysis.values import ValueResolver
from devlint.analysis.walk import child_nodes

# Methods that move a tensor to the device given as their first argument.
_MOVES = frozenset({"to", "cuda", "xpu", "npu", "hpu", "mps", "to_empty"})


@dataclass(frozen=True)
class Placement:
    """A place where a value decides a tensor's device: `label` in words (`torch.zeros`, `.to()`,
    `torch.device`, ``passed on as `device=` to `Linear` ``), `node` for its line."""

    label: str
    node: cst.CSTNode
    function: FunctionFacts


@dataclass(frozen=True)
class CallerDefault:
    """A device the caller controls through parameter `param` of `owner`, which becomes the platform
    device only when the caller passes none.

    `fallback` is the statement or expression that supplies the platform device: the `if device is None:`
    block, the `device or "cuda"` / `"cuda" if device is None else device` expression, or None when it is
    the parameter's own default value (DL004 reports those). `platform_node` is the platform expression
    itself, where a finding points."""

    param: str
    owner: FunctionFacts
    platform: PlatformDevice
    platform_node: cst.BaseExpression
    fallback: cst.CSTNode | None
    holder: cst.CSTNode | None = None  # the assignment whose value is `fallback` (IfExp/BoolOp forms)


class Placements:
    MAX_DEPTH = 4

    def __init__(self, facts: ModuleFacts, model: ValueResolver, devices: ValueResolver) -> None:
        self.facts = facts
        self.model = model
        self.devices = devices
        self._functions = facts.top_level_functions()

    # -- placements of a parameter ---------------------------------------------------------------------
    def placements_of(self, fn: FunctionFacts, name: str) -> list[Placement]:
        found: list[Placement] = []
        self._collect(fn, {name}, found, set(), 0)
        return found

    def _collect(self, fn: FunctionFacts, names: set[str], found: list[Placement], seen: set[tuple[int, str]],
                 depth: int) -> None:
        key = (id(fn), ",".join(sorted(names)))
        if key in seen or depth > self.MAX_DEPTH:
            return
        seen.add(key)
        names = self._derived(fn, names)
        for _, call in fn.calls:
            for placement, hand_on in self._call_uses(call, fn, names):
                if placement is not None:
                    found.append(placement)
                if hand_on is not None:
                    callee, param = hand_on
                    self._collect(callee, {param}, found, seen, depth + 1)
        for nested in self.facts.functions:  # a closure reads the parameter too (`def receive(): ...device=device`)
            if nested.parent is fn:
                free = {name for name in names if not nested.binds(name)}
                if free:
                    self._collect(nested, free, found, seen, depth + 1)
        if fn.cls is not None:
            for attr in self._stored_attrs(fn, names):
                for method in self._methods(fn.cls):
                    for _, call in method.calls:
                        for placement, _hand in self._call_uses(call, method, set(), attr=(method.self_name, attr)):
                            if placement is not None:
                                found.append(placement)

    def _derived(self, fn: FunctionFacts, names: set[str]) -> set[str]:
        """`names` and the locals of `fn` bound to values built from them (`dev = torch.device(device)`,
        `device = f"{device_type}:{rank}"`), but not to tests or lookups (`is_cuda = device == "cuda"`)."""
        names = set(names)
        changed = True
        while changed:
            changed = False
            for local, bindings in fn.bindings.items():
                if local in names:
                    continue
                if any(b.value is not None and _carries(b.value, names) for b in bindings):
                    names.add(local)
                    changed = True
        return names

    def _stored_attrs(self, fn: FunctionFacts, names: set[str]) -> set[str]:
        """Attributes of the class's instances `fn` stores a carried value in: `self.device = device`, and
        `obj.orig_device = device` on an instance a classmethod builds (`obj = cls(...)`)."""
        assert fn.cls is not None
        found = {attr for attr, assignments in fn.cls.attr_assignments.items()
                 for a in assignments if a.function is fn and a.value is not None and _carries(a.value, names)}
        instances = {name for name, bindings in fn.bindings.items()
                     if any(isinstance(b.value, cst.Call) and isinstance(b.value.func, cst.Name)
                            and b.value.func.value in ("cls", fn.cls.name) for b in bindings)}
        if instances:
            stack: list[cst.CSTNode] = [fn.node]
            while stack:
                node = stack.pop()
                if isinstance(node, cst.Assign) and _carries(node.value, names):
                    for target in node.targets:
                        t = target.target
                        if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value in instances:
                            found.add(t.attr.value)
                stack.extend(child_nodes(node))
        return found

    def _methods(self, cls: ClassFacts) -> Iterator[FunctionFacts]:
        for current in self.facts.class_chain(cls):
            yield from current.methods.values()

    def _call_uses(self, call: cst.Call, fn: FunctionFacts, names: set[str],
                   attr: tuple[str | None, str] | None = None
                   ) -> Iterator[tuple[Placement | None, tuple[FunctionFacts, str] | None]]:
        """(placement, (callee, parameter) to follow) for each way `call` uses a carried value."""

        def carried(value: cst.BaseExpression) -> bool:
            if attr is not None:
                self_name, attr_name = attr
                return self_name is not None and _carries_attr(value, self_name, attr_name)
            return _carries(value, names)

        func = call.func
        qualified = fn.scope.qualified_name(func)
        torch_name = self.model.torch_function(call, fn)
        for index, arg in enumerate(call.args):
            if arg.star or not carried(arg.value):
                continue
            keyword = arg.keyword.value if arg.keyword is not None else None
            if qualified == "torch.device":
                yield Placement("torch.device", call, fn), None
            elif isinstance(func, cst.Attribute) and func.attr.value in _MOVES and torch_name is None \
                    and (keyword == "device" or (keyword is None and index == 0)):
                yield Placement(f".{func.attr.value}()", call, fn), None
            elif keyword == "device":
                label = f"torch.{torch_name}" if self.model.factory_kind(call, fn) is not None else None
                if label is None:
                    callee = dotted_name(func) or "a call"
                    label = f"passed on as `device=` to `{callee}`"
                yield Placement(label, call, fn), None
            else:
                callee_param = self._callee_param(call, fn, index, keyword)
                if callee_param is not None:
                    yield None, callee_param

    def _callee_param(self, call: cst.Call, fn: FunctionFacts, index: int,
                      keyword: str | None) -> tuple[FunctionFacts, str] | None:
        """The parameter of a function or method of this module that receives argument `index` of `call`."""
        func = call.func
        callee: FunctionFacts | None = None
        offset = 0
        if isinstance(func, cst.Name) and not fn.scope.is_function_local(func.value):
            callee = self._functions.get(func.value)
        elif isinstance(func, cst.Attribute) and fn.cls is not None and self.model.is_self(func.value, fn):
            callee = self.facts.find_method(fn.cls, func.attr.value)
            offset = 1 if callee is not None and callee.self_name is not None else 0
        if callee is None:
            return None
        if keyword is not None:
            return (callee, keyword) if keyword in callee.params else None
        params = callee.node.params  # type: ignore[union-attr]
        positional = [*params.posonly_params, *params.params]
        index += offset
        return (callee, positional[index].name.value) if index < len(positional) else None

    # -- the caller's device behind a use site ---------------------------------------------------------
    def caller_default(self, expr: cst.BaseExpression, fn: FunctionFacts, seq: int,
                       depth: int = 0) -> CallerDefault | None:
        if depth > self.MAX_DEPTH:
            return None
        if isinstance(expr, cst.Name):
            found = self.model.lookup(expr.value, fn, seq)
            if found is None:
                return None
            owner, binding = found
            if isinstance(binding, cst.Param):
                return self._param_default(expr.value, owner, binding)
            return self._fallback(expr.value, owner, binding, depth)
        if isinstance(expr, cst.Attribute) and self.model.is_self(expr.value, fn) and fn.cls is not None:
            for current in self.facts.class_chain(fn.cls):
                for assignment in current.attr_assignments.get(expr.attr.value, ()):
                    if assignment.value is None:
                        continue
                    found_default = self._value_default(assignment.value, assignment.function, assignment.seq,
                                                        assignment.node, depth + 1)
                    if found_default is not None:
                        return found_default
        return None

    def _value_default(self, value: cst.BaseExpression, fn: FunctionFacts, seq: int, holder: cst.CSTNode,
                       depth: int) -> CallerDefault | None:
        """`value` (assigned by `holder`) is a parameter with a platform default or fallback, or an
        `or`/conditional expression that falls back from a parameter to the platform device."""
        if isinstance(value, cst.Name):
            return self.caller_default(value, fn, seq, depth)
        if isinstance(value, cst.Call) and fn.scope.qualified_name(value.func) == "torch.device" and value.args \
                and value.args[0].keyword is None:
            return self._value_default(value.args[0].value, fn, seq, holder, depth + 1)
        fallback = self._fallback_expression(value, fn, seq)
        if fallback is not None:
            param, platform_node, platform = fallback
            return CallerDefault(param, fn, platform, platform_node, fallback=value, holder=holder)
        return None

    def _param_default(self, name: str, owner: FunctionFacts, param: cst.Param) -> CallerDefault | None:
        if param.default is None or owner.parent is None:
            return None
        platform = self.devices.platform_device_of(param.default, owner.parent,
                                                   owner.parent.seq_of.get(owner.node, 1 << 62))
        if platform is None:
            return None
        return CallerDefault(name, owner, platform, param.default, fallback=None)

    def _fallback(self, name: str, owner: FunctionFacts, binding: Binding, depth: int) -> CallerDefault | None:
        if binding.value is None or name not in owner.params:
            if binding.value is not None and isinstance(binding.value, cst.Name) and binding.value.value != name:
                return self.caller_default(binding.value, owner, binding.seq, depth + 1)
            if binding.value is not None:
                return self._value_default(binding.value, owner, binding.seq, binding.node, depth + 1)
            return None
        # `if device is None: device = "cuda"`: a platform value assigned under a test of the parameter.
        guard = self._guarding_if(owner, binding.node, name)
        if guard is not None:
            platform = self.devices.platform_device_of(binding.value, owner, binding.seq)
            if platform is not None:
                return CallerDefault(name, owner, platform, binding.value, fallback=guard)
            return None
        return self._value_default(binding.value, owner, binding.seq, binding.node, depth + 1)

    def _guarding_if(self, fn: FunctionFacts, node: cst.CSTNode, name: str) -> cst.If | None:
        for _, candidate in fn.ifs:
            if not any(n.value == name for n in iter_names(candidate.test)):
                continue
            body = candidate.body
            if isinstance(body, cst.IndentedBlock) and any(s is node or contains_node(s, node) for s in body.body):
                return candidate
            if isinstance(body, cst.SimpleStatementSuite) and any(s is node for s in body.body):
                return candidate
        return None

    def _fallback_expression(self, value: cst.BaseExpression, fn: FunctionFacts,
                             seq: int) -> tuple[str, cst.BaseExpression, PlatformDevice] | None:
        """`device or "cuda"`, `"cuda" if device is None else device`: (parameter, platform expression,
        platform device)."""
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            pairs.append((value.left, value.right))
        elif isinstance(value, cst.IfExp):
            pairs += [(value.body, value.orelse), (value.orelse, value.body)]
        for caller, other in pairs:
            if isinstance(caller, cst.Name) and caller.value in fn.params and not fn.binding_before(caller.value, seq):
                platform = self.devices.platform_device_of(other, fn, seq)
                if platform is not None:
                    return caller.value, other, platform
        return None


def _carries(value: cst.BaseExpression, names: set[str]) -> bool:
    """Does `value` pass one of `names` on as a device? The name itself, a conditional or `or` with it as a
    branch, an f-string built from it, `torch.device(name, ...)`; not a comparison, a lookup or a call that
    only reads it (`BACKENDS[device_type]`, `get_backend(device_type)`, `device_type == "cuda"`)."""
    if isinstance(value, cst.Name):
        return value.value in names
    if isinstance(value, cst.IfExp):
        return _carries(value.body, names) or _carries(value.orelse, names)
    if isinstance(value, cst.BooleanOperation):
        return _carries(value.left, names) or _carries(value.right, names)
    if isinstance(value, cst.FormattedString):
        return any(isinstance(p, cst.FormattedStringExpression) and _carries(p.expression, names) for p in value.parts)
    if isinstance(value, cst.Call):
        name = dotted_name(value.func)
        if name is not None and name.rsplit(".", 1)[-1] == "device" and value.args:
            return _carries(value.args[0].value, names)
        if name == "str" and value.args:
            return _carries(value.args[0].value, names)
    return False


def _carries_attr(value: cst.BaseExpression, self_name: str, attr: str) -> bool:
    if isinstance(value, cst.Attribute):
        return isinstance(value.value, cst.Name) and value.value.value == self_name and value.attr.value == attr
    if isinstance(value, cst.IfExp):
        return _carries_attr(value.body, self_name, attr) or _carries_attr(value.orelse, self_name, attr)
    if isinstance(value, cst.BooleanOperation):
        return _carries_attr(value.left, self_name, attr) or _carries_attr(value.right, self_name, attr)
    if isinstance(value, cst.Call):
        name = dotted_name(value.func)
        if name is not None and name.rsplit(".", 1)[-1] == "device" and value.args:
            return _carries_attr(value.args[0].value, self_name, attr)
    return False


def reads_only_as_device_argument(fn: FunctionFacts, name: str, ignore: cst.CSTNode) -> bool:
    """Every read of `name` in `fn` outside `ignore` is the whole value of a `device=` argument, so it may
    be None (the ambient default device) without changing what the code does otherwise."""
    allowed: set[int] = set()
    for _, call in fn.calls:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "device" and isinstance(arg.value, cst.Name):
                allowed.add(id(arg.value))
    body = fn.node.body
    for statement in getattr(body, "body", ()):
        if statement is ignore:
            continue
        for read in iter_names(statement):
            if read.value == name and id(read) not in allowed and not _is_store(statement, read):
                return False
    return True


def _is_store(statement: cst.CSTNode, name: cst.Name) -> bool:
    """`name` is an assignment target in `statement` (iter_names does not tell loads from stores)."""
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Assign) and any(t.target is name for t in small.targets):
                return True
            if isinstance(small, cst.AnnAssign) and small.target is name:
                return True
    return False
