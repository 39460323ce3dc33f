"""Module construction: which classes are `nn.Module`s and which of their methods run while one is built.

Construction is where `with torch.device("meta")` (vLLM's and Hugging Face's large-model loading) and
default-device contexts apply; a tensor pinned to a platform device there escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from devlint.analysis.devices import PlatformDevice
from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.placement import CallerDefault, Placements
from devlint.analysis.tensors import contains_node, iter_names
from devlint.analysis.walk import walk

if TYPE_CHECKING:
    from devlint.analysis import ModuleAnalysis

# Methods frameworks call while building or (re)initialising a module, whether or not __init__ calls them.
INIT_HOOKS = ("__init__", "reset_parameters", "_reset_parameters", "_init_weights", "init_weights")


def is_module_class(facts: ModuleFacts, cls: ClassFacts) -> bool:
    """A class whose bases include `torch.nn.Module` (or any `torch.nn` layer), directly or through a class
    of this file; or that registers buffers/parameters, which only `nn.Module`s do."""
    scope = facts.module_function.scope
    for current in facts.class_chain(cls):
        for base in current.bases:
            qualified = scope.qualified_name(base)
            if qualified is not None and qualified.startswith("torch.nn."):
                return True
        if current.buffers:
            return True
    return False


def construction_methods(facts: ModuleFacts, cls: ClassFacts) -> dict[str, FunctionFacts]:
    """Methods that run during construction: the init hooks, the methods of the class (or its bases in this
    file) that they call through `self`, and the module-level functions of this file they call by name,
    transitively."""
    found: dict[str, FunctionFacts] = {}
    todo: list[tuple[str, FunctionFacts | None]] = [(name, None) for name in INIT_HOOKS
                                                    if facts.find_method(cls, name) is not None]
    while todo:
        name, given = todo.pop()
        if name in found:
            continue
        method = given if given is not None else facts.find_method(cls, name)
        if method is None:
            continue
        found[name] = method
        for _, call in method.calls:
            func = call.func
            if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                    and func.value.value == method.self_name and func.attr.value not in found):
                todo.append((func.attr.value, None))  # `self.m()` runs the most derived `m`
            elif isinstance(func, cst.Attribute) and _is_super_call(func.value):
                # `super().__init__(...)`: the next class up that defines it; its `self.m()` calls still run
                # this class's overrides.
                base = _next_definition(facts, cls, method, func.attr.value)
                if base is not None and base.cls is not None:
                    todo.append((f"{base.cls.name}.{func.attr.value}", base))
            elif isinstance(func, cst.Name) and func.value not in found and not method.scope.is_function_local(func.value):
                helper = _module_function(facts, func.value)
                if helper is not None:
                    found[func.value] = helper
                    _helper_calls(facts, helper, found)  # adds the helpers it calls in turn
    return found


def _is_super_call(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _next_definition(facts: ModuleFacts, cls: ClassFacts, method: FunctionFacts, name: str) -> FunctionFacts | None:
    """The method `name` of the first class after `method`'s own in `cls`'s chain (this file's classes only)."""
    chain = facts.class_chain(cls)
    owner = next((i for i, c in enumerate(chain) if c is method.cls), None)
    if owner is None:
        return None
    return next((c.methods[name] for c in chain[owner + 1:] if name in c.methods), None)


def _module_function(facts: ModuleFacts, name: str) -> FunctionFacts | None:
    """A function defined at the top level of this module (not a method, not nested)."""
    return next((fn for fn in facts.functions
                 if fn.name == name and fn.parent is facts.module_function and fn.cls is None), None)


def _helper_calls(facts: ModuleFacts, helper: FunctionFacts, found: dict[str, FunctionFacts]) -> list[str]:
    """Module functions a construction helper calls in turn (they are added to `found` directly)."""
    more: list[str] = []
    for _, call in helper.calls:
        if isinstance(call.func, cst.Name) and call.func.value not in found:
            nested = _module_function(facts, call.func.value)
            if nested is not None:
                found[call.func.value] = nested
                more.extend(_helper_calls(facts, nested, found))
    return more


def registration_targets(facts: ModuleFacts, method: FunctionFacts) -> list[tuple[int, cst.BaseExpression]]:
    """(seq, expression) of the tensors a method hands to `nn.Parameter(...)`, `self.register_buffer(...)` or
    `self.register_parameter(...)`: what construction turns into module state."""
    found = []
    scope = method.scope
    for seq, call in method.calls:
        func = call.func
        if scope.qualified_name(func) in ("torch.nn.Parameter", "torch.nn.parameter.Parameter") and call.args:
            found.append((seq, call.args[0].value))
        elif (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
              and func.value.value == method.self_name and func.attr.value in ("register_buffer", "register_parameter")):
            value = next((a.value for a in call.args if a.keyword is not None
                          and a.keyword.value in ("tensor", "param")), None)
            if value is None and len(call.args) > 1 and call.args[1].keyword is None:
                value = call.args[1].value
            if value is not None:
                found.append((seq, value))
    return found


def registered_methods(facts: ModuleFacts, methods: dict[str, FunctionFacts]) -> set[str]:
    """Names of methods whose result becomes module state: `self.register_buffer("c", self._compute())`, or
    `cache = self._compute(); self.register_buffer("c", cache)`, and methods whose returned value comes
    from such a method's call (to a fixed point)."""
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for method in methods.values():
            targets = [expr for _, expr in registration_targets(facts, method)]
            targets += [expr for _, expr in method.return_values] if method.name in names else []
            mentioned = {name for expr in targets for name in _names_in(expr)}
            for _, call in method.calls:
                func = call.func
                if isinstance(func, cst.Name) and func.value in methods and methods[func.value].cls is None:
                    callee = func.value  # a module-level helper: `self.register_buffer("c", _build(dim))`
                elif (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                        and func.value.value == method.self_name and func.attr.value in methods):
                    callee = func.attr.value
                else:
                    continue
                # `cache = self._compute()`, and `cos, sin = self._compute()` (one element each).
                bound = {name for name, bindings in method.bindings.items() for b in bindings
                         if _contains(b.value if b.value is not None else b.element_of, call)}
                if any(contains_node(expr, call) for expr in targets) or bound & mentioned:
                    if callee not in names:
                        names.add(callee)
                        changed = True
    return names


def _names_in(expr: cst.BaseExpression) -> set[str]:
    return {name.value for name in iter_names(expr)}


def _contains(value: cst.BaseExpression | None, node: cst.CSTNode) -> bool:
    return value is not None and contains_node(value, node)


# Factories whose result holds no values of its own until something writes into it.
UNINITIALIZED_FACTORIES = frozenset({"empty", "empty_strided"})


def placeholder_attribute(facts: ModuleFacts, methods: dict[str, FunctionFacts], method: FunctionFacts,
                          call: cst.Call) -> str | None:
    """The attribute an uninitialized factory's result becomes, directly, when no construction method touches
    that attribute again: `self.w = nn.Parameter(torch.empty(...))` or a persistent
    `self.register_buffer("w", torch.empty(...))` with no `init(self.w)`, `self.w.zero_()` or `set_attrs(self.w, ...)` while the module is
    built. Such state is a placeholder: its values can only come from outside the module (a checkpoint
    loader copying into it), so where it lives decides where that outside code writes. None otherwise (a local
    in between, a read during construction, an initialized factory: the caller checks the factory)."""
    if method.self_name is None or method.cls is None:
        return None
    name = _direct_state_attribute(method, call)
    if name is None:
        return None
    for other in methods.values():
        if other.self_name is not None and _touches(other, name):
            return None
    return name


def _direct_state_attribute(method: FunctionFacts, call: cst.Call) -> str | None:
    scope = method.scope
    holder: cst.BaseExpression = call
    for _, outer in method.calls:  # `nn.Parameter(torch.empty(...), requires_grad=False)`
        if (scope.qualified_name(outer.func) in ("torch.nn.Parameter", "torch.nn.parameter.Parameter")
                and outer.args and outer.args[0].value is call):
            holder = outer
            break
    for _, outer in method.calls:  # `self.register_buffer("w", torch.empty(...))`
        func = outer.func
        if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                and func.value.value == method.self_name
                and func.attr.value in ("register_buffer", "register_parameter")
                and len(outer.args) > 1 and outer.args[1].value is holder
                and isinstance(outer.args[0].value, cst.SimpleString)):
            if any(a.keyword is not None and a.keyword.value == "persistent"
                   and isinstance(a.value, cst.Name) and a.value.value == "False" for a in outer.args):
                return None  # a non-persistent buffer is no checkpoint's: forward fills it, like a workspace
            value = outer.args[0].value.evaluated_value
            return value if isinstance(value, str) else None
    found: list[str] = []

    def enter(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Assign) and node.value is holder and len(node.targets) == 1:
            target = node.targets[0].target
            if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                    and target.value.value == method.self_name):
                found.append(target.attr.value)
        return not found and not isinstance(node, (cst.ClassDef, cst.Lambda))

    walk(method.node, enter, lambda node: None)
    return found[0] if found else None


