"""devlint.runtime on a CUDA device. Skipped without a GPU (CI has none): `python -m pytest -m cuda tests/runtime`."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

from devlint.runtime import build_on_meta, watch_devices  # noqa: E402

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

HERE = os.path.abspath(__file__)


def line_of(text: str) -> int:
    [row] = [i for i, line in enumerate(open(HERE).read().splitlines(), start=1) if text in line and "line_of" not in line]
    return row


class Workspace(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scratch = torch.empty(1 << 20, device="cuda")  # 4 MiB of real GPU memory during a meta build
        self.proj = torch.nn.Linear(8, 8, device="cuda")
        self.register_buffer("inv_freq", torch.ones(4))


def test_a_real_cuda_allocation_during_a_meta_build_is_detected() -> None:
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    module, report = build_on_meta(Workspace)
    assert torch.cuda.memory_allocated() - before >= 4 << 20  # the user's allocation really happened...
    found = [(f.code, f.line) for f in report.active_findings]
    # ...and the watch named it: a stray allocation (DL202) and two parameters pinned on the GPU (DL003).
    assert found == [("DL202", line_of('self.scratch = torch.empty(1 << 20, device="cuda")')),
                     ("DL003", line_of('self.proj = torch.nn.Linear(8, 8, device="cuda")')),
                     ("DL003", line_of('self.proj = torch.nn.Linear(8, 8, device="cuda")'))]
    assert {p.device for p in report.placements} == {"cuda:0"}
    assert sorted(s.attribute for s in report.states) == ["bias", "weight"]
    assert all(s.module_class == "Linear" and s.module_path == "proj" for s in report.states)
    assert module.inv_freq.is_meta and module.scratch.is_cuda


def test_a_cuda_cpu_mix_is_recorded_with_both_origins_before_torchs_error() -> None:
    def scores() -> torch.Tensor:
        q = torch.ones(4, 4, device="cuda")
        bias = torch.arange(4, dtype=torch.float32)  # the default device: CPU
        return q + bias

    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device") as caught:
        with watch_devices(expect="cuda") as report:
            scores()
    [mix] = report.mixes
    assert mix.raised == "RuntimeError" and mix.devices == ("cpu", "cuda:0")
    assert [(o.device, report.frames(o.origin.site)[0].line) for o in mix.operands] == [
        ("cuda:0", line_of('q = torch.ones(4, 4, device="cuda")')),
        ("cpu", line_of("bias = torch.arange(4, dtype=torch.float32)"))]
    notes = caught.value.__notes__
    assert len(notes) == 2 and "is on cuda:0" in notes[0] and "is on cpu" in notes[1]
    assert f"test_watch_cuda.py:{line_of('bias = torch.arange(4, dtype=torch.float32)')}:" in notes[1]
    [finding] = report.findings
    assert (finding.code, finding.line) == ("DL001", line_of("bias = torch.arange(4, dtype=torch.float32)"))
    assert torch._C._len_torch_function_stack() == 0
