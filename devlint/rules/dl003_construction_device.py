"""DL003: a tensor pinned to the platform device while an `nn.Module` is being constructed."""

from __future__ import annotations

import libcst as cst

from devlint.analysis import FunctionFacts, ModuleAnalysis, ModuleFacts, PlatformDevice, code_of
from devlint.analysis.construction import ConstructionSite, construction_sites
from devlint.analysis.placement import CallerDefault, reads_only_as_device_argument
from devlint.analysis.walk import child_nodes
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import (
    call_label,
    delete_arg,
    delete_statement,
    describe_platform,
    drop_call,
)
from devlint.types import Edit, Fix, UnsafeReason


class ConstructionDevice(Rule):
    """
    ## What it does
    Checks `nn.Module` construction — `__init__`, `reset_parameters`, `_init_weights`, the methods of the
    class they call (such as `_compute_cos_sin_cache`) and the module-level helpers of the same file they
    call — for tensors placed on the *platform's* device (a factory call with a platform `device=`, or a
    move with `.cuda()`/`.to("cuda")`/`.to(dtype=..., device="cuda")`) that become module state: an
    `nn.Parameter`, or a buffer or parameter registered with `register_buffer`/`register_parameter` —
    directly, through a local name (tuple unpacking included: `cos, sin = self._cache()`), or as the result
    of a method or helper whose result is registered. Cases with a sibling tensor are DL001's and DL002's;
    this rule covers tensors with nothing to follow. Workspaces and scratch tensors kept as plain
    attributes are left alone: `module.to()` does not move them and a meta build does not materialise
    them, so the platform device may be exactly right for them.

    When the device is the caller's — a `device` parameter that falls back to the platform device only when
    the caller passes none (`if device is None: device = "cuda"`, `self.device = device or "cuda"`) — the
    finding points at the fallback and names the factory it reaches; the caller's `device=device` is never
    removed. (A parameter whose own default is the platform device is DL004's.)

    ## Why is this bad?
    vLLM and Hugging Face build large models under `with torch.device("meta")` (or a default-device
    context) and materialise weights later. A tensor pinned to the platform device escapes that context:
    it allocates real memory during a meta build, lands on the wrong GPU in multi-GPU placement, and
    crashes on CPU-only or non-CUDA machines ("Torch not compiled with CUDA enabled").

    ## Example
    ```python
    class Rope(nn.Module):
        def __init__(self, dim: int):
            super().__init__()
            inv_freq = 1.0 / 10000 ** (torch.arange(0, dim, 2, device="cuda") / dim)
            self.register_buffer("inv_freq", inv_freq, persistent=False)
    ```

    Use instead:
    ```python
            inv_freq = 1.0 / 10000 ** (torch.arange(0, dim, 2) / dim)
    ```

    ## Fix safety
    The fix drops the device argument (or the `.cuda()` / `.to(...)` move, or only its device when it also
    converts the dtype), so the tensor follows the ambient default device. It is unsafe: outside a device
    context the tensor now lands on the CPU, so a caller that relied on construction placing it on the GPU
    must move the module (`model.cuda()`) or build it under `with torch.device(...)`. For a caller's device
    the fix drops the `if device is None: device = ...` fallback, and only when the parameter is used
    solely as `device=` arguments (None then means the default device everywhere it goes); it is unsafe
    too, since callers that pass nothing now get the default device. When the function itself takes a `device`
    parameter (`def _set_cos_sin_cache(self, seq_len, device, dtype)`, called with `x.device` to grow the cache),
    the fix passes that parameter instead of dropping the placement.

    An uninitialized placeholder (`self.w = nn.Parameter(torch.empty(..., device=...))`, or a persistent
    buffer so built, that no construction method touches again) is not this rule's: its values come from
    outside the module, such as a checkpoint loader copying into it, so where it lives is that code's choice
    (DL006, off unless selected, reports it). The rest of such a module's state keeps its device too (no fix),
    so that the two do not part ways.
    """

    code = "DL003"
    name = "platform-device-at-construction"
    summary = "Tensor placed on the platform device during nn.Module construction"
    fix_availability = FixAvailability.ALWAYS
    UNSAFE_REASONS = (UnsafeReason.REMOVES_PLACEMENT, UnsafeReason.CONDITIONAL_DEVICE, UnsafeReason.CHANGES_DEFAULT)

    VALID = (
        # Follows the default device: works under meta and any device context.
        "import torch\n"
        "from torch import nn\n"
        "class Rope(nn.Module):\n"
        "    def __init__(self, dim: int):\n"
        "        super().__init__()\n"
        "        self.register_buffer('inv_freq', 1.0 / 10000 ** (torch.arange(0, dim, 2) / dim), persistent=False)\n",
        # Not a module: a workspace manager may allocate on the platform device.
        "import torch\n"
        "class Workspace:\n"
        "    def __init__(self, n: int):\n"
        "        self.buffer = torch.empty(n, dtype=torch.uint8, device='cuda')\n",
        # A scratch workspace kept as a plain attribute: not module state, the platform device may be right.
        "import torch\n"
        "from torch import nn\n"
        "class Attention(nn.Module):\n"
        "    def __init__(self, n: int):\n"
        "        super().__init__()\n"
        "        self.scratch = torch.empty(n, device='cuda')\n",
        # Not construction: forward-time allocation.
        "import torch\n"
        "from torch import nn\n"
        "class M(nn.Module):\n"
        "    def forward(self, n: int):\n"
        "        return torch.zeros(n, device='cuda')\n",
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "from torch import nn\n"
            "from vllm.platforms import current_platform\n"
            "class Rope(nn.Module):\n"
            "    def __init__(self, dim: int):\n"
            "        super().__init__()\n"
            "        self.register_buffer('cache', self._compute_cache(dim), persistent=False)\n"
            "    def _compute_cache(self, dim: int) -> torch.Tensor:\n"
            "        return torch.arange(dim, dtype=torch.float32, device=current_platform.device_type)\n",
            "import torch\n"
            "from torch import nn\n"
            "class Rope(nn.Module):\n"
            "    def __init__(self, dim: int):\n"
            "        super().__init__()\n"
            "        self.register_buffer('cache', self._compute_cache(dim), persistent=False)\n"
            "    def _compute_cache(self, dim: int) -> torch.Tensor:\n"
            "        return torch.arange(dim, dtype=torch.float32)\n",
        ),
        Invalid(
            "import torch\n"
            "from torch import nn\n"
            "class Gate(nn.Module):\n"
            "    def __init__(self, n: int):\n"
            "        super().__init__()\n"
            "        self.bias = nn.Parameter(torch.zeros(n).cuda())\n",
            "import torch\n"
            "from torch import nn\n"
            "class Gate(nn.Module):\n"
            "    def __init__(self, n: int):\n"
            "        super().__init__()\n"
            "        self.bias = nn.Parameter(torch.zeros(n))\n",
        ),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        facts = analysis.facts
        collected = construction_sites(analysis)
        found = collected.sites
        # A device kept in a name (`device = get_device()`, `self.device`) that also places what is not
        # reported here (a symmetric-memory buffer, forward-time tensors) must not be dropped from one tensor
        # alone: the two would part ways.
        reported = {id(site.move[1].value) for site in found if site.move[1] is not None}
        # A placeholder keeps its platform device (no fix), so the rest of that module's state must keep it too.
        pinned = {site.owner: site.placeholder for site in reversed(found) if site.placeholder is not None}
        for site in found:
            if site.placeholder is not None:
                continue  # DL006's (opt-in)
            platform, arg = site.move
            kept = _alias_used_elsewhere(platform, site.method, facts, reported)
            beside = pinned.get(site.owner) if not kept else None
            if site.device_arg is not None:
                self._report_factory(site, platform, analysis, context, kept, beside)
            else:
                self._report_move(site, (platform, arg), analysis, context, kept, beside)
        for fallback in collected.fallbacks:
            self._report_fallback(fallback.caller, fallback.reached, fallback.where, analysis, context)

    def _report_factory(self, site: ConstructionSite, platform: PlatformDevice, analysis: ModuleAnalysis,
                        context: RuleContext, kept: bool, beside: str | None) -> None:
        call, method, device_arg = site.call, site.method, site.device_arg
        assert device_arg is not None
        label = call_label(call, analysis, method)
        param = _callers_device_param(method)
        advice = f"pass the caller's `{param}`" if param is not None else "drop `device=` to follow the default device"
        message = (f"`{label}` in {site.where} runs while the module is built and pins its result to the "
                   f"platform device {describe_construction_platform(platform, context)}; {advice}")
        fix = None
        if kept:
            message += _KEPT_NOTE.format(alias=platform.alias)
        elif beside is not None:
            message += _BESIDE_NOTE.format(attr=beside)
        elif param is not None:
            fix = self.fix(f"Pass the caller's `{param}`", [context.replace(device_arg.value, param)],
                           unsafe=UnsafeReason.CHANGES_DEFAULT)
        else:
            fix = self.fix("Drop the device argument", [delete_arg(context, call, device_arg)], unsafe=_risk(platform))
        context.report(self.code, device_arg, message, fix=fix, function=method.name, cover=call)

    def _report_move(self, site: ConstructionSite, move: tuple[PlatformDevice, cst.Arg | None],
                     analysis: ModuleAnalysis, context: RuleContext, kept: bool, beside: str | None) -> None:
        call, method, where = site.call, site.method, site.where
        platform, arg = move
        what = call_label(call, analysis, method)
        fix: Fix | None = self.fix(f"Drop `{what}`", [drop_call(context, call)], unsafe=_risk(platform))
        advice = "drop the move"
        rest = [a for a in call.args if a is not arg]
        param = _callers_device_param(method)
        if param is not None:
            # The function already takes the caller's device (`def _set_cache(self, n, device)`): move there.
            assert isinstance(call.func, cst.Attribute)
            if arg is not None and call.func.attr.value in ("to", "to_empty"):
                edit = context.replace(arg.value, param)
            else:  # `.cuda()`, `.npu(0)`: `.to(device)` (a CPU or meta device is no argument of `.cuda()`);
                # `non_blocking=`/`memory_format=` keep their meaning in `.to()`.
                dropped = drop_call(context, call)
                kept_args = "".join(f", {code_of(a)}" for a in call.args
                                    if a.keyword is not None and a.keyword.value in _MOVE_OPTIONS)
                edit = Edit(content=f".to({param}{kept_args})", start=dropped.start, end=dropped.end)
            fix = self.fix(f"Move to the caller's `{param}`", [edit], unsafe=UnsafeReason.CHANGES_DEFAULT)
            advice = f"move to the caller's `{param}` instead"
        elif arg is not None and any(a.keyword is None or a.keyword.value == "dtype" for a in rest):
            # `.to(dtype=..., device="cuda")`, `.to("cuda", torch.float16)`: keep the rest of the move.
            fix = self.fix("Drop the device argument", [delete_arg(context, call, arg)], unsafe=_risk(platform))
            advice = "drop the device"
        target = "the platform device" + (f" {describe_construction_platform(platform, context)}" if arg is not None else "")
        message = (f"`{what}` in {where} runs while the module is built and moves the tensor to {target}; {advice}"
                   + ("" if param is not None else " to follow the default device"))
        if kept:
            fix = None
            message += _KEPT_NOTE.format(alias=platform.alias)
        elif beside is not None:
            fix = None
            message += _BESIDE_NOTE.format(attr=beside)
        assert isinstance(call.func, cst.Attribute)  # a move is a method call
        context.report(self.code, arg if arg is not None else call.func.attr,
                       message, fix=fix, function=method.name, cover=call)

    def _report_fallback(self, caller: CallerDefault, reached: list[tuple[cst.Call, FunctionFacts]], where: str,
                         analysis: ModuleAnalysis, context: RuleContext) -> None:
        call, method = reached[0]
        label = call_label(call, analysis, method)
        more = len(reached) - 1
        reach = f"`{label}` (line {context.line_of(call)})" + (f" and {more} more" if more else "")
        fix = None
        fallback = caller.fallback
        message = (f"`{caller.param}` falls back to the platform device {describe_platform(caller.platform, context)} "
                   f"when the caller passes none, and reaches {reach} in {where} while the module is built; drop the "
                   "fallback so that None follows the default device")
        if not isinstance(fallback, cst.If) or not _removable_if(fallback, caller):
            message += " (no fix: the fallback is not a lone `if ... is None:` assignment)"
        elif not reads_only_as_device_argument(caller.owner, caller.param, fallback):
            message += f" (no fix: `{caller.param}` is used other than as a `device=` argument, where None may not do)"
        else:
            fix = self.fix("Drop the platform fallback", [delete_statement(context, fallback)],
                           unsafe=UnsafeReason.CHANGES_DEFAULT)
        context.report(self.code, caller.platform_node, message, fix=fix, function=caller.owner.name, cover=fallback)


