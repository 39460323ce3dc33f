"""DL001 behaviour, one property per test: what counts as a platform device, a tensor, a sibling."""

from __future__ import annotations

import textwrap

import pytest

from devlint.types import Applicability

from conftest import findings as all_findings, fixed, positions


def findings(source: str):
    return all_findings(source, select="DL001")

CANONICAL = '''
import torch
from vllm.platforms import current_platform


class DeepseekV4ScalingRotaryEmbedding(torch.nn.Module):
    def _compute_inv_freq(self, scaling_factor: float) -> torch.Tensor:
        return 1.0 / (10000 ** (torch.arange(0, 64, 2, dtype=torch.float) / 64))

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(
            self.max_position_embeddings * self.scaling_factor,
            device=current_platform.device_type,
            dtype=torch.float32,
        )
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        cos = freqs.cos() * self.mscale
        sin = freqs.sin() * self.mscale
        return torch.cat((cos, sin), dim=-1)
'''


def test_canonical_pr_43926_is_flagged_with_inv_freq_fix() -> None:
    [d] = findings(CANONICAL)
    assert (d.code, d.start.row, d.start.column) == ("DL001", 14, 13)
    assert "`inv_freq`" in d.message and "`torch.einsum`" in d.message and "line 17" in d.message
    assert d.fix is not None and d.fix.applicability is Applicability.SAFE
    # The edit, and the removal of the import it leaves unused (line 3, as ruff's F401 fix would).
    assert [(e.content, e.start.row, e.end.row) for e in d.fix.edits] == [("inv_freq.device", 14, 14), ("", 3, 4)]
    assert d.context_function == "_compute_cos_sin_cache"


def test_canonical_fix_produces_the_upstream_line_and_is_then_clean() -> None:
    after = fixed(CANONICAL)
    assert "device=inv_freq.device," in after
    assert after.replace("device=inv_freq.device,", "device=current_platform.device_type,") == \
        CANONICAL.replace("from vllm.platforms import current_platform\n", "")
    assert findings(after) == []


@pytest.mark.parametrize("device", [
    '"cuda"', "'cuda:1'", '"xpu"', '"npu"', '"hpu"', '"mps"', 'f"cuda:{rank}"', 'f"{current_platform.device_type}:0"',
    'torch.device("cuda")', 'torch.device("cuda", rank)', 'torch.device(type="xpu")',
    "torch.cuda.current_device()", "torch.accelerator.current_accelerator()",
    "torch.accelerator.current_device_index()", "current_platform.device_type", "current_platform.device_name",
    '"cpu" if current_platform.is_tpu() else current_platform.device_type',
])
def test_platform_devices_are_recognised(device: str) -> None:
    source = f'''
    import torch
    from vllm.platforms import current_platform
    def f(x: torch.Tensor, rank: int):
        return x + torch.arange(x.shape[-1], device={device})
    '''
    assert positions(findings(source)) == [(5, 42, "DL001")]


@pytest.mark.parametrize("device", [
    '"cpu"', '"meta"', '"cudagraph"', "x.device", "device", "torch.device('cpu')", "self_device()",
    "platform.device_type",
])
def test_non_platform_devices_are_not(device: str) -> None:
    source = f'''
    import torch
    def f(x: torch.Tensor, device, platform):
        return x + torch.arange(x.shape[-1], device={device})
    '''
    assert findings(source) == []


@pytest.mark.parametrize("imports,call", [
    ("import torch as th", "th.zeros"),
    ("from torch import zeros", "zeros"),
    ("from torch import zeros as z", "z"),
    ("import torch.nn; import torch", "torch.zeros"),
])
def test_torch_import_aliases(imports: str, call: str) -> None:
    source = f'''
    {imports}
    import torch
    def f(x: torch.Tensor):
        return x * {call}(4, device="cuda")
    '''
    assert [d.code for d in findings(source)] == ["DL001"]


@pytest.mark.parametrize("imports,expr", [
    ("from vllm.platforms import current_platform as cp", "cp.device_type"),
    ("import vllm.platforms", "vllm.platforms.current_platform.device_type"),
    ("from vllm import platforms", "platforms.current_platform.device_type"),
])
def test_platform_import_aliases(imports: str, expr: str) -> None:
    source = f'''
    import torch
    {imports}
    def f(x: torch.Tensor):
        return x * torch.ones(4, device={expr})
    '''
    assert [d.code for d in findings(source)] == ["DL001"]


