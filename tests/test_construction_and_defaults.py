"""DL003 and DL004 as a maintainer wants them (issue 12): the caller's device is never discarded, DL003
reaches registrations through unpacking, multi-argument moves and module helpers, DL004 speaks only where
a default places a tensor and says where, and every unsafe fix says why."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from devlint.api import lint_source
from devlint.cli import main
from devlint.rules import ALL_RULES
from devlint.types import OPT_IN_CODES, Applicability, Settings, UnsafeReason

from conftest import findings, fixed


def exact(source: str) -> list[tuple[int, int, str, str]]:
    return [(d.start.row, d.start.column, d.code, d.message) for d in findings(source)]


# -- 1. the caller's device ------------------------------------------------------------------------------

RMSNORM = '''
import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6, device=None, dtype=None) -> None:
        super().__init__()
        if device is None:
            device = "cuda"
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size, device=device, dtype=dtype))
'''


def test_a_platform_fallback_is_the_finding_and_the_callers_device_stays() -> None:
    assert exact(RMSNORM) == [(10, 22, "DL003",
                               "`device` falls back to the platform device `\"cuda\"` when the caller passes none, and "
                               "reaches `torch.ones` (line 12) in `RMSNorm.__init__` while the module is built; drop "
                               "the fallback so that None follows the default device")]
    [d] = findings(RMSNORM)
    assert d.fix is not None and d.fix.reason is UnsafeReason.CHANGES_DEFAULT
    assert fixed(RMSNORM) == textwrap.dedent(RMSNORM).replace('        if device is None:\n            device = "cuda"\n', "")


def test_a_parameter_default_reaching_construction_is_dl004s_not_dl003s() -> None:
    source = '''
    import torch
    from torch import nn
    class Embedding(nn.Module):
        def __init__(self, num: int, dim: int, device: str = "cuda") -> None:
            super().__init__()
            self.device = device
            self.weight = nn.Parameter(torch.empty(num, dim, device=self.device))
    '''
    assert exact(source) == [(5, 58, "DL004",
                              "`device` defaults to the platform device `\"cuda\"`, right only where the process "
                              "computes on that device type, and reaches `torch.empty` (line 8); default to None (the "
                              "ambient default device) or make callers pass it")]
    assert fixed(source) == textwrap.dedent(source)


def test_dl005_and_dl002_keep_a_callers_device() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, ids: torch.Tensor, device=None):
        if device is None:
            device = "cuda"
        y = x + torch.zeros_like(x, device=device)
        return x[ids.to(device)] + y
    '''
    result = findings(source)
    assert [d.code for d in result] == ["DL005", "DL002"]
    assert all(d.fix is None and "is the caller's" in d.message for d in result)
    assert fixed(source) == textwrap.dedent(source)


# -- 2. DL003's reach ----------------------------------------------------------------------------------------

def test_dl003_tuple_unpacking_of_a_helpers_result() -> None:
    source = '''
    import torch
    from torch import nn
    class Rope(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            cos, sin = self._cache(dim)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        def _cache(self, dim: int):
            t = torch.arange(dim, dtype=torch.float32, device="cuda")
            return t.cos(), t.sin()
    '''
    assert exact(source) == [(11, 52, "DL003",
                              "`torch.arange` in `Rope._cache` runs while the module is built and pins its result to "
                              "the platform device `\"cuda\"`; drop `device=` to follow the default device")]
    assert 't = torch.arange(dim, dtype=torch.float32)\n' in fixed(source)


def test_dl003_move_with_several_arguments_keeps_the_dtype() -> None:
    source = '''
    import torch
    from torch import nn
    class Scale(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.register_buffer("scale", torch.ones(n).to(dtype=torch.float16, device="cuda"))
    '''
    assert exact(source) == [(7, 77, "DL003",
                              "`.to()` in `Scale.__init__` runs while the module is built and moves the tensor to the "
                              "platform device `\"cuda\"`; drop the device to follow the default device")]
    assert 'torch.ones(n).to(dtype=torch.float16))\n' in fixed(source)


def test_dl003_buffer_built_in_a_module_helper() -> None:
    source = '''
    import torch
    from torch import nn
    def _inv_freq(dim: int, base: float) -> torch.Tensor:
        return 1.0 / base ** (torch.arange(0, dim, 2, device="cuda").float() / dim)
    class Rope(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.register_buffer("inv_freq", _inv_freq(dim, 10000.0), persistent=False)
    '''
    assert exact(source) == [(5, 51, "DL003",
                              "`torch.arange` in `_inv_freq` (called while `Rope` is built) runs while the module is "
                              "built and pins its result to the platform device `\"cuda\"`; drop `device=` to follow "
                              "the default device")]
    assert 'torch.arange(0, dim, 2).float()' in fixed(source)


def test_dl003_plain_attribute_workspace_stays_out() -> None:
    source = '''
    import torch
    from torch import nn
    class Attn(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            a, b = torch.empty(n, device="cuda"), torch.empty(n, device="cuda")
            self.workspace = (a, b)
    '''
    assert findings(source) == []


# -- 3. DL004 only where the default places a tensor ------------------------------------------------------

def test_dl004_dispatch_strings_are_not_placements() -> None:
    source = '''
    import torch
    BACKENDS = {"cuda": "flash", "npu": "ascend"}
    def backend_for(device_type: str = "cuda") -> str:
        if device_type == "cuda":
            return "flash"
        return BACKENDS.get(device_type, "sdpa")
    def is_cuda(device: str = "cuda") -> bool:
        return device.startswith("cuda")
    def make(n: int, device_type: str = "cuda"):
        kernel = backend_for(device_type)
        return kernel, torch.zeros(n)
    '''
    assert findings(source) == []


def test_dl004_follows_a_helper_and_torch_device() -> None:
    source = '''
    import torch
    def _place(x: torch.Tensor, where) -> torch.Tensor:
        return x.to(torch.device(where))
    def load(x: torch.Tensor, device_type: str = "cuda", rank: int = 0):
        return _place(x, f"{device_type}:{rank}")
    '''
    assert exact(source) == [(5, 46, "DL004",
                              "`device_type` defaults to the platform device `\"cuda\"`, right only where the process "
                              "computes on that device type, and reaches `.to()` (line 4) and 1 more placement; "
                              "default to None (the ambient default device) or make callers pass it")]


def test_dl004_passed_on_as_a_device_argument() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def build(n: int, device=current_platform.device_type) -> torch.nn.Module:
        return torch.nn.Linear(n, n, device=device)
    '''
    assert exact(source) == [(4, 26, "DL004",
                              "`device` defaults to the platform device `current_platform.device_type`, evaluated once, "
                              "when the function is defined, and is passed on as `device=` to `torch.nn.Linear` (line "
                              "5); default to None (the ambient default device) or make callers pass it")]


# -- 5. every unsafe fix says why ---------------------------------------------------------------------------

def test_every_unsafe_fix_in_the_rule_examples_carries_a_reason() -> None:
    seen = 0
    for rule in ALL_RULES:
        for example in rule.INVALID:
            for d in findings(example.code):
                if d.fix is not None and d.fix.applicability is Applicability.UNSAFE:
                    seen += 1
                    assert d.fix.reason is not None
                    assert d.fix.message.endswith(f"(unsafe: {d.fix.reason.value})")
                if d.fix is not None and d.fix.applicability is Applicability.SAFE:
                    assert d.fix.reason is None
    assert seen >= 3


def test_the_reason_is_in_json_sarif_full_and_the_rule_docs(in_tmp) -> None:
    (in_tmp / "m.py").write_text(textwrap.dedent(RMSNORM))
    runner = CliRunner()
    reason = UnsafeReason.CHANGES_DEFAULT.value
    out = runner.invoke(main, ["check", "--no-cache", "--output-format", "json", "m.py"]).output
    [item] = json.loads(out)
    assert item["fix"]["applicability"] == "unsafe" and item["fix"]["message"] == f"Drop the platform fallback (unsafe: {reason})"
    sarif = json.loads(runner.invoke(main, ["check", "--no-cache", "--output-format", "sarif", "m.py"]).output)
    [result] = sarif["runs"][0]["results"]
    assert reason in result["fixes"][0]["description"]["text"]
    full = runner.invoke(main, ["check", "--no-cache", "--output-format", "full", "m.py"]).output
    assert f"unsafe fix: Drop the platform fallback (unsafe: {reason})" in full
    docs = runner.invoke(main, ["rule", "DL003"]).output
    assert UnsafeReason.REMOVES_PLACEMENT.value in docs and reason in docs


def test_dl003_no_fix_when_the_device_name_also_places_other_tensors() -> None:
    source = '''
    import torch
    from torch import nn
    class Kernel(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.device = torch.device("cuda", torch.cuda.current_device())
            self.register_buffer("table", torch.zeros(n, device=self.device))
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.table[ids] + torch.ones(1, device=self.device)
    '''
    [d] = [d for d in findings(source) if d.code == "DL003"]
    assert (d.start.row, d.start.column, d.fix) == (8, 54, None)
    assert d.message.endswith("(no fix: `self.device` also places other tensors, which would then part ways with "
                              "this one)")


def test_dl004_through_an_instance_a_classmethod_builds() -> None:
    source = '''
    import torch
    class Partitioned:
        def __init__(self, tensor: torch.Tensor) -> None:
            self.orig_device = tensor.device
        @classmethod
        def from_meta(cls, meta: torch.Tensor, device=torch.cuda.current_device()):
            obj = cls(tensor=meta)
            obj.orig_device = device
            return obj
        def to_meta(self) -> torch.Tensor:
            return torch.LongTensor([0]).to(self.orig_device)
    '''
    assert exact(source) == [(7, 51, "DL004",
                              "`device` defaults to the platform device `torch.cuda.current_device()`, evaluated once, "
                              "when the function is defined, and reaches `.to()` (line 12); default to None (the "
                              "ambient default device) or make callers pass it")]


# -- placeholders a loader fills, and a caller's `device` in scope ----------------------------------------

FUSED_ATTENTION = '''
import torch
from torch import nn
from deepspeed.accelerator import get_accelerator


class FusedAttention(nn.Module):
    """Swapped in for a loaded model's attention; the injector copies the checkpoint into the weights."""

    def __init__(self, hidden: int, dtype: torch.dtype, deferred: bool = False) -> None:
        super().__init__()
        device = get_accelerator().current_device_name()
        if deferred:
            self.qkv_w = None
        else:
            self.qkv_w = nn.Parameter(torch.empty(hidden, 3 * hidden, dtype=dtype, device=device),
                                      requires_grad=False)
        self.norm_w = nn.Parameter(torch.ones(hidden, dtype=dtype, device=device), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.norm_w) @ self.qkv_w