_MOVE_OPTIONS = ("non_blocking", "memory_format")
_KEPT_NOTE = " (no fix: `{alias}` also places other tensors, which would then part ways with this one)"
_BESIDE_NOTE = (" (no fix: the uninitialized `self.{attr}` of the same module keeps the platform device, a "
                "loader's placeholder (DL006), and the two would part ways)")


def _callers_device_param(method: FunctionFacts) -> str | None:
    """`device` when it is a parameter of the function, never rebound there: the caller's own device, which a
    platform placement in the same function ignores (the caller passes `x.device` to grow a cache)."""
    param = method.params.get("device")
    if param is None or "device" in method.bindings or (isinstance(param.star, str) and param.star):
        return None
    return "device"


def _alias_used_elsewhere(platform: PlatformDevice, method: FunctionFacts, facts: ModuleFacts,
                          reported: set[int]) -> bool:
    """Is the name the platform device is read through (`device`, `self.device`) read anywhere but at the
    device arguments reported here (and where it is assigned)?"""
    alias = platform.alias
    if alias is None:
        return False
    if alias.startswith("self."):
        attr = alias[len("self."):]
        if method.cls is None:
            return True
        methods = [m for c in facts.class_chain(method.cls) for m in c.methods.values()]
        return any(_reads_elsewhere(m.node, lambda n, m=m: isinstance(n, cst.Attribute) and n.attr.value == attr
                                    and isinstance(n.value, cst.Name) and n.value.value == m.self_name, reported)
                   for m in methods)
    return _reads_elsewhere(method.node, lambda n: isinstance(n, cst.Name) and n.value == alias, reported)


