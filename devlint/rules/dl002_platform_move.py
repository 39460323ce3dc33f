"""DL002: a tensor moved to the platform device (`.cuda()`, `.to("cuda")`) where a sibling's device is at hand."""

from __future__ import annotations

import libcst as cst

from devlint.analysis import FunctionFacts, ModuleAnalysis, PlatformDevice, code_of
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import (
    BranchDebris,
    callers_device,
    choose_sibling,
    computed_source,
    delete_arg,
    describe_platform,
    describe_siblings,
    drop_call,
    keyword_arg,
    sibling_fix_risk,
    without_branch_debris,
)
from devlint.types import Edit, UnsafeReason


class PlatformMove(Rule):
    """
    ## What it does
    Checks for tensors moved to the *platform's* device — `.cuda()` (and `.xpu()`, `.npu()`, ...),
    `.to("cuda")`, `.to(device=current_platform.device_type)`, `.to(self.device)` where `self.device` was
    set from the platform — when, in the same function, the moved tensor is combined with another tensor.
    Also checks the guarded form `if x.is_cuda: y = y.cuda()`, which follows `x` only on CUDA, and moves
    of a value *computed from* a tensor the function received, even when the result meets nothing
    afterwards: `scale = (weight.abs().amax(dim=-1) / 448.0).to(device=self.device)`, `mask = (lengths[:, None]
    > pos).cuda()` — the computation already happened on its source's device, and the move sends the
    result to the platform device instead of leaving it there. A bare parameter or buffer moved on purpose
    (`weight.cuda()` when onloading), a view or dtype conversion of one, tensors the code placed itself, and
    a value computed from a tensor the function stages on the platform device itself (`used = (lens +
    off).to(gpu)` beside `lens.to(torch.int32).to(gpu)`: a kernel plan) stay quiet, and so do siblings the
    function stages (see DL001).

    ## Why is this bad?
    A move to the platform device assumes the computation happens there. When the sibling tensor lives on
    the CPU (offload), on meta (construction), on another GPU, or on a non-CUDA accelerator, the moved
    tensor no longer meets it on one device. The guarded form silently does nothing on XPU/NPU/HPU, where
    `is_cuda` is False even though `x` is on an accelerator.

    ## Example
    ```python
    def rope_cache(self) -> torch.Tensor:
        freqs = torch.outer(t, self.inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1).to(self.device) * self.inv_freq[0]
    ```

    Use instead:
    ```python
    def rope_cache(self) -> torch.Tensor:
        freqs = torch.outer(t, self.inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1).to(self.inv_freq.device) * self.inv_freq[0]
    ```

    ## Fix safety
    The fix moves to `<sibling>.device` instead (`.cuda()` becomes `.to(<sibling>.device)`, keeping
    `non_blocking=`). Like DL001's, it is safe only for one sibling that is a provable, never-None local
    tensor of the same function, and unsafe otherwise. The guarded form's fix (`y = y.to(x.device)`, guard
    dropped) is always unsafe: on devices where the guard was false, it now moves the tensor. For a move of
    a computed value the fix drops the device (`.to(device=..., dtype=d)` → `.to(dtype=d)`, `.cuda()` and
    `.to(device)` → nothing) and is unsafe: it removes a placement the caller may rely on (a CPU-offloaded
    weight whose statistics are wanted on the GPU).
    """

    code = "DL002"
    name = "platform-move-with-sibling-tensor"
    summary = "Tensor moved to the platform device where a sibling tensor's device is available"
    fix_availability = FixAvailability.SOMETIMES
    UNSAFE_REASONS = (UnsafeReason.SIBLING_ATTRIBUTE, UnsafeReason.SIBLING_NOT_LOCAL, UnsafeReason.SIBLING_MAY_BE_NONE,
                      UnsafeReason.SIBLING_UNPROVEN, UnsafeReason.SEVERAL_SIBLINGS, UnsafeReason.SIBLING_NOT_COMBINED,
                      UnsafeReason.CONDITIONAL_DEVICE, UnsafeReason.GUARD_DROPPED)

    VALID = (
        # Moves to the sibling's device already.
        "import torch\n"
        "def f(x: torch.Tensor, y: torch.Tensor):\n"
        "    return x + y.to(x.device)\n",
        # Moving a weight to the compute device under CPU offload: nothing to follow.
        "import torch\n"
        "def onload(weight: torch.Tensor):\n"
        "    return weight.cuda(non_blocking=True)\n",
        # A dtype conversion is not a move.
        "import torch\n"
        "def f(x: torch.Tensor, y: torch.Tensor):\n"
        "    return x + y.to(torch.float16)\n",
        # `model.cuda()` moves a module, not a tensor we can prove.
        "def f(model, x):\n"
        "    return model.cuda()(x)\n",
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "def f(x: torch.Tensor, ids: list[int]):\n"
            "    index = torch.tensor(ids).cuda(non_blocking=True)\n"
            "    return x.index_select(0, index)\n",
            "import torch\n"
            "def f(x: torch.Tensor, ids: list[int]):\n"
            "    index = torch.tensor(ids).to(x.device, non_blocking=True)\n"
            "    return x.index_select(0, index)\n",
        ),
        Invalid(
            "import torch\n"
            "def f(hidden: torch.Tensor, mask: torch.Tensor):\n"
            "    if hidden.is_cuda:\n"
            "        mask = mask.cuda()\n"
            "    return hidden * mask\n",
            "import torch\n"
            "def f(hidden: torch.Tensor, mask: torch.Tensor):\n"
            "    mask = mask.to(hidden.device)\n"
            "    return hidden * mask\n",
        ),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        guarded: set[int] = set()
        for fn in analysis.facts.functions:
            for _, node in fn.ifs:
                found = self._guarded_move(node, fn, analysis)
                if found is not None:
                    move, guard_tensor, target = found
                    guarded.add(id(move))
                    replacement = f"{code_of(target)} = {code_of(target)}.to({guard_tensor}.device)"
                    context.report(
                        self.code, move,
                        f"`.{move.func.attr.value}()` runs only when `{guard_tensor}.is_cuda`; on XPU, NPU or "  # type: ignore[union-attr]
                        f"other accelerators the tensor stays behind; use `{replacement}`",
                        fix=self.fix(f"Use `{replacement}` without the guard", [context.replace(node, replacement)],
                                     unsafe=UnsafeReason.GUARD_DROPPED),
                        function=fn.name, cover=node)
        for fn in analysis.facts.functions:
            for seq, call in fn.calls:
                if id(call) not in guarded:
                    self._check_move(call, seq, fn, analysis, context)

    def _check_move(self, call: cst.Call, seq: int, fn: FunctionFacts, analysis: ModuleAnalysis,
                    context: RuleContext) -> None:
        move = analysis.devices.platform_move_of(call, fn, seq)
        if move is None:
            return
        platform, device_arg = move
        assert isinstance(call.func, cst.Attribute)
        receiver = analysis.tensors.device_carrier(call.func.value, fn, seq)
        receiver_text = code_of(receiver) if receiver is not None else None
        siblings = [s for s in analysis.siblings(fn).siblings_of(call, seq) if s.text != receiver_text]
        if not siblings:
            self._check_computed_move(call, seq, fn, analysis, context, platform, device_arg)
            return
        chosen = choose_sibling(siblings)
        where = "the platform device" + (f" {describe_platform(platform, context)}" if device_arg is not None else "")
        method = call.func.attr.value
        message = (f"`.{method}()` moves the tensor to {where}, but it is "
                   f"{describe_siblings(siblings, chosen, context)}; move it to `{chosen.text}.device`")
        fix = None
        note = callers_device(analysis, device_arg.value if device_arg is not None else None, fn, seq)
        if note:
            message += note
        elif chosen.fix_blocker is None:
            try:
                edits = without_branch_debris(context, analysis, fn, device_arg.value if device_arg else None, seq,
                                              [self._edit(call, device_arg, chosen.text, context)])
                fix = self.fix(f"Move to `{chosen.text}.device`", edits,
                               unsafe=sibling_fix_risk(siblings, chosen, platform, analysis, fn))
            except BranchDebris as exc:
                message += f" (no fix: {exc})"
        else:
            message += f" (no fix: {chosen.fix_blocker})"
        context.report(self.code, device_arg if device_arg is not None else call.func.attr, message, fix=fix,
                       function=fn.name, cover=call)

    def _check_computed_move(self, call: cst.Call, seq: int, fn: FunctionFacts, analysis: ModuleAnalysis,
                             context: RuleContext, platform: PlatformDevice, device_arg: cst.Arg | None) -> None:
        assert isinstance(call.func, cst.Attribute)
        source = computed_source(call.func.value, fn, seq, analysis)
        if source is None or analysis.siblings(fn).sent_to_collective(call):
            return
        source_text, evidence_text = source
        method = call.func.attr.value
        where = "the platform device" + (f" {describe_platform(platform, context)}" if device_arg is not None else "")
        edit, whole = self._drop_device_edit(call, device_arg, context)
        message = (f"`.{method}()` moves a tensor computed from `{source_text}` to {where}; {evidence_text}; "
                   f"leave it on `{source_text}`'s device (drop the {'move' if whole else 'device'})")
        fix = None
        try:
            edits = without_branch_debris(context, analysis, fn, device_arg.value if device_arg else None, seq, [edit])
            fix = self.fix("Drop the move" if whole else "Drop the device argument", edits,
                           unsafe=UnsafeReason.REMOVES_PLACEMENT)
        except BranchDebris as exc:
            message += f" (no fix: {exc})"
        context.report(self.code, device_arg if device_arg is not None else call.func.attr, message, fix=fix,
                       function=fn.name, cover=call)

    @staticmethod
    def _drop_device_edit(call: cst.Call, device_arg: cst.Arg | None, context: RuleContext) -> tuple[Edit, bool]:
        """`.cuda(...)` and a `.to()` whose only argument is the device go (True: the whole move); otherwise
        only the device does (`.to(device=d, dtype=t)` → `.to(dtype=t)`, `.to(d, t)` → `.to(t)`)."""
        others = [a for a in call.args if a is not device_arg and not (a.keyword is not None and a.keyword.value == "non_blocking")]
        if device_arg is None or not others:
            return drop_call(context, call), True
        return delete_arg(context, call, device_arg), False

    @staticmethod
    def _edit(call: cst.Call, device_arg: cst.Arg | None, sibling: str, context: RuleContext) -> Edit:
        if device_arg is not None:
            return context.replace(device_arg.value, f"{sibling}.device")
        # `.cuda(...)` → `.to(sibling.device, non_blocking=...)`: the attribute name through the call's end.
        assert isinstance(call.func, cst.Attribute)
        extra = keyword_arg(call, "non_blocking")
        arguments = f"{sibling}.device" + (f", non_blocking={code_of(extra.value)}" if extra is not None else "")
        start = context.span(call.func.attr)[0]
        return Edit(content=f"to({arguments})", start=start, end=context.span(call)[1])

    @staticmethod
    def _guarded_move(node: cst.If, fn: FunctionFacts, analysis: ModuleAnalysis):
        """`if x.is_cuda: y = y.cuda()` (one statement, no else) → (the move, `x`, `y`)."""
        test = node.test
        if node.orelse is not None or not (isinstance(test, cst.Attribute) and test.attr.value == "is_cuda"):
            return None
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
            return None
        statement = body[0].body[0]
        if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1):
            return None
        target, value = statement.targets[0].target, statement.value
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in ("cuda", "to") and isinstance(target, (cst.Name, cst.Attribute))
                and code_of(value.func.value) == code_of(target)):
            return None
        seq = fn.seq_of.get(value, 0)
        if analysis.devices.platform_move_of(value, fn, seq) is None:
            return None
        guard = analysis.tensors.device_carrier(test.value, fn, seq)
        if guard is None:
            return None
        return value, code_of(guard), target