'''

PLATFORM = "`device` (set to `get_accelerator().current_device_name()` at model.py:12)"


def test_an_uninitialized_placeholder_a_loader_fills_is_dl006_and_off_by_default() -> None:
    # The norm weight is initialised here, but dropping its device alone would split the module.
    norm = (18, 68, "DL003",
            f"`torch.ones` in `FusedAttention.__init__` runs while the module is built and pins its result to the "
            f"platform device {PLATFORM}; drop `device=` to follow the default device (no fix: the uninitialized "
            "`self.qkv_w` of the same module keeps the platform device, a loader's placeholder (DL006), and the two "
            "would part ways)")
    assert exact(FUSED_ATTENTION) == [norm]
    placeholder = (16, 84, "DL006",
                   f"`torch.empty` in `FusedAttention.__init__` pins the uninitialized `self.qkv_w` to the platform "
                   f"device {PLATFORM} while the module is built, where a meta or default-device build cannot "
                   "redirect it; construction never fills it, so a loader does: drop `device=` if that loader copies "
                   "into a module it places itself")
    with_dl006 = lint_source(textwrap.dedent(FUSED_ATTENTION), "model.py",
                             Settings(select=frozenset({"DL", "DL006"}))).diagnostics
    assert [(d.start.row, d.start.column, d.code, d.message) for d in with_dl006] == [placeholder, norm]
    assert all(d.fix is None for d in with_dl006)
    assert fixed(FUSED_ATTENTION) == textwrap.dedent(FUSED_ATTENTION)


@pytest.mark.parametrize(("select", "ignore", "dl006", "dl003"), [
    ({"DL"}, set(), False, True), ({"D"}, set(), False, True), ({"DL00"}, set(), False, True),
    ({"DL006"}, set(), True, False), ({"DL", "DL006"}, set(), True, True), ({"DL006"}, {"DL006"}, False, False),
    ({"DL006"}, {"DL"}, True, False),
])
def test_an_opt_in_rule_is_on_only_when_its_own_code_is_selected(select: set[str], ignore: set[str], dl006: bool,
                                                                   dl003: bool) -> None:
    settings = Settings(select=frozenset(select), ignore=frozenset(ignore))
    assert (settings.enabled("DL006"), settings.enabled("DL003")) == (dl006, dl003)


def test_all_selects_the_opt_in_rules_too() -> None:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "ALL", "--stdin-filename", "model.py", "-"],
                                input=textwrap.dedent(FUSED_ATTENTION))
    assert [line.split(" ")[1] for line in result.output.splitlines() if line.startswith("model.py:")] == [
        "DL006", "DL003"]


def test_opt_in_codes_are_the_opt_in_rules() -> None:
    assert OPT_IN_CODES == {rule.code for rule in ALL_RULES if rule.opt_in}


def test_dl003_an_uninitialized_parameter_that_construction_initialises_keeps_its_fix() -> None:
    source = '''
    import torch
    from torch import nn
    class ColumnLinear(nn.Module):
        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.empty(n_out, n_in, device="cuda"))
            self.reset_parameters()
        def reset_parameters(self) -> None:
            nn.init.kaiming_uniform_(self.weight)
    '''
    [d] = findings(source)
    assert (d.start.row, d.start.column, d.code) == (7, 61, "DL003")
    assert d.message.endswith("pins its result to the platform device `\"cuda\"`; drop `device=` to follow the "
                              "default device")
    assert d.fix is not None and d.fix.reason is UnsafeReason.REMOVES_PLACEMENT
    assert fixed(source) == textwrap.dedent(source).replace(', device="cuda"))', "))")


ROPE_CACHE = '''
import math
import torch
from torch import nn


