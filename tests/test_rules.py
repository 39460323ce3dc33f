"""DL002–DL005 behaviour beyond their documented examples, and the configurable platform-device table."""

from __future__ import annotations

from devlint.api import lint_source
from devlint.types import Applicability, FixMode, Settings

from conftest import findings, fixed


def codes(source: str) -> list[str]:
    return [d.code for d in findings(source)]


# -- DL002 ---------------------------------------------------------------------------------------------

def test_dl002_to_with_dtype_keeps_the_dtype() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor, ids: torch.Tensor):
        index = ids.to("cuda", torch.int64)
        return x[index]
    '''
    [d] = findings(source)
    assert d.code == "DL002" and d.fix.applicability is Applicability.SAFE
    assert 'ids.to(x.device, torch.int64)' in fixed(source)


def test_dl002_moving_the_sibling_itself_is_not_a_finding() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor):
        y = x.cuda()
        return y * 2
    '''
    assert codes(source) == []


def test_dl002_guarded_move_needs_the_exact_shape() -> None:
    with_else = '''
    import torch
    def f(hidden: torch.Tensor, mask: torch.Tensor):
        if hidden.is_cuda:
            mask = mask.cuda()
        else:
            mask = mask.cpu()
        return hidden * mask
    '''
    assert codes(with_else) == ["DL002"]  # reported as a plain move beside `hidden`, not as the guard form
    assert "runs only when" not in findings(with_else)[0].message


def test_dl002_guarded_fix_is_unsafe() -> None:
    source = '''
    import torch
    def f(hidden: torch.Tensor, mask: torch.Tensor):
        if hidden.is_cuda:
            mask = mask.cuda()
        return hidden * mask
    '''
    [d] = findings(source)
    assert d.fix.applicability is Applicability.UNSAFE
    safe_only = lint_source(source, "m.py", Settings(), FixMode.SAFE)
    assert safe_only.fixed_source is None


def test_dl002_self_device_alias_names_where_it_was_set() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    class Cache:
        def __init__(self):
            self.device = current_platform.device_type
        def lookup(self, table: torch.Tensor, ids: torch.Tensor):
            return table[ids.to(self.device)]
    '''
    [d] = findings(source)
    assert d.code == "DL002" and "set to `current_platform.device_type` at model.py:6" in d.message


# -- DL003 ---------------------------------------------------------------------------------------------

def test_dl003_follows_methods_called_from_init_transitively_and_through_bases() -> None:
    source = '''
    import torch
    from torch import nn
    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.build()
        def build(self):
            table = self.make()
            self.register_buffer("table", table, persistent=False)
            self.scratch = torch.empty(8, device="cuda")  # a plain attribute: a workspace, left alone
        def make(self) -> torch.Tensor:
            return torch.zeros(4, device="cuda")
    class Child(Base):
        def helper(self):
            return torch.zeros(4, device="cuda")  # never called during construction
    '''
    found = findings(source)
    assert [(d.code, d.start.row) for d in found] == [("DL003", 13)]
    assert found[0].fix.applicability is Applicability.UNSAFE


def test_dl003_registers_buffers_means_module_even_with_foreign_bases() -> None:
    source = '''
    import torch
    from vllm.model_executor.custom_op import CustomOp
    class Rope(CustomOp):
        def __init__(self):
            super().__init__()
            self.register_buffer("cache", torch.ones(4, device="cuda"), persistent=False)
    '''
    assert codes(source) == ["DL003"]


def test_dl003_unrelated_class_is_not_a_module() -> None:
    source = '''
    import torch
    from vllm.model_executor.custom_op import CustomOp
    class Rope(CustomOp):
        def __init__(self):
            self.cache = torch.ones(4, device="cuda")
    '''
    assert codes(source) == []


def test_dl003_move_with_dtype_drops_only_the_device() -> None:
    source = '''
    import torch
    from torch import nn
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(4).to("cuda", torch.float16))
    '''
    [d] = findings(source)
    assert (d.code, d.start.row, d.start.column) == ("DL003", 7, 48)
    assert "nn.Parameter(torch.ones(4).to(torch.float16))" in fixed(source)


# -- DL004 ---------------------------------------------------------------------------------------------

def test_dl004_strings_only_for_device_parameters() -> None:
    source = '''
    import torch
    def a(backend="cuda", kernel_impl="cuda"):
        return torch.zeros(1, device=backend)
    def b(target_device="xpu", dev="npu"):
        return torch.zeros(1, device=target_device).to(dev)
    '''
    assert [(d.code, d.start.row) for d in findings(source)] == [("DL004", 5), ("DL004", 5)]


def test_dl004_kwonly_and_methods() -> None:
    source = '''
    import torch
    class A:
        def run(self, *, device=torch.device("cuda")):
            return torch.empty(2, device=device)
    '''
    [d] = findings(source)
    assert d.code == "DL004" and d.fix is None and 'torch.device("cuda")' in d.message


# -- DL005 ---------------------------------------------------------------------------------------------

def test_dl005_input_keyword_and_conditional_device() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def f(x: torch.Tensor):
        device = "cpu" if current_platform.is_tpu() else current_platform.device_type
        return x + torch.zeros_like(input=x, device=device)
    '''
    [d] = findings(source)
    assert d.code == "DL005" and "`x`'s device" in d.message
    assert d.fix.applicability is Applicability.UNSAFE
    assert "torch.zeros_like(input=x)" in fixed(source)