def test_relative_import_of_current_platform_inside_vllm(tmp_path) -> None:
    from devlint.api import lint_paths

    pkg = tmp_path / "vllm" / "model_executor"
    pkg.mkdir(parents=True)
    (tmp_path / "vllm" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "rope.py").write_text(
        "import torch\nfrom ..platforms import current_platform\n"
        "def f(x: torch.Tensor):\n    return x * torch.ones(4, device=current_platform.device_type)\n")
    run = lint_paths([str(tmp_path)])
    assert [d.code for d in run.diagnostics] == ["DL001"]


def test_function_local_import_is_resolved() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor):
        from vllm.platforms import current_platform
        return x * torch.ones(4, device=current_platform.device_type)
    '''
    assert [d.code for d in findings(source)] == ["DL001"]


def test_shadowing_names_are_not_what_they_look_like() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def a(x: torch.Tensor, torch):
        return x * torch.ones(4, device="cuda")
    def b(x: torch.Tensor):
        current_platform = load_platform()
        return x * torch.ones(4, device=current_platform.device_type)
    def c(x: torch.Tensor, current_platform):
        return x * torch.ones(4, device=current_platform.device_type)
    '''
    assert findings(source) == []


def test_aliases_report_where_they_were_set() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    class Rope(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.device = current_platform.device_type

        def cache(self, inv_freq: torch.Tensor) -> torch.Tensor:
            t = torch.arange(16, device=self.device)
            return torch.outer(t, inv_freq)
    '''
    [d] = findings(source)
    assert "`self.device` (set to `current_platform.device_type` at model.py:7)" in d.message
    assert d.fix is not None and d.fix.applicability is Applicability.SAFE


def test_constructor_default_platform_device_reaches_self_attribute() -> None:
    source = '''
    import torch
    class Sampler:
        def __init__(self, device: str = "cuda"):
            self.device = device

        def penalties(self, logits: torch.Tensor) -> torch.Tensor:
            return logits / torch.ones(logits.shape[-1], device=self.device)
    '''
    [d] = findings(source)
    assert "`self.device` (set to `\"cuda\"`" in d.message


def test_self_attribute_assigned_something_else_somewhere_is_not_platform() -> None:
    source = '''
    import torch
    class Sampler:
        def __init__(self, device):
            self.device = "cuda"
        def to_device(self, device):
            self.device = device
        def penalties(self, logits: torch.Tensor) -> torch.Tensor:
            return logits / torch.ones(logits.shape[-1], device=self.device)
    '''
    assert findings(source) == []


@pytest.mark.parametrize("argument", ["x.shape[0]", "x.size(0)", "x.numel()", "len(x)"])
def test_argument_shaped_from_a_tensor_is_a_sibling(argument: str) -> None:
    source = f'''
    import torch
    def f(x: torch.Tensor):
        return torch.zeros({argument}, device="cuda")
    '''
    [d] = findings(source)
    assert "shaped from `x`" in d.message and d.fix.edits[0].content == "x.device"


def test_dtype_from_a_tensor_is_a_sibling() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, n: int):
        return torch.zeros(n, dtype=x.dtype, device="cuda")
    '''
    assert [d.fix.edits[0].content for d in findings(source)] == ["x.device"]


@pytest.mark.parametrize("combine", [
    "torch.cat([t, x])", "torch.stack((x, t))", "torch.matmul(x, t)", "torch.where(t > 0, x, t)",
    "t @ x", "x - t", "x[t]", "t[x]", "x.index_select(0, t)", "x.masked_fill(t, 0)",
])
def test_combinations(combine: str) -> None:
    source = f'''
    import torch
    def f(x: torch.Tensor):
        t = torch.ones(4, device="cuda")
        return {combine}
    '''
    assert [d.fix.edits[0].content for d in findings(source)] == ["x.device"]


def test_in_place_and_item_assignment_are_combinations() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, idx: torch.Tensor):
        t = torch.ones(4, device="cuda")
        x += t
        u = torch.zeros(4, device="cuda")
        u[idx] = 1.0
    '''
    assert [d.fix.edits[0].content for d in findings(source)] == ["x.device", "idx.device"]


def test_derived_names_carry_the_new_tensor() -> None:
    source = '''
    import torch
    def f(inv_freq: torch.Tensor):
        t = torch.arange(16, device="cuda").float()
        scaled = t / 2.0
        return scaled[:, None] * inv_freq[None, :]
    '''
    [d] = findings(source)
    assert "`inv_freq`" in d.message and d.fix.applicability is Applicability.SAFE


def test_tensor_kinds() -> None:
    source = '''
    import torch
    from torch import nn
    class M(nn.Module):
        weight: torch.Tensor
        def __init__(self):
            super().__init__()
            self.register_buffer("cache", torch.zeros(4), persistent=False)
            self.scale = nn.Parameter(torch.ones(4))
        def table(self) -> torch.Tensor:
            return self.cache
        def a(self):
            return self.cache[torch.arange(2, device="cuda")]
        def b(self):
            return self.scale * torch.ones(4, device="cuda")
        def c(self):
            return self.table() + torch.ones(4, device="cuda")
        def d(self):
            return self.weight + torch.ones(4, device="cuda")
        def e(self, x: "torch.Tensor"):
            return x + torch.ones(4, device="cuda")
    '''
    found = findings(source)
    assert [d.context_function for d in found] == ["a", "b", "c", "d", "e"]
    fixes = [d.fix.edits[0].content if d.fix else None for d in found]
    assert fixes == ["self.cache.device", "self.scale.device", None, "self.weight.device", "x.device"]
    assert "no fix: `self.table()` is not a plain name" in found[2].message
    # Attributes could be rebound elsewhere: their fixes are unsafe. A parameter's is safe.
    assert [d.fix.applicability for d in found if d.fix] == [Applicability.UNSAFE] * 3 + [Applicability.SAFE]


def test_unknown_values_are_never_siblings() -> None:
    source = '''
    import torch
    def f(cache, positions, obj):
        t = torch.arange(4, device="cuda")
        obj.run(t, positions)
        return cache[t] + positions
    '''
    assert findings(source) == []


def test_several_siblings_name_the_first_and_make_the_fix_unsafe() -> None:
    source = '''
    import torch
    def f(q: torch.Tensor, k: torch.Tensor):
        bias = torch.zeros(4, device="cuda")
        q = q + bias
        k = k + bias
        return q, k
    '''
    [d] = findings(source)
    assert "it meets 2 tensors (`q`, `k`), `q` first" in d.message
    assert d.fix.applicability is Applicability.UNSAFE and d.fix.edits[0].content == "q.device"


def test_optional_sibling_makes_the_fix_unsafe() -> None:
    source = '''
    from typing import Optional
    import torch
    def f(x: Optional[torch.Tensor]):
        return x * torch.ones(4, device="cuda")
    '''
    [d] = findings(source)
    assert d.fix.applicability is Applicability.UNSAFE


def test_sibling_built_by_the_code_after_the_call_is_not_followed() -> None:
    # Every tensor here is made by the function itself (a kernel test's inputs): nothing to follow.
    source = '''
    import torch
    def f(n: int):
        t = torch.arange(n, device="cuda")
        w = torch.randn(n)
        return t * w
    '''
    assert findings(source) == []


def test_sibling_assigned_after_the_call_from_an_input_gets_no_fix() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, n: int):
        t = torch.arange(n, device="cuda")
        w = x * 2
        return t * w
    '''
    [d] = findings(source)
    assert d.fix is None and "no fix: `w` is assigned after the call" in d.message


