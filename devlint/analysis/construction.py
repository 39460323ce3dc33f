"""Module construction: which classes are `nn.Module`s and which of their methods run while one is built.

Construction is where `with torch.device("meta")` (vLLM's and Hugging Face's large-model loading) and
default-device contexts apply; a tensor pinned to a platform device there escapes them.
"""

from __future__ import annotations

import libcst as cst

from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts
from devlint.analysis.tensors import contains_node, iter_names

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
    """Methods that run during construction: the init hooks, and methods of the class (or its bases in this
    file) that they call through `self`, transitively."""
    found: dict[str, FunctionFacts] = {}
    todo = [name for name in INIT_HOOKS if facts.find_method(cls, name) is not None]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        method = facts.find_method(cls, name)
        if method is None:
            continue
        found[name] = method
        for _, call in method.calls:
            func = call.func
            if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                    and func.value.value == method.self_name and func.attr.value not in found):
                todo.append(func.attr.value)
    return found


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
                if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                        and func.value.value == method.self_name and func.attr.value in methods):
                    continue
                bound = {name for name, bindings in method.bindings.items()
                         for b in bindings if b.value is not None and contains_node(b.value, call)}
                if any(contains_node(expr, call) for expr in targets) or bound & mentioned:
                    if func.attr.value not in names:
                        names.add(func.attr.value)
                        changed = True
    return names


def _names_in(expr: cst.BaseExpression) -> set[str]:
    return {name.value for name in iter_names(expr)}
