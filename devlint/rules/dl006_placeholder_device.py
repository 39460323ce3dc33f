"""DL006: an uninitialized parameter or buffer, filled by a loader, allocated on the platform device while
an `nn.Module` is built (off unless selected)."""

from __future__ import annotations

from devlint.analysis import ModuleAnalysis
from devlint.analysis.construction import construction_sites
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import call_label
from devlint.rules.dl003_construction_device import describe_construction_platform


class PlaceholderDevice(Rule):
    """
    ## What it does
    Checks `nn.Module` construction (the methods DL003 reads) for an *uninitialized placeholder* pinned to
    the platform's device: `torch.empty`/`torch.empty_strided` with a platform `device=` that becomes an
    `nn.Parameter` or a persistent buffer, directly, and that no construction method reads or initialises
    again (no `init.normal_(self.w)`, `self.w.zero_()`, `set_weight_attrs(self.w, ...)`).

    This rule is **off unless selected by its code** (`select`/`extend-select = ["DL006"]`, or
    `--extend-select DL006`, or `ALL`); a prefix such as `DL`, the default, does not turn it on.

    ## Why is this bad?
    Built under `with torch.device("meta")` (or a default-device context), the placeholder escapes the
    context: it allocates real accelerator memory during a meta build, and on a CPU-only or non-CUDA machine
    construction crashes.

    ## Why is it off by default?
    A placeholder's values can only come from outside the module — a checkpoint loader copying into it — so
    where it lives is that loader's choice. Inference containers that a loader fills directly on the
    accelerator, built after the model and never under a device context (kernel-injection containers do
    this), allocate there on purpose: dropping the device would make a meta-loaded checkpoint materialise in
    host memory, or leave loaded weights on the CPU. Whether the line is a bug depends on how your project
    builds its models, which a linter cannot see; select this rule where models are built under a device
    context.

    ## Example
    ```python
    class Linear(nn.Module):
        def __init__(self, n: int, k: int):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(n, k, device="cuda"), requires_grad=False)
    ```

    Use instead (the loader or the caller's device context places it):
    ```python
            self.weight = nn.Parameter(torch.empty(n, k), requires_grad=False)
    ```

    ## Fix safety
    No fix is offered: whether the loader relies on the placement is outside the module.
    """

    code = "DL006"
    name = "platform-device-placeholder"
    summary = "Uninitialized parameter or buffer for a loader to fill, allocated on the platform device at construction"
    fix_availability = FixAvailability.NONE
    opt_in = True

    VALID = (
        # Follows the default device: a meta build keeps it on meta.
        "import torch\n"
        "from torch import nn\n"
        "class Linear(nn.Module):\n"
        "    def __init__(self, n: int, k: int):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.empty(n, k), requires_grad=False)\n",
        # Initialised while the module is built: not a placeholder (DL003's, when on the platform device).
        "import torch\n"
        "from torch import nn\n"
        "class Linear(nn.Module):\n"
        "    def __init__(self, n: int, k: int):\n"
        "        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.empty(n, k))\n"
        "        nn.init.normal_(self.weight)\n",
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "from torch import nn\n"
            "class Linear(nn.Module):\n"
            "    def __init__(self, n: int, k: int):\n"
            "        super().__init__()\n"
            "        self.weight = nn.Parameter(torch.empty(n, k, device='cuda'), requires_grad=False)\n",
            None,
        ),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        for site in construction_sites(analysis).sites:
            if site.placeholder is None or site.device_arg is None:
                continue
            platform = site.move[0]
            message = (f"`{call_label(site.call, analysis, site.method)}` in {site.where} pins the uninitialized "
                       f"`self.{site.placeholder}` to the platform device "
                       f"{describe_construction_platform(platform, context)} while the module is built, where a "
                       "meta or default-device build cannot redirect it; construction never fills it, so a loader "
                       "does: drop `device=` if that loader copies into a module it places itself")
            context.report(self.code, site.device_arg, message, function=site.method.name, cover=site.call)