def test_dl005_only_device_argument() -> None:
    source = '''
    import torch
    def f(x: torch.Tensor):
        return x * x.new_empty((4,), device="cuda",)
    '''
    assert "return x * x.new_empty((4,),)\n" in fixed(source)  # the call keeps its own trailing comma


# -- the platform-device table is data: extend it ----------------------------------------------------------

SGLANG = '''
import torch
from sglang.srt.utils import get_device
def f(x: torch.Tensor):
    return x + torch.ones(4, device=get_device())
'''
DEEPSPEED = '''
import torch
from deepspeed.accelerator import get_accelerator
def f(x: torch.Tensor):
    return x + torch.ones(4, device=get_accelerator().current_device_name())
'''


def test_framework_platform_apis_are_on_by_default_and_module_qualified() -> None:
    assert [d.code for d in lint_source(SGLANG, "m.py", Settings()).diagnostics] == ["DL001"]
    assert [d.code for d in lint_source(DEEPSPEED, "m.py", Settings()).diagnostics] == ["DL001"]
    # The same names imported from elsewhere are not the framework's helpers.
    elsewhere = SGLANG.replace("sglang.srt.utils", "mylib.utils")
    assert lint_source(elsewhere, "m.py", Settings()).diagnostics == []
    lmdeploy = ("import torch\nfrom lmdeploy.pytorch.devices import get_device_manager\n"
                "def f(x: torch.Tensor):\n"
                "    device = get_device_manager().current_context().device_type\n"
                "    return x + torch.ones(4, device=device)\n")
    assert [d.code for d in lint_source(lmdeploy, "m.py", Settings()).diagnostics] == ["DL001"]
    npu = "import torch\ndef f(x: torch.Tensor):\n    return x + torch.ones(4, device=torch.npu.current_device())\n"
    assert [d.code for d in lint_source(npu, "m.py", Settings()).diagnostics] == ["DL001"]


def test_configured_platform_devices() -> None:
    mine = SGLANG.replace("sglang.srt.utils", "mylib.utils")
    assert lint_source(mine, "m.py", Settings()).diagnostics == []
    assert [d.code for d in lint_source(mine, "m.py", Settings(platform_devices=("get_device()",))).diagnostics] \
        == ["DL001"]
    extended = Settings(platform_devices=("get_device()", "get_accelerator().current_device_name()"))
    assert [d.code for d in lint_source(SGLANG, "m.py", extended).diagnostics] == ["DL001"]
    assert [d.code for d in lint_source(DEEPSPEED, "m.py", extended).diagnostics] == ["DL001"]
    qualified = Settings(platform_devices=("sglang.srt.utils.get_device()",))
    assert [d.code for d in lint_source(SGLANG, "m.py", qualified).diagnostics] == ["DL001"]
    device_word = Settings(platform_devices=("privateuseone",))
    source = "import torch\ndef f(x: torch.Tensor):\n    return x + torch.ones(4, device='privateuseone:0')\n"
    assert [d.code for d in lint_source(source, "m.py", device_word).diagnostics] == ["DL001"]


def test_configured_entries_reach_the_prefilter() -> None:
    source = "import torch\ndef f(x: torch.Tensor, g):\n    return x + torch.ones(4, device=my_device())\n" \
             "def my_device():\n    return 'x'\n"
    assert lint_source(source, "m.py", Settings()).diagnostics == []
    assert len(lint_source(source, "m.py", Settings(platform_devices=("my_device()",))).diagnostics) == 1


def test_dl004_follows_a_default_into_a_closure() -> None:
    source = '''
    import torch
    def consume(n: int, device: str = "cuda") -> None:
        def receive() -> torch.Tensor:
            return torch.empty(n, dtype=torch.uint8, device=device)
        receive()
    '''
    [d] = findings(source)
    assert d.code == "DL004" and "reaches `torch.empty` (line 5)" in d.message
