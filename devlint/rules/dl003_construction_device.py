"""DL003: a tensor pinned to the platform device while an `nn.Module` is being constructed."""

from __future__ import annotations

from devlint.analysis import ModuleAnalysis
from devlint.analysis.construction import (
    construction_methods,
    is_module_class,
    registered_methods,
    registration_targets,
)
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import call_label, delete_arg, describe_platform, drop_call, platform_factory_calls


class ConstructionDevice(Rule):
    """
    ## What it does
    Checks `nn.Module` construction — `__init__`, `reset_parameters`, `_init_weights` and the methods of the
    class they call (such as `_compute_cos_sin_cache`) — for tensors placed on the *platform's* device (a
    factory call with a platform `device=`, or a move with `.cuda()`/`.to("cuda")`) that become module state:
    an `nn.Parameter`, or a buffer or parameter registered with `register_buffer`/`register_parameter` —
    directly, through a local name, or as the result of a method whose result is registered. Cases with a
    sibling tensor are DL001's and DL002's; this rule covers tensors with nothing to follow. Workspaces
    and scratch tensors kept as plain attributes are left alone: `module.to()` does not move them and a
    meta build does not materialise them, so the platform device may be exactly right for them.

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
    The fix drops the device argument (or the `.cuda()` / `.to(...)` move), so the tensor follows the
    ambient default device. It is unsafe: outside a device context the tensor now lands on the CPU, so a
    caller that relied on construction placing it on the GPU must move the module (`model.cuda()`) or build
    it under `with torch.device(...)`.
    """

    code = "DL003"
    name = "platform-device-at-construction"
    summary = "Tensor placed on the platform device during nn.Module construction"
    fix_availability = FixAvailability.ALWAYS

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
            "from vllm.platforms import current_platform\n"
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
        facts, devices = analysis.facts, analysis.devices
        seen: set[int] = set()
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
                # Only what becomes module state (a parameter or registered buffer) follows `module.to()` and
                # is materialised after a meta build; a workspace kept as a plain attribute may live on the
                # platform device on purpose.
                state = registration_targets(facts, method) + (method.return_values if method.name in registered else [])
                if not state:
                    continue
                where = f"`{cls.name}.{method.name}` runs while the module is built and"
                for seq, call, device_arg, platform in platform_factory_calls(analysis, method, ("factory",)):
                    if finder.siblings_of(call, seq, call) or not finder.flows_into(call, state):
                        continue
                    context.report(
                        self.code, device_arg,
                        f"`{call_label(call, analysis, method)}` in {where} pins its result to the platform "
                        f"device {describe_platform(platform, context)}; drop `device=` to follow the default device",
                        fix=self.fix("Drop the device argument", [delete_arg(context, call, device_arg)], safe=False),
                        function=method.name, cover=call)
                for seq, call in method.calls:
                    move = devices.platform_move_of(call, method, seq)
                    if move is None or finder.siblings_of(call, seq) or not finder.flows_into(call, state):
                        continue
                    platform, arg = move
                    if arg is not None and len(call.args) > 1:
                        continue  # `.to("cuda", torch.float16)`: dropping the call would drop the dtype too
                    what = call_label(call, analysis, method)
                    target = "the platform device" + (f" {describe_platform(platform, context)}" if arg is not None else "")
                    context.report(
                        self.code, arg if arg is not None else call.func.attr,  # type: ignore[union-attr]
                        f"`{what}` in {where} moves the tensor to {target}; drop the move to follow the default "
                        "device",
                        fix=self.fix(f"Drop `{what}`", [drop_call(context, call)], safe=False),
                        function=method.name, cover=call)