def test_explicitly_placed_siblings_are_not_followed() -> None:
    source = '''
    import torch
    def test_kernel():
        a = torch.randn(8, device="cuda")
        b = torch.randn(8, device="cuda").half()
        host = torch.zeros(8).cpu()
        return a + b, a.cpu() + host
    '''
    assert findings(source) == []


def test_new_and_like_methods_are_left_to_dl005() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, y: torch.Tensor):
        a = x.new_zeros(4, device="cuda")
        b = torch.zeros_like(x, device="cuda")
        return a + y, b + y
    '''
    assert findings(source) == []
    assert [d.code for d in all_findings(source)] == ["DL005", "DL005"]


def test_no_device_argument_is_never_flagged() -> None:
    assert findings("import torch\ndef f(x: torch.Tensor):\n    return x + torch.ones(4)\n") == []


def test_module_level_code_is_checked() -> None:
    source = '''
    import torch
    weights = torch.load("w.pt")
    assert isinstance(weights, torch.Tensor)
    w: torch.Tensor = weights
    bias = torch.zeros(4, device="cuda")
    out = w + bias
    '''
    assert [d.code for d in findings(source)] == ["DL001"]


def test_pointers_handed_to_a_c_kernel_stand_for_their_tensors() -> None:
    # A CUDA kernel called through ctypes meets `w` and `out` through their pointers.
    source = '''
    import torch
    def dequantize(w, n, out=None):
        if out is None:
            out = torch.empty(n, dtype=torch.float16, device="cuda:0")
        kernel(get_ptr(w), get_ptr(out), ctypes.c_int(w.numel()))
        return out
    '''
    [d] = findings(source)
    assert d.code == "DL001" and (d.start.row, d.start.column) == (5, 51)
    assert "passed with `w` to a call of `kernel()` (line 6); `w` is a tensor: `.numel()` is called on it" in d.message
    assert 'device=w.device' in fixed(source)


def test_a_length_is_no_pointer() -> None:
    source = '''
    import torch
    def pad(w, n):
        idx = torch.arange(n, device="cuda")
        return helper(len(w), idx)
    '''
    assert findings(source) == []


def test_a_copy_is_no_meeting() -> None:
    # `.copy_()` copies across devices; a staging buffer on the accelerator copied from a host tensor is right.
    source = '''
    import torch
    def onload(x: torch.Tensor):
        t = torch.empty(4, device="cuda")
        t.copy_(x, non_blocking=True)
        return t
    '''
    assert findings(source) == []


def test_a_buffer_handed_to_a_collective_is_placed_on_purpose() -> None:
    source = '''
    import torch
    import torch.distributed as dist
    def gather(shard: torch.Tensor, world: int):
        out = torch.empty(shard.numel() * world, dtype=shard.dtype, device="cuda")
        dist.all_gather_into_tensor(out, shard)
        return out
    '''
    assert findings(source) == []


def test_what_a_returning_branch_binds_does_not_reach_the_code_after_it() -> None:
    source = '''
    import torch
    from torch import nn
    def quantize(inputs: torch.Tensor, qkv: bool):
        if not qkv:
            inputs = nn.Parameter(inputs * 2)
            return inputs
        return inputs.cuda()
    '''
    assert findings(source) == []


def test_a_gradient_must_sit_with_its_parameter() -> None:
    source = '''
    import torch
    def zero_grad(param: torch.nn.Parameter):
        param.grad = torch.zeros(param.size(), dtype=param.dtype, device="cuda")
    '''
    [d] = findings(source)
    assert "an assignment to `.grad`" in d.message and "device=param.device" in fixed(source)


def test_a_legacy_cuda_tensor_type_places_its_tensor() -> None:
    # `torch.cuda.LongTensor(...)` is on the platform by its type: moving a sibling there is deliberate.
    source = '''
    import torch
    def prompts(inputs, eod: int, n: int):
        padding = torch.cuda.LongTensor([[eod] * n] * inputs.shape[0])
        return torch.concat([inputs.cuda(), padding], axis=-1)
    '''
    assert findings(source) == []


def test_cuda_inside_a_device_context_is_that_device() -> None:
    # Inside `with torch.cuda.device(x.device):` a bare "cuda" means x's GPU; an explicit index does not.
    source = '''
    import torch
    def matmul(x: torch.Tensor, w: torch.Tensor):
        with torch.cuda.device(x.device):
            out = torch.empty((x.shape[0], w.shape[1]), device="cuda", dtype=torch.float16)
            kernel[(1,)](x, w, out)
            pinned = x + torch.ones(1, device="cuda:1")
        return out, pinned
    '''
    [d] = findings(source)
    assert d.start.row == 7 and '`"cuda:1"`' in d.message


def test_an_annotated_number_is_no_tensor_however_it_is_used() -> None:
    source = '''
    import torch
    def inv_freq(theta: float, dim: int, x: torch.Tensor):
        exps = torch.arange(0, dim, 2, device="cuda") / dim
        return x * torch.pow(theta, exps).shape[0]
    '''
    assert findings(source) == []


def test_a_config_read_elsewhere_in_the_class_is_no_tensor() -> None:
    source = '''
    import torch
    from torch import nn
    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.hidden = config.hidden_size
        def scale(self, x):
            s = torch.ones(4, device="cuda")
            if self.config.dtype == torch.int8:
                return s * self.config
            return s
        def width(self):
            return self.config.hidden_size
    '''
    assert findings(source) == []


def test_a_method_whose_results_are_placed_gives_no_sibling() -> None:
    source = '''
    import torch
    class Rope(torch.nn.Module):
        def __init__(self, dim: int, n: int) -> None:
            super().__init__()
            self.dim, self.n = dim, n
            self.device = torch.device("cuda", torch.cuda.current_device())
        def _inv_freq(self) -> torch.Tensor:
            return 1.0 / 10000 ** (torch.arange(0, self.dim, 2, device=self.device) / self.dim)
        def table(self) -> torch.Tensor:
            t = torch.arange(self.n, device=self.device, dtype=torch.float32)
            return torch.einsum("i,j->ij", t, self._inv_freq())
    '''
    assert findings(source) == []


def test_an_optional_tensor_passed_on_to_a_helper_is_no_sibling() -> None:
    source = '''
    import torch
    class Backend:
        def __init__(self, sinks: torch.Tensor | None) -> None:
            self.sinks = sinks
        def warmup(self, plan) -> None:
            q = torch.zeros(64, 8, 128, device="cuda")
            plan.bind(q=q, sinks=self.sinks)
    '''
    assert findings(source) == []


def test_assigning_a_tensor_into_a_slice_is_a_copy() -> None:
    source = '''
    import torch
    def pad(scores: torch.Tensor, cols: int, rows: int) -> torch.Tensor:
        padded = torch.full((rows, cols), -1.0, device="cuda")
        padded[:, :4] = scores
        return padded
    '''
    assert findings(source) == []


def test_a_tensor_placed_on_the_new_ones_device_is_no_sibling_to_follow() -> None:
    # `w` follows `x` by construction; following `w` back would be circular.
    source = '''
    import torch
    def make_inputs(n: int, h: int) -> dict:
        x = torch.randn(n, h, device="cuda", dtype=torch.bfloat16)
        w = torch.normal(mean=1.0, std=1.0, size=(h,), dtype=x.dtype, device=x.device)
        return {"out": x * w}
    '''
    assert findings(source) == []


# -- fixes leave no empty branches ----------------------------------------------------------------------
BRANCHED_DEVICE = '''
import torch
from vllm.platforms import current_platform