class ScaledRope(nn.Module):
    def __init__(self, dim: int, max_positions: int = 8192, base: float = 10000.0, device=None) -> None:
        super().__init__()
        self.dim, self.base = dim, base
        self._build_cache(max_positions, device=device)

    def _build_cache(self, length: int, device) -> None:
        inv_freq = 1.0 / self.base ** (torch.arange(0, self.dim, 2, dtype=torch.int64).float() / self.dim)
        angles = torch.outer(torch.arange(length, dtype=torch.int64).float(), inv_freq)
        self.register_buffer("cos", angles.cos().to(device="cuda", non_blocking=True), persistent=False)
        self.register_buffer("sin", angles.sin().cuda(non_blocking=True), persistent=False)

    def forward(self, x: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        if length > self.cos.shape[0]:
            self._build_cache(2 ** math.ceil(math.log2(length)), device=x.device)
        return self.cos[:length].to(x.dtype), self.sin[:length].to(x.dtype)
'''


def test_dl003_a_move_beside_the_callers_device_parameter_uses_it() -> None:
    assert exact(ROPE_CACHE) == [
        (16, 53, "DL003",
         "`.to()` in `ScaledRope._build_cache` runs while the module is built and moves the tensor to the platform "
         "device `\"cuda\"`; move to the caller's `device` instead"),
        (17, 50, "DL003",
         "`.cuda()` in `ScaledRope._build_cache` runs while the module is built and moves the tensor to the platform "
         "device; move to the caller's `device` instead"),
    ]
    assert {d.fix.reason for d in findings(ROPE_CACHE) if d.fix} == {UnsafeReason.CHANGES_DEFAULT}
    assert fixed(ROPE_CACHE) == textwrap.dedent(ROPE_CACHE).replace(
        '.to(device="cuda", non_blocking=True)', '.to(device=device, non_blocking=True)').replace(
        "angles.sin().cuda(non_blocking=True)", "angles.sin().to(device, non_blocking=True)")


def test_dl003_a_factory_beside_the_callers_device_parameter_uses_it() -> None:
    source = '''
    import torch
    from torch import nn
    class Alibi(nn.Module):
        def __init__(self, heads: int) -> None:
            super().__init__()
            self._build(heads, device=None)
        def _build(self, heads: int, device) -> None:
            self.register_buffer("slopes", torch.arange(1, heads + 1, device="cuda") / heads, persistent=False)
    '''
    [d] = findings(source)
    assert d.message.endswith("pins its result to the platform device `\"cuda\"`; pass the caller's `device`")
    assert fixed(source) == textwrap.dedent(source).replace('device="cuda")', "device=device)")


def test_dl003_says_when_the_platform_device_is_one_branch_of_a_conditional() -> None:
    source = '''
    import torch
    from torch import nn
    from deepspeed.accelerator import get_accelerator
    class CrossAttention(nn.Module):
        def __init__(self, hidden: int, large: bool) -> None:
            super().__init__()
            device = get_accelerator().current_device_name() if large else "cpu"
            self.scale = nn.Parameter(torch.ones(hidden, device=device), requires_grad=False)
    '''
    assert exact(source) == [(9, 54, "DL003",
                              "`torch.ones` in `CrossAttention.__init__` runs while the module is built and pins its "
                              "result to the platform device `device` (set to `get_accelerator().current_device_name()` "
                              "at model.py:8), on one branch of a conditional; drop `device=` to follow the default "
                              "device")]
    [d] = findings(source)
    assert d.fix is not None and d.fix.reason is UnsafeReason.CONDITIONAL_DEVICE


SCALED_ROPE = '''
import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    def __init__(self, dim: int, max_positions: int = 2048, base: float = 10000.0) -> None:
        super().__init__()
        self.dim, self.base = dim, base
        self._build_cache(max_positions)

    def _build_cache(self, length: int) -> None:
        inv_freq = 1.0 / self.base ** (torch.arange(0, self.dim, 2).float() / self.dim)
        t = torch.arange(length).float()
        self.register_buffer("cos", torch.outer(t, inv_freq).cos(), persistent=False)


class LinearScalingRotaryEmbedding(RotaryEmbedding):
    def __init__(self, dim: int, max_positions: int = 2048, base: float = 10000.0, scale: float = 1.0) -> None:
        self.scale = scale
        super().__init__(dim, max_positions, base)

    def _build_cache(self, length: int) -> None:
        inv_freq = 1.0 / self.base ** (torch.arange(0, self.dim, 2).float() / self.dim)
        t = torch.arange(length).float() / self.scale
        self.register_buffer("cos", torch.outer(t, inv_freq).cos().cuda(), persistent=False)
'''


def test_dl003_reaches_an_override_the_base_init_calls_through_super() -> None:
    assert exact(SCALED_ROPE) == [
        (26, 68, "DL003",
         "`.cuda()` in `LinearScalingRotaryEmbedding._build_cache` runs while the module is built and moves the "
         "tensor to the platform device; drop the move to follow the default device"),
    ]
    assert fixed(SCALED_ROPE) == textwrap.dedent(SCALED_ROPE).replace(".cos().cuda(),", ".cos(),")


def test_dl003_a_non_persistent_workspace_buffer_is_no_placeholder() -> None:
    source = '''
    import torch
    from torch import nn
    class DecodeCache(nn.Module):
        def __init__(self, slots: int, dim: int) -> None:
            super().__init__()
            self.register_buffer("keys", torch.empty(slots, dim, device="cuda"), persistent=False)
    class QuantScales(nn.Module):
        def __init__(self, slots: int) -> None:
            super().__init__()
            self.register_buffer("scales", torch.empty(slots, device="cuda"))
    '''
    found = findings(source)
    assert [(d.start.row, d.code, d.fix is not None) for d in found] == [(7, "DL003", True)]
    assert found[0].message.endswith("pins its result to the platform device `\"cuda\"`; drop `device=` to follow "
                                     "the default device")
    [placeholder] = findings(source, select="DL006")
    assert placeholder.start.row == 11 and "pins the uninitialized `self.scales`" in placeholder.message
    assert fixed(source) == textwrap.dedent(source).replace(
        'torch.empty(slots, dim, device="cuda")', "torch.empty(slots, dim)")
