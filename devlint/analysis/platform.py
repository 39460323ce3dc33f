"""Matching expressions against the platform-device table (`devlint.platform_table`, re-exported here).

A signature is matched after import aliases are resolved, so `from vllm.platforms import current_platform
as cp; cp.device_type` matches, while a parameter that happens to be called `torch` does not.
"""

from __future__ import annotations

import libcst as cst

from devlint.analysis.names import Scope
from devlint.platform_table import (  # noqa: F401  (the table lives where the prefilter can read it without LibCST)
    DEFAULT_DEVICE_TYPES,
    DEFAULT_SIGNATURES,
    DEFAULT_TABLE,
    FRAMEWORK_SIGNATURES,
    PlatformDeviceTable,
)


def expression_signature(node: cst.BaseExpression, scope: Scope) -> tuple[str | None, str | None]:
    """(resolved, as-written) signatures of a Name/Attribute/Call chain, e.g. ('torch.cuda.current_device()',
    'th.cuda.current_device()'). `resolved` is None when the head is not an import; `as-written` is None when
    the head is a function-local binding (a parameter or local variable is never a platform global)."""
    suffix: list[str] = []
    while True:
        if isinstance(node, cst.Call):
            # A call matches `()` whatever its arguments (`get_accelerator().device_name(rank)`);
            # `torch.device("cuda")` is read structurally by the resolver.
            suffix.append("()")
            node = node.func
        elif isinstance(node, cst.Attribute):
            suffix.append("." + node.attr.value)
            node = node.value
        else:
            break
    if not isinstance(node, cst.Name):
        return None, None
    tail = "".join(reversed(suffix))
    head = node.value
    qualified = scope.qualified_of_name(head)
    resolved = f"{qualified}{tail}" if qualified else None
    written = None if scope.is_function_local(head) else f"{head}{tail}"
    return resolved, written


def matches_signature(resolved: str | None, written: str | None, signatures: frozenset[str]) -> str | None:
    """The table signature an expression matches, if any.

    A resolved signature must match exactly, or end with a table entry written without its module
    (`get_device()` matches `sglang.srt.utils.get_device()`). An unresolved one (a name defined in the
    checked module itself) matches an entry spelled the same way.
    """
    for signature in signatures:
        if resolved is not None and (resolved == signature or resolved.endswith("." + signature)):
            return signature
        if resolved is None and written is not None and written == signature:
            return signature
    return None
