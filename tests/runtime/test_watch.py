"""devlint.runtime on CPU: the stand-in platform device is "cpu", the ambient device "meta"."""

from __future__ import annotations

import gc
import os
import weakref

import pytest

torch = pytest.importorskip("torch")

from runtime_support import FIXTURES, TWIN, line_of, models, twin  # noqa: E402, F401

from devlint.runtime import build_on_meta, watch_devices  # noqa: E402

MODELS = FIXTURES / "models.py"
HELPER = FIXTURES / "positions.py"
TWIN_CONFIG = dict(head_size=512, rotary_dim=64, max_position_embeddings=64, base=160000, is_neox_style=False,
                   scaling_factor=16, dtype=torch.bfloat16, mscale=0, mscale_all_dim=0)


def where(report) -> list[tuple[str, str, int, int]]:
    return [(f.code, os.path.basename(f.path), f.line, f.column) for f in report.active_findings]


def test_buggy_twin_is_dl001_at_the_device_argument(twin) -> None:
    module, report = build_on_meta(twin, **TWIN_CONFIG)
    row = line_of(TWIN, "device=current_platform.device_type,")
    assert where(report) == [("DL001", "buggy_dsv4_rope.py", row, 13)]
    [finding] = report.findings
    assert finding.frames[0].function == "BuggyDeepseekV4ScalingRotaryEmbedding._compute_cos_sin_cache"
    assert finding.frames[1].function == "BuggyDeepseekV4ScalingRotaryEmbedding.__init__"
    assert "`torch.arange` put its result on cpu (`device=current_platform.device_type`)" in finding.message
    assert f"`torch.einsum` at {os.path.relpath(TWIN)}:{line_of(TWIN, 'torch.einsum')}:" in finding.message
    # keep_going ran the einsum on meta copies: the build finished and allocated nothing real.
    assert module.cos_sin_cache.is_meta and module.cos_sin_cache.shape == (1024, 64)


def test_reference_impl_builds_clean() -> None:
    from reference_impl import DeepseekScalingRotaryEmbedding, DeepseekV4ScalingRotaryEmbedding

    for cls in (DeepseekV4ScalingRotaryEmbedding, DeepseekScalingRotaryEmbedding):
        module, report = build_on_meta(cls, **TWIN_CONFIG)
        assert (report.findings, report.placements, report.mixes, report.states) == ([], [], [], [])
        assert module.cos_sin_cache.is_meta
        assert report.exercised_sites  # it did watch: every factory and op was seen


def test_parameter_pinned_in_init_is_dl003_with_module_path(models) -> None:
    _, report = build_on_meta(models.Encoder)
    row = line_of(MODELS, "self.sinks = nn.Parameter")
    dl003 = [f for f in report.findings if f.code == "DL003"]
    assert [(f.line, f.column) for f in dl003] == [(row, 58)]
    assert "it became parameter `SinkAttention.sinks` (module `attn`) off the expected meta" in dl003[0].message
    [state] = [s for s in report.states if s.attribute == "sinks"]
    assert state.module_path == "attn" and state.device == "cpu"


def test_from_numpy_buffer_is_unattributed_not_dropped(models) -> None:
    _, report = build_on_meta(models.Encoder)
    [dl201] = [f for f in report.findings if f.code == "DL201"]
    assert (dl201.line, os.path.basename(dl201.path)) == (line_of(MODELS, 'register_buffer("table"'), "models.py")
    assert "buffer `TableEmbedding.table` (module `embed`) was registered on cpu" in dl201.message
    assert dl201.frames[1].function == "Encoder.__init__"


def test_helper_leak_is_placed_at_the_helper_line(models) -> None:
    _, report = build_on_meta(models.HelperRope, 8, 16)
    row = line_of(HELPER, "torch.arange")
    assert where(report) == [("DL001", "positions.py", row, 32)]
    [finding] = report.findings
    assert [f.function for f in finding.frames][:2] == ["positions", "HelperRope.__init__"]
    assert finding.frames[1].line == line_of(MODELS, "t = positions(")


