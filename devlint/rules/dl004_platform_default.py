"""DL004: a platform device as a parameter's default value."""

from __future__ import annotations

import libcst as cst

from devlint.analysis import ModuleAnalysis
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import describe_platform


class PlatformDefault(Rule):
    """
    ## What it does
    Checks for function parameters whose default value is a platform device:
    `def f(..., device=current_platform.device_type)`, `device: str = "cuda"`,
    `device=torch.device("cuda")`, `device_id=torch.cuda.current_device()`. A plain string counts only for a
    parameter named like a device (`device`, `dev`, `*_device`, `device_*`); a platform expression counts
    for any parameter.

    ## Why is this bad?
    A default is evaluated once, when the `def` runs at import. Every caller that omits the argument gets
    the platform device — including code building under `torch.device("meta")`, CPU offload, another GPU or
    a non-CUDA accelerator — and `torch.cuda.current_device()` as a default even freezes the GPU index that
    was current at import time.

    ## Example
    ```python
    def make_positions(n: int, device: str = "cuda") -> torch.Tensor:
        return torch.arange(n, device=device)
    ```

    Use instead:
    ```python
    def make_positions(n: int, device: torch.device | str | None = None) -> torch.Tensor:
        return torch.arange(n, device=device)  # None: the default device, which contexts can set
    ```

    ## Fix safety
    No fix: what the default should become (None, a required argument, a sibling's device) is a design
    decision for the author.
    """

    code = "DL004"
    name = "platform-device-default-argument"
    summary = "Parameter defaults to the platform device"
    fix_availability = FixAvailability.NONE

    VALID = (
        "import torch\n"
        "def f(n: int, device: torch.device | None = None):\n"
        "    return torch.arange(n, device=device)\n",
        "def f(n: int, device: str = 'cpu'):\n"
        "    return n\n",
        # Not a device parameter: a backend name that happens to read "cuda".
        "def build(backend: str = 'cuda'):\n"
        "    return backend\n",
    )
    INVALID = (
        Invalid("from vllm.platforms import current_platform\n"
                "def f(n: int, device=current_platform.device_type):\n"
                "    return n\n"),
        Invalid("def f(n: int, device: str = 'cuda:0'):\n"
                "    return n\n"),
        Invalid("import torch\n"
                "def f(n: int, rank=torch.cuda.current_device()):\n"
                "    return n\n"),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        devices = analysis.devices
        for fn in analysis.facts.functions:
            if fn.is_module or fn.parent is None:
                continue
            for name, param in fn.params.items():
                if param.default is None:
                    continue
                platform = devices.platform_device_of(param.default, fn.parent, fn.parent.seq_of.get(fn.node, 1 << 62))
                if platform is None:
                    continue
                literal = isinstance(param.default, (cst.SimpleString, cst.FormattedString))
                if literal and not _names_a_device(name):
                    continue
                why = ("right only where the process computes on that device type" if literal
                       else "evaluated once, when the function is defined")
                context.report(
                    self.code, param.default,
                    f"`{name}` defaults to the platform device {describe_platform(platform, context)}, {why}; "
                    "default to None (the ambient default device) or make callers pass it",
                    function=fn.name, cover=param)


def _names_a_device(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("device", "dev") or lowered.endswith("_device") or lowered.startswith("device_")
