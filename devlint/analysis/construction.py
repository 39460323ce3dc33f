"""Module construction: which classes are `nn.Module`s and which of their methods run while one is built.

Construction is where `with torch.device("meta")` (vLLM's and Hugging Face's large-model loading) and
default-device contexts apply; a tensor pinned to a platform device there escapes them.
"""

from __future__ import annotations

import libcst as cst

from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts

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