@pytest.mark.parametrize("order", ["watch-outside", "watch-inside"])
def test_both_mode_orders_see_the_same(order: str, twin, models) -> None:
    def build():
        twin(**TWIN_CONFIG)
        models.Encoder()

    if order == "watch-outside":
        with watch_devices(keep_going=True) as report, torch.device("meta"):
            build()
    else:
        with torch.device("meta"), watch_devices(keep_going=True) as report:
            build()
    assert where(report) == [("DL001", "buggy_dsv4_rope.py", line_of(TWIN, "device=current_platform.device_type,"), 13),
                             ("DL003", "models.py", line_of(MODELS, "self.sinks = nn.Parameter"), 58),
                             ("DL201", "models.py", line_of(MODELS, 'register_buffer("table"'), 9)]
    assert torch._C._len_torch_function_stack() == 0


def test_without_keep_going_torchs_error_propagates_with_notes(twin) -> None:
    with pytest.raises(RuntimeError, match="is not on the expected device cpu") as caught:
        with watch_devices() as report, torch.device("meta"):
            twin(**TWIN_CONFIG)
    notes = caught.value.__notes__
    assert len(notes) == 2
    assert notes[0].startswith("devlint.runtime: operand 1 of `torch.einsum` is on cpu (shape [1024]), made by "
                               f"`torch.arange` at {os.path.relpath(TWIN)}:{line_of(TWIN, 't = torch.arange(')}:")
    assert "is on meta (shape [32])" in notes[1] and "_compute_inv_freq" in notes[1]
    assert [f.code for f in report.findings] == ["DL001"] and report.mixes[0].raised == "RuntimeError"
    assert torch._C._len_torch_function_stack() == 0  # nothing stays active after the exception


def test_legal_cross_device_code_is_quiet(models) -> None:
    _, report = build_on_meta(models.Legal)
    assert report.mixes == []
    # The deliberate CPU tensors are DL202, suppressed by their noqa comments for DL202; the 0-dim scalar is a real
    # CPU allocation too (DL202) but multiplying by it is no mix.
    assert [f.code for f in report.findings if f.suppressed] == ["DL202", "DL202"]
    assert where(report) == [("DL202", "models.py", line_of(MODELS, "scale = torch.tensor"), 35)]


def test_noqa_on_the_creating_line_is_honoured(models) -> None:
    _, report = build_on_meta(models.Suppressed, 4)
    [finding] = report.findings
    assert finding.code == "DL001" and finding.suppressed and report.active_findings == []


def test_like_override_and_a_move_off_meta(models) -> None:
    _, report = build_on_meta(models.NoisyScores, 3)
    assert where(report) == [("DL005", "models.py", line_of(MODELS, "noise = torch.empty_like"), 42)]
    _, report = build_on_meta(models.MovedPositions, 3)
    assert where(report) == [("DL002", "models.py", line_of(MODELS, "t = torch.arange(dim).to("), 34)]
    assert report.active_findings[0].message.startswith(
        "`torch.arange(dim).to` tried to move a meta tensor to cpu (`current_platform.device_type`)")
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor") as caught:
        with watch_devices() as report, torch.device("meta"):
            models.MovedPositions(3)
    assert caught.value.__notes__ == ["devlint.runtime: `Tensor.to` tried to move a meta tensor to cpu at "
                                      f"{os.path.relpath(MODELS)}:{line_of(MODELS, 't = torch.arange(dim).to(')}:13 "
                                      "in MovedPositions.__init__"]


def test_check_ops_false_records_placements_only(twin) -> None:
    with pytest.raises(RuntimeError):
        with watch_devices(check_ops=False) as report, torch.device("meta"):
            twin(**TWIN_CONFIG)
    assert report.mixes == [] and [p.op for p in report.placements] == ["torch.arange"]
    assert [f.code for f in report.findings] == ["DL202"]


def test_roots_choose_whose_frames_are_user_code(twin, models) -> None:
    with watch_devices(keep_going=True, roots=[FIXTURES]) as report, torch.device("meta"):
        twin(**TWIN_CONFIG)
        models.Encoder()
    # The fixtures' frames are the only user code; the twin lives outside the roots, so its finding falls
    # back to the innermost frame outside torch (its own line) rather than being dropped.
    assert [(f.code, os.path.basename(f.path), len(f.frames)) for f in report.active_findings] == [
        ("DL001", "buggy_dsv4_rope.py", 1), ("DL003", "models.py", 2), ("DL201", "models.py", 2)]
    assert all(frame.path.startswith(str(FIXTURES)) for f in report.active_findings[1:] for frame in f.frames)


