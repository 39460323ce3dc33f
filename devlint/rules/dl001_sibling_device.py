"""DL001: a tensor factory placed on the platform device where a sibling tensor's device is at hand."""

from __future__ import annotations

from devlint.analysis import ModuleAnalysis
from devlint.rules.base import FixAvailability, Invalid, Rule, RuleContext
from devlint.rules.common import (
    BranchDebris,
    call_label,
    callers_device,
    choose_sibling,
    describe_platform,
    describe_siblings,
    platform_factory_calls,
    sibling_fix_risk,
    without_branch_debris,
)
from devlint.types import UnsafeReason


class SiblingDevice(Rule):
    """
    ## What it does
    Checks for tensor factory calls (`torch.arange`, `torch.zeros`, `torch.empty`, `torch.full`,
    `torch.tensor`, ...) whose device (`device=`, or `torch.as_tensor`'s positional slot) names the
    *platform's* device when, in the same function, the new tensor meets another tensor — its *sibling* — or
    is sized or typed from one. The diagnostic names the sibling, where they meet, and why devlint believes
    the sibling is a tensor. (`*_like` and `x.new_*` calls with a platform override are DL005's.)

    **Platform devices** (see the list below): device words (`"cuda"`, `"cuda:0"`, `f"cuda:{rank}"`,
    `torch.device("cuda")`), table entries after import aliases resolve (`current_platform.device_type`,
    `torch.cuda.current_device()`, and attributes continuing one: `current_accelerator().type`), a name or
    `self.<attr>` bound to one (tuple unpacking and `:=` included; for `self.<attr>`, the constructor's last
    assignment), a module-level constant or a helper of the package whose every return is one (a helper
    returning `"cpu"` on one branch counts, and its fix is unsafe). A device literal inside an `if` that
    checks for that very platform (`if current_platform.is_xpu(): ... device="xpu"`) is deliberate.

    **Why the sibling is a tensor** — the evidence, each stated in the message:
    - an annotation (`x: torch.Tensor`, `Optional[torch.Tensor]`, a class attribute annotated so);
    - the result of a torch function or factory, or of a tensor method of a tensor;
    - a call of a function or method annotated `-> torch.Tensor` (this module, or another module of the
      package: `from .utils import make_mask`);
    - calling an `nn.Module` attribute (`self.proj(x)` where `self.proj = nn.Linear(...)`);
    - a registered buffer or parameter (`register_buffer`, `nn.Parameter`);
    - a dataclass or class field annotated as a tensor (`batch.seq_lens` with `batch: ForwardBatch`);
    - for unannotated parameters, loop variables and object attributes, *how the function uses them*: a
      tensor-only attribute (`.shape`, `.dtype`, `.device`, `.is_cuda`) or method (`.view()`,
      `.contiguous()`, `.numel()`, `.masked_fill()`, ...), or passing it as the tensor operand of a torch
      function (`torch.cumsum(lens, 0)`). Something that is called, or has module methods (`.parameters()`,
      `.eval()`), is not a tensor; a name alone is never evidence;
    - arithmetic, comparison and indexing of a tensor.

    **Where they meet**: a torch function taking several tensors, an operator, a comparison, indexing, an
    item or slice assignment (`cu[1:] = seq_lens.cumsum(0)`), `out=`, a tensor method taking it, a
    `torch.ops.<ns>.<op>(...)` call, a Triton launch (`kernel[grid](x, out, n)`), or another call the new
    tensor is passed to together with a tensor the function *received* (a parameter or an attribute; not a
    local it built, not `print`/logging/a record's constructor), or `p.grad = <new>`. Pointers handed to a C
    or CUDA kernel (`get_ptr(w)`, `c_void_p(w.data_ptr())`) stand for their tensors. A name bound in the
    branches of an `if` may hold either value (what a branch that returns binds does not reach past it).
    Shape and dtype count through locals and chains (`n, d = x.shape`, `dtype = x.dtype`,
    `torch.arange(n, device="cuda").repeat(x.shape[0], 1)`); alone, without a meeting, they make a finding
    only for a sibling proved a tensor by an annotation or a torch call — a shape read by use may belong to
    a config, and a buffer sized from a shard often lives elsewhere on purpose. A size read from an
    object's method is that object's (`graph.get_workspace_size()` of a graph built from `qkv.dtype` is no
    shape of `qkv`).

    Quiet: siblings the code placed on purpose (`torch.zeros(..., device="cpu")`, `.to(dev)`) — also on the
    same platform value: a `self.<attr>` the function has just built on a device, an attribute only ever
    built on one (`None` aside), a `.npu()`/`.cuda()` copy of an object's field (`meta.lens_cpu.npu()`), the
    result of a call handed a platform device or a placement (`_coefficients(w, n, device)`,
    `symm_mem.empty(n, device=device)`; one handed `x.device` follows `x` and still counts), a sibling the
    function asserts to be on that device (`assert x.device == self.device`); a sibling the
    function stages, moving that very tensor to the platform device itself (`lens.to(torch.int32).to(gpu)`:
    the work happens there, and the tensor may come from the host); a sibling
    assigned only after the call from tensors the function built itself (a kernel test's inputs), container
    literals (`[a, b]` is no combination), `.copy_()` (it copies across devices) and assigning the new
    tensor into another's slice (`tiles[:, :n] = torch.zeros(...)`, the same copy), and a new tensor handed to a
    collective (`dist.all_reduce(buf)`, `all_gather_into_tensor`, `broadcast`, ...): it sits on the
    communication device on purpose.

    ## Why is this bad?
    The platform device is where the *process* computes, not where *this* tensor graph is being built.
    When the module is constructed under `with torch.device("meta")` (how vLLM and Hugging Face build large
    models before loading weights), on CPU for offload, on another GPU, or on TPU/XPU/NPU, the sibling
    lives elsewhere and the combination fails:
    `RuntimeError: Tensor on device meta is not on the expected device cpu!` (vLLM PR #43926).

    ## Example
    ```python
    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(self.max_position, device=current_platform.device_type, dtype=torch.float32)
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
    ```

    Use instead:
    ```python
    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(self.max_position, device=inv_freq.device, dtype=torch.float32)
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
    ```

    ## Fix safety
    The fix replaces the device with `<sibling>.device`. It is safe when exactly one sibling exists, the new
    tensor is combined with it (an operator, a multi-tensor torch function, indexing), and it is a parameter
    or local variable of the same function that is provably a tensor (and never None): wherever the code
    worked before, the two devices were equal, so nothing changes. It is unsafe when the sibling is an
    attribute (`self.cos_sin_cache`) or an element or field of a container (`info[2]`, `batch.seq_lens`: the
    fix writes that expression's `.device`, never the container's), is a tensor only by how it is used, is
    only passed with the new tensor to another function, may be None (`Optional[torch.Tensor]`), is one of
    several candidates,
    is only copied into or out of (`.copy_()`, an item assignment) or only lends its shape or dtype
    (`torch.empty(cpu_tensor.shape, device="xpu")` is an accelerator copy on purpose), or when the device
    was a conditional expression (its other branch may have been meant). No fix is offered when the
    sibling is only assigned after the call, or is not a plain name. A device chosen in the branches of an
    `if` and read only here goes with the whole `if` (no `if flag: pass / else: pass` is left); when that `if`
    cannot go (a test or value with side effects, alone in its block), no fix is offered.
    """

    @classmethod
    def documentation(cls) -> str:
        from devlint.analysis.platform import DEFAULT_DEVICE_TYPES, FRAMEWORK_SIGNATURES

        lines = [super().documentation(), "", "## Platform devices on by default",
                 "Device words: " + ", ".join(f"`{word}`" for word in DEFAULT_DEVICE_TYPES) + ".",
                 "Framework APIs (each matches only when imported from that framework; add your own with",
                 "`--platform-device` or `[tool.devlint] platform-devices`):"]
        for framework, entries in FRAMEWORK_SIGNATURES.items():
            lines.append(f"- {framework}: " + ", ".join(f"`{entry}`" for entry in entries))
        return "\n".join(lines)

    code = "DL001"
    name = "platform-device-with-sibling-tensor"
    summary = "Tensor factory uses the platform device where a sibling tensor's device is available"
    fix_availability = FixAvailability.SOMETIMES
    UNSAFE_REASONS = (UnsafeReason.SIBLING_ATTRIBUTE, UnsafeReason.SIBLING_NOT_LOCAL, UnsafeReason.SIBLING_MAY_BE_NONE,
                      UnsafeReason.SIBLING_UNPROVEN, UnsafeReason.SEVERAL_SIBLINGS, UnsafeReason.SIBLING_NOT_COMBINED,
                      UnsafeReason.CONDITIONAL_DEVICE)

    VALID = (
        # Already follows its sibling.
        "import torch\n"
        "def cache(inv_freq: torch.Tensor, n: int):\n"
        "    t = torch.arange(n, device=inv_freq.device, dtype=torch.float32)\n"
        "    return torch.outer(t, inv_freq)\n",
        # A platform device with no sibling: nothing to follow (DL003 covers construction time).
        "import torch\n"
        "def workspace(n: int):\n"
        "    return torch.empty(n, dtype=torch.uint8, device='cuda')\n",
        # A host buffer pinned to "cpu" is deliberate.
        "import torch\n"
        "def host(x: torch.Tensor):\n"
        "    buf = torch.zeros(x.shape[0], device='cpu', pin_memory=True)\n"
        "    buf.copy_(x, non_blocking=True)\n",
        # A `device` parameter: the caller decides.
        "import torch\n"
        "def ids(x: torch.Tensor, device: str = 'cpu'):\n"
        "    return x + torch.arange(x.shape[0], device=device)\n",
        # `torch` here is a parameter, not the torch module.
        "def f(torch, x):\n"
        "    return x + torch.arange(4, device='cuda')\n",
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "from vllm.platforms import current_platform\n"
            "def cache(inv_freq: torch.Tensor, n: int):\n"
            "    t = torch.arange(n, device=current_platform.device_type, dtype=torch.float32)\n"
            "    return torch.einsum('i,j -> ij', t, inv_freq)\n",
            "import torch\n"
            "def cache(inv_freq: torch.Tensor, n: int):\n"
            "    t = torch.arange(n, device=inv_freq.device, dtype=torch.float32)\n"
            "    return torch.einsum('i,j -> ij', t, inv_freq)\n",
        ),
        Invalid(
            "import torch as th\n"
            "def mask(scores: th.Tensor):\n"
            "    return scores.masked_fill(th.ones(scores.shape[-1], dtype=th.bool, device='cuda').triu(1), 0)\n",
            "import torch as th\n"
            "def mask(scores: th.Tensor):\n"
            "    return scores.masked_fill(th.ones(scores.shape[-1], dtype=th.bool, device=scores.device).triu(1), 0)\n",
        ),
    )

    def check(self, analysis: ModuleAnalysis, context: RuleContext) -> None:
        for fn in analysis.facts.functions:
            # `*_like` and `x.new_*` inherit their input's device: DL005 owns their platform overrides.
            for seq, call, device_arg, platform in platform_factory_calls(analysis, fn, ("factory",)):
                siblings = analysis.siblings(fn).siblings_of(call, seq, call)
                if not siblings:
                    continue
                chosen = choose_sibling(siblings)
                message = (f"`{call_label(call, analysis, fn)}` puts its result on the platform device "
                           f"{describe_platform(platform, context)}, but it is "
                           f"{describe_siblings(siblings, chosen, context)}; use `device={chosen.text}.device`")
                fix = None
                note = callers_device(analysis, device_arg.value, fn, seq)
                if note:
                    message += note
                elif chosen.fix_blocker is None:
                    try:
                        edits = without_branch_debris(context, analysis, fn, device_arg.value, seq,
                                                      [context.replace(device_arg.value, f"{chosen.text}.device")])
                        fix = self.fix(f"Use `device={chosen.text}.device`", edits,
                                       unsafe=sibling_fix_risk(siblings, chosen, platform, analysis, fn))
                    except BranchDebris as exc:
                        message += f" (no fix: {exc})"
                else:
                    message += f" (no fix: {chosen.fix_blocker})"
                context.report(self.code, device_arg, message, fix=fix, function=fn.name, cover=call)