def scale_rows(x: torch.Tensor, on_accelerator: bool):
    if {test}:
        device = current_platform.device_type
    else:
        device = x.device
    scale = torch.ones(x.shape[-1], device=device)
    return x * scale
'''


def test_a_fix_removes_the_if_whose_branches_only_chose_the_device() -> None:
    assert fixed(BRANCHED_DEVICE.format(test="on_accelerator")) == '''
import torch


def scale_rows(x: torch.Tensor, on_accelerator: bool):
    scale = torch.ones(x.shape[-1], device=x.device)
    return x * scale
'''


def test_a_fix_that_would_empty_branches_with_a_side_effect_is_not_offered() -> None:
    source = BRANCHED_DEVICE.format(test="probe_accelerator()")
    (finding,) = findings(source)
    assert finding.fix is None
    assert finding.message.endswith(
        "use `device=x.device` (no fix: it would leave every branch of the `if` that binds `device` empty)")
    assert fixed(source) == textwrap.dedent(source)


def test_a_branch_with_other_code_keeps_its_if() -> None:
    source = BRANCHED_DEVICE.format(test="on_accelerator").replace(
        "        device = x.device\n", "        device = x.device\n        logger.debug(\"host path\")\n")
    assert "    else:\n        logger.debug(\"host path\")\n" in fixed(source)


# -- two classes of one name ------------------------------------------------------------------------------
SCRATCH = '''
import torch