def _touches(method: FunctionFacts, attr: str) -> bool:
    """Does `method` read `self.<attr>` anywhere but as the target of a plain assignment?"""
    stores: set[int] = set()
    hit: list[bool] = []

    def enter(node: cst.CSTNode) -> bool:
        if hit:
            return False
        if isinstance(node, cst.Assign):
            stores.update(id(t.target) for t in node.targets)
        elif isinstance(node, cst.AnnAssign):
            stores.add(id(node.target))
        if (isinstance(node, cst.Attribute) and node.attr.value == attr and isinstance(node.value, cst.Name)
                and node.value.value == method.self_name and id(node) not in stores):
            hit.append(True)
            return False
        return True

    walk(method.node, enter, lambda node: None)
    return bool(hit)


@dataclass(frozen=True)
class ConstructionSite:
    """A platform placement that runs while a module is built and becomes its state: the factory's `device=`
    (`device_arg`) or a move, the platform device and the argument it is read from (`move`), where (`where`,
    for messages), the class being built (`owner`), and the attribute when the result is an uninitialized
    placeholder that construction never fills (`placeholder`)."""

    call: cst.Call
    device_arg: cst.Arg | None
    move: tuple[PlatformDevice, cst.Arg | None]
    method: FunctionFacts
    where: str
    owner: str
    placeholder: str | None