def test_keep_going_needs_meta() -> None:
    with pytest.raises(ValueError, match="keep_going=True needs expect='meta'"):
        watch_devices(expect="cpu", keep_going=True)


def test_a_mode_left_open_inside_the_watch_is_reported_and_the_watch_still_leaves() -> None:
    from torch.overrides import TorchFunctionMode

    class Other(TorchFunctionMode):
        pass

    other = Other()
    watch = watch_devices()
    watch.__enter__()
    other.__enter__()
    with pytest.raises(RuntimeError, match=r"mode was not on top of torch's function-mode stack \(Other above it\)"):
        watch.__exit__(None, None, None)
    assert torch._C._len_torch_function_stack() == 1  # only Other: the watch is gone
    other.__exit__(None, None, None)
    assert torch._C._len_torch_function_stack() == 0


def test_frames_are_not_kept_alive_and_torch_is_never_blamed(models) -> None:
    class Holder:
        pass

    def build():
        local = Holder()
        model, report = build_on_meta(models.Encoder)
        return weakref.ref(local), report

    ref, report = build()
    gc.collect()
    assert ref() is None  # the report holds code objects, never frames or their locals
    torch_dir = os.path.dirname(torch.__file__)
    for finding in report.findings:
        assert finding.frames and all(not f.path.startswith(torch_dir) for f in finding.frames)


def test_registration_hooks_are_removed_on_exit() -> None:
    from torch.nn.modules import module as module_module

    before = (len(module_module._global_parameter_registration_hooks),
              len(module_module._global_buffer_registration_hooks))
    with watch_devices():
        pass
    after = (len(module_module._global_parameter_registration_hooks),
             len(module_module._global_buffer_registration_hooks))
    assert before == after
    with torch.device("meta"):
        torch.nn.Linear(2, 2, device="cpu")  # not watched any more: nothing to record, nothing raised


def test_a_mixed_operand_no_watched_call_made_is_dl201_at_the_op() -> None:
    legacy = torch.Tensor(4)  # the legacy constructor: CPU whatever the ambient device, and no function mode sees it

    def build() -> torch.Tensor:
        return torch.ones(4) + legacy

    with watch_devices(keep_going=True) as report, torch.device("meta"):
        total = build()
    assert total.is_meta
    [finding] = report.active_findings
    assert finding.code == "DL201" and finding.frames[0].function.endswith("build")
    assert finding.message == ("`Tensor.add` combined tensors on cpu, meta; operand 1 (on cpu) was made where the "
                               "watch could not see")


def test_torch_load_state_is_attributed_to_the_load_line(tmp_path) -> None:
    path = tmp_path / "table.pt"
    torch.save(torch.arange(3.0), path)

    class Loaded(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("table", torch.load(path))

    _, report = build_on_meta(Loaded)
    [finding] = report.findings
    assert finding.code == "DL003" and finding.frames[0].function.endswith("Loaded.__init__")
    assert "`torch.load` (`torch.empty`)" in finding.message


def test_compiled_forward_under_the_watch_has_no_graph_break() -> None:
    class Rope(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("inv_freq", torch.ones(4))

        def forward(self, positions: torch.Tensor) -> torch.Tensor:
            freqs = torch.outer(positions, self.inv_freq)
            return torch.cat((freqs.cos(), freqs.sin()), dim=-1)

    module = Rope()
    positions = torch.arange(8.0)
    torch._dynamo.reset()
    with watch_devices(expect="cpu") as report:
        explained = torch._dynamo.explain(module)(positions)
        compiled = torch.compile(module, backend="eager", fullgraph=True)
        result = compiled(positions)
    torch._dynamo.reset()
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)
    torch.testing.assert_close(result, module(positions))
    assert report.findings == [] and torch._C._len_torch_function_stack() == 0