if torch.version.hip:
    class Scratch:
        def __init__(self{first_args}):
            self.device = {first}

        def fill(self, x: torch.Tensor):
            return x + torch.zeros(x.shape, device=self.device)
else:
    class Scratch:
        def __init__(self{second_args}):
            self.device = {second}

        def fill(self, x: torch.Tensor):
            return x + torch.zeros(x.shape, device=self.device)
'''


@pytest.mark.parametrize(("platform_first", "row"), [(True, 10), (False, 17)])
def test_two_classes_of_one_name_keep_their_own_attributes(platform_first: bool, row: int) -> None:
    platform, follows = ('torch.device("cuda")', ""), ("x.device", ", x: torch.Tensor")
    first, second = (platform, follows) if platform_first else (follows, platform)
    source = SCRATCH.format(first=first[0], first_args=first[1], second=second[0], second_args=second[1])
    assert positions(findings(source)) == [(row, 45, "DL001")]


def test_a_dl002_fix_dropping_a_branch_chosen_device_removes_the_if_too() -> None:
    source = '''
import torch


def fp8_scale(weight: torch.Tensor, on_gpu: bool):
    if on_gpu:
        device = "cuda"
    else:
        device = "cpu"
    return (weight.abs().amax(dim=-1) / 448.0).to(device=device, dtype=torch.float32)
'''
    assert fixed(source) == '''
import torch


def fp8_scale(weight: torch.Tensor, on_gpu: bool):
    return (weight.abs().amax(dim=-1) / 448.0).to(dtype=torch.float32)
'''