def _reads_elsewhere(root: cst.CSTNode, matches, reported: set[int]) -> bool:
    stores: set[int] = set()
    stack: list[cst.CSTNode] = [root.body] if isinstance(root, cst.FunctionDef) else [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign):
            stores.update(id(t.target) for t in node.targets)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            stores.add(id(node.target))
        if matches(node):
            if id(node) not in reported and id(node) not in stores:
                return True
            continue
        stack.extend(reversed(list(child_nodes(node))))
    return False


def describe_construction_platform(platform: PlatformDevice, context: RuleContext) -> str:
    """`describe_platform`, saying when the platform device is only one branch of a conditional
    (`get_device() if bloom else "cpu"`): the other branch is what most builds may get."""
    text = describe_platform(platform, context)
    return text + ", on one branch of a conditional" if platform.conditional else text


def _risk(platform: PlatformDevice) -> UnsafeReason:
    """A conditional device (`get_device() if bloom else "cpu"`) may have been chosen per branch on purpose."""
    return UnsafeReason.CONDITIONAL_DEVICE if platform.conditional else UnsafeReason.REMOVES_PLACEMENT


def _removable_if(node: cst.If, caller: CallerDefault) -> bool:
    """`if device is None: device = "cuda"` alone: no `else`, one statement, directly in the function body
    beside others (so removing it leaves a body)."""
    if node.orelse is not None:
        return False
    body = node.body.body
    if len(body) != 1:
        return False
    statements = list(getattr(caller.owner.node.body, "body", ()))
    return any(s is node for s in statements) and len(statements) > 1
