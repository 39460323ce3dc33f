"""DL005: `*_like` / `new_*` given a platform device, overriding the device they would inherit."""

from __future__ import annotations

import libcst as cst

from devlint.analysis import FactoryKind, ModuleAnalysis, SiblingRelation, code_of
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import (
    BranchDebris,
    call_label,
    callers_device,
    delete_arg,
    describe_platform,
    platform_factory_calls,
    without_branch_debris,
)
from devlint.types import UnsafeReason


class LikeOverride(Rule):
    """
    ## What it does
    Checks for `torch.zeros_like(x, device=<platform>)` (and the other `*_like` factories) and
    `x.new_zeros(..., device=<platform>)` (and the other `new_*` methods) whose `device=` names the
    platform's device, when the result is then combined with tensors in the same function. (A result that
    is only copied into — a staging buffer for CPU offload — overrides the device on purpose and is left
    alone.)

    ## Why is this bad?
    These factories exist to follow `x`: without `device=` the result lands where `x` is. Overriding it
    with the platform device re-creates the sibling-device bug on purpose: under `torch.device("meta")`,
    CPU offload or another accelerator the new tensor and `x` part ways.

    ## Example
    ```python
    noise = torch.empty_like(probs, device="cuda").exponential_()
    return probs.div(noise).argmax(dim=-1)
    ```

    Use instead:
    ```python
    noise = torch.empty_like(probs).exponential_()
    ```

    ## Fix safety
    The fix drops the `device=` argument. It is safe: wherever the code worked before, `x` was on the
    platform device, so the result stays where it was. It is unsafe when the device came from a
    conditional expression (`"cpu" if on_tpu else "cuda"`), whose other branch was chosen on purpose.
    """

    code = "DL005"
    name = "platform-device-overrides-like"
    summary = "`*_like` / `new_*` call overrides its input's device with the platform device"
    fix_availability = FixAvailability.ALWAYS
    UNSAFE_REASONS = (UnsafeReason.CONDITIONAL_DEVICE,)

    VALID = (
        "import torch\n"
        "def f(x: torch.Tensor):\n"
        "    return torch.zeros_like(x), x.new_ones(3)\n",
        # An explicit, non-platform device is a deliberate copy elsewhere.
        "import torch\n"
        "def f(x: torch.Tensor):\n"
        "    return torch.empty_like(x, device='cpu', pin_memory=True)\n",
        # A staging buffer for an offloaded weight: only copied into, so the override is deliberate.
        "import torch\n"
        "def onload(weight_cpu: torch.Tensor):\n"
        "    weight = torch.empty_like(weight_cpu, device='cuda')\n"
        "    weight.copy_(weight_cpu, non_blocking=True)\n"
        "    return weight\n",
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "def f(probs: torch.Tensor):\n"
            "    noise = torch.empty_like(probs, device='cuda').exponential_()\n"
            "    return probs.div(noise).argmax(dim=-1)\n",
            "import torch\n"
            "def f(probs: torch.Tensor):\n"
            "    noise = torch.empty_like(probs).exponential_()\n"
            "    return probs.div(noise).argmax(dim=-1)\n",
        ),
        Invalid(
            "import torch\n"
            "from vllm.platforms import current_platform\n"
            "def f(x: torch.Tensor, n: int):\n"
            "    return x + x.new_zeros(\n"
            "        n,\n"
            "        dtype=torch.int32,\n"
            "        device=current_platform.device_type,\n"
            "    )\n",
            "import torch\n"
            "def f(x: torch.Tensor, n: int):\n"
            "    return x + x.new_zeros(\n"
            "        n,\n"
            "        dtype=torch.int32,\n"
            "    )\n",
        ),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        for fn in analysis.facts.functions:
            for seq, call, device_arg, platform in platform_factory_calls(analysis, fn, ("like", "new")):
                source = _inherited_from(call, analysis.tensors.factory_kind(call, fn))
                if source is None:
                    continue
                # Staging copies (`gpu = torch.empty_like(cpu_tensor, device="cuda"); gpu.copy_(cpu_tensor)`,
                # CPU offload) override the device on purpose. Only a result that is then combined with
                # tensors — which must share its device — shows the override is a bug.
                if not any(s.kind is SiblingRelation.COMBINE for s in analysis.siblings(fn).siblings_of(call, seq)):
                    continue
                note = callers_device(analysis, device_arg.value, fn, seq)
                fix = None
                if not note:
                    try:
                        edits = without_branch_debris(context, analysis, fn, device_arg.value, seq,
                                                      [delete_arg(context, call, device_arg)])
                        fix = self.fix("Drop the device argument", edits,
                                       unsafe=UnsafeReason.CONDITIONAL_DEVICE if platform.conditional else None)
                    except BranchDebris as exc:
                        note = f" (no fix: {exc})"
                context.report(
                    self.code, device_arg,
                    f"`{call_label(call, analysis, fn)}` would follow `{code_of(source)}`'s device, but "
                    f"`device=` overrides it with the platform device {describe_platform(platform, context)}; "
                    "drop `device=`" + (note or ""),
                    fix=fix, function=fn.name, cover=call)


def _inherited_from(call: cst.Call, kind: str | None) -> cst.BaseExpression | None:
    """The tensor a `*_like` call (its first argument) or a `new_*` call (its receiver) copies its device from."""
    if kind is FactoryKind.NEW:
        return call.func.value if isinstance(call.func, cst.Attribute) else None
    first = call.args[0] if call.args else None
    if first is None or first.star:
        return None
    if first.keyword is not None and first.keyword.value != "input":
        return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "input"), None)
    return first.value