@dataclass
class CallerFallback:
    """A caller's device parameter that falls back to the platform device (`if device is None: device =
    "cuda"`), and the construction-time factories and moves it reaches."""

    caller: CallerDefault
    reached: list[tuple[cst.Call, FunctionFacts]]
    where: str


@dataclass
class ConstructionSites:
    """The construction-time placements of a module, and the callers' fallbacks that reach them."""

    sites: list[ConstructionSite]
    fallbacks: list[CallerFallback]


def construction_sites(analysis: ModuleAnalysis) -> ConstructionSites:
    """Every platform placement that reaches module state while an `nn.Module` of the file is built (DL003's
    findings and DL006's placeholders), with no sibling tensor to follow (DL001's and DL002's cases)."""
    facts, devices = analysis.facts, analysis.devices
    placements = Placements(facts, analysis.tensors, devices)
    seen: set[int] = set()
    fallbacks: dict[int, CallerFallback] = {}
    found: list[ConstructionSite] = []
    for cls in facts.classes.values():
        if not is_module_class(facts, cls):
            continue
        methods = construction_methods(facts, cls)
        registered = registered_methods(facts, methods)
        for method in methods.values():
            if id(method) in seen:
                continue
            seen.add(id(method))
            finder = analysis.siblings(method)
            # Only what becomes module state (a parameter or registered buffer) follows `module.to()` and is
            # materialised after a meta build; a workspace kept as a plain attribute may live on the platform
            # device on purpose.
            state = registration_targets(facts, method) + (method.return_values if method.name in registered else [])
            if not state:
                continue
            where = (f"`{cls.name}.{method.name}`" if method.cls is not None
                     else f"`{method.name}` (called while `{cls.name}` is built)")
            for seq, call in method.calls:
                device_arg = (_keyword(call, "device") if analysis.tensors.factory_kind(call, method) == "factory"
                              else None)
                move = None if device_arg is not None else devices.platform_move_of(call, method, seq)
                if device_arg is None and move is None:
                    continue
                if finder.siblings_of(call, seq, call if device_arg is not None else None) \
                        or not finder.flows_into(call, state):
                    continue
                moved_by = move[1] if move is not None else None
                device_expr = device_arg.value if device_arg is not None else (moved_by.value if moved_by else None)
                # The caller's device (a parameter) that falls back to the platform device: the fallback is the
                # finding, and the caller's `device=device` stays.
                caller = placements.caller_default(device_expr, method, seq) if device_expr is not None else None
                if caller is not None:
                    if caller.fallback is not None:  # a parameter's own default value is DL004's
                        fallbacks.setdefault(id(caller.fallback), CallerFallback(caller, [], where)).reached.append(
                            (call, method))
                    continue
                if device_arg is not None:
                    platform = devices.platform_device_of(device_arg.value, method, seq)
                    if platform is not None:
                        placeholder = (placeholder_attribute(facts, methods, method, call)
                                       if analysis.tensors.torch_function(call, method) in UNINITIALIZED_FACTORIES
                                       else None)
                        found.append(ConstructionSite(call, device_arg, (platform, device_arg), method, where,
                                                      cls.name, placeholder))
                elif move is not None:
                    found.append(ConstructionSite(call, None, move, method, where, cls.name, None))
    return ConstructionSites(found, list(fallbacks.values()))


def _keyword(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == keyword), None)
