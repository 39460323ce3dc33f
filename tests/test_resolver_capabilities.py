"""Each capability of the value resolver (issue #11), on realistic model code: exact diagnostics and fixed text.

The fixture trios in `tests/fixtures/capabilities/` (`case.py`, `case.expected` with one `line:col CODE` per
finding, `case.fixed.py` after `--fix --unsafe-fixes`) cover positives and negatives per capability; the tests
below pin the exact messages and fix applicabilities of representative findings, and the cross-module facts
on a package checked one file at a time, as pre-commit does. Tests marked xfail(strict) state the right
behaviour where devlint is wrong today.

Capabilities: 1 tensor evidence, 2 meeting sites, 3 moves (DL002), 4 shape/dtype through locals, 5 device
expressions, 6 framework platform APIs, 7 facts across modules, 8 fixes naming the tensor, 9 quiet where the
code is right, 10 messages stating the evidence.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from devlint.api import lint_paths, lint_source
from devlint.cli import main
from devlint.types import Applicability, Diagnostic, FileResult, FixMode, Settings

from conftest import FIXTURES, expected_positions, fixed

CAPABILITIES = FIXTURES / "capabilities"
CASES = sorted(p for p in CAPABILITIES.glob("*.py") if not p.name.endswith(".fixed.py"))


# -- the fixture trios ---------------------------------------------------------------------------------
def lint_case(case: Path, mode: FixMode = FixMode.NONE) -> FileResult:
    result = lint_source(case.read_bytes(), case.name, Settings(), mode)
    assert result.error is None, result.error
    return result


def test_every_case_is_a_trio() -> None:
    assert len(CASES) >= 9
    for case in CASES:
        assert case.with_suffix(".expected").exists(), case
        has_findings = bool(expected_positions(case))
        assert case.with_name(case.stem + ".fixed.py").exists() == has_findings, case


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_capability_diagnostics(case: Path) -> None:
    found = lint_case(case).diagnostics
    assert [(d.start.row, d.start.column, d.code) for d in found] == expected_positions(case)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_capability_fixes(case: Path) -> None:
    expected = case.with_name(case.stem + ".fixed.py")
    result = lint_case(case, FixMode.UNSAFE)
    if not expected.exists():
        assert result.fixed_source is None
        return
    assert result.fixed_source == expected.read_text()
    again = lint_source(result.fixed_source, case.name, Settings(), FixMode.UNSAFE)
    assert again.error is None and again.fixed_source is None and again.diagnostics == []


def at(case: str, row: int) -> Diagnostic:
    """The one finding of fixture `case` on line `row`."""
    found = [d for d in lint_case(CAPABILITIES / f"{case}.py").diagnostics if d.start.row == row]
    assert len(found) == 1, found
    return found[0]


def only(source: str) -> Diagnostic:
    result = lint_source(textwrap.dedent(source), "m.py", Settings())
    assert result.error is None, result.error
    assert len(result.diagnostics) == 1, result.diagnostics
    return result.diagnostics[0]


def quiet(source: str) -> bool:
    result = lint_source(textwrap.dedent(source), "m.py", Settings())
    assert result.error is None, result.error
    return result.diagnostics == []


def applicability(d: Diagnostic) -> Applicability | None:
    return d.fix.applicability if d.fix else None


# -- 1. tensor evidence beyond annotations ------------------------------------------------------------
def test_module_helper_return_annotation_is_evidence() -> None:
    case = CAPABILITIES / "tensor_evidence.py"
    whole = lint_source(case.read_bytes(), case.name, Settings(prefilter=False)).diagnostics
    (d,) = [d for d in whole if d.start.row == 28]
    assert d.message == (
        "`torch.full` puts its result on the platform device `\"cuda\"`, but it is combined with `positions` in "
        "`+` (line 28); `positions` is a tensor: returned by `build_positions()`, annotated `torch.Tensor` "
        "(line 16); use `device=positions.device`")
    assert applicability(d) is Applicability.SAFE
    assert "`positions` is a tensor: returned by `build_positions()`, annotated" in at("tensor_evidence", 28).message


def test_prefilter_keeps_the_evidence_of_blanked_helpers() -> None:
    case = CAPABILITIES / "tensor_evidence.py"
    fast = lint_source(case.read_bytes(), case.name, Settings(prefilter=True)).diagnostics
    whole = lint_source(case.read_bytes(), case.name, Settings(prefilter=False)).diagnostics
    assert [(d.start, d.message, d.fix) for d in fast] == [(d.start, d.message, d.fix) for d in whole]


def test_method_return_annotation_is_evidence() -> None:
    d = at("tensor_evidence", 48)
    assert d.message == (
        "`torch.ones` puts its result on the platform device `\"cuda\"`, but it is combined with `gate` in `*` "
        "(line 49); `gate` is a tensor: returned by `self._gate()`, annotated `torch.Tensor` (line 43); "
        "use `device=gate.device`")


def test_calling_a_module_attribute_gives_a_tensor() -> None:
    d = at("tensor_evidence", 53)
    assert d.message == (
        "`torch.zeros` puts its result on the platform device `\"cuda\"`, but it is combined with `up` in `+` "
        "(line 54); `up` is a tensor: the output of `self.gate_up`, a `Linear` (line 52); use `device=up.device`")


@pytest.mark.parametrize(("row", "evidence"), [
    (59, "`hidden` is a tensor: `hidden.shape` is read (line 58)"),  # unannotated parameter
    (67, "`flat` is a tensor: returned by `.view()` of the tensor `cache` (line 66)"),  # a loop variable's view
    (72, "`batch.seq_lens` is a tensor: `.view()` is called on it (line 73)"),  # object attribute
    (77, "`batch.seq_lens` is a tensor: a field of `PackedBatch` annotated as a tensor"),  # dataclass field
])
def test_uses_and_fields_are_evidence_and_their_fixes_are_unsafe(row: int, evidence: str) -> None:
    d = at("tensor_evidence", row)
    assert evidence in d.message
    assert applicability(d) is Applicability.UNSAFE


@pytest.mark.parametrize("use", ["x.shape", "x.dtype", "x.device", "x.is_cuda", "x.numel()", "x.view(-1)",
                                 "x.contiguous()", "torch.sigmoid(x)"])
def test_a_tensor_use_makes_an_unannotated_parameter_a_tensor(use: str) -> None:
    d = only(f"""
        import torch

        def offsets(x, n: int):
            print({use})
            return x + torch.arange(n, device="cuda")
        """)
    assert (d.code, d.start.row, d.start.column) == ("DL001", 6, 32)
    assert d.fix is not None and d.fix.edits[0].content == "x.device"


def test_a_name_alone_is_not_evidence() -> None:
    assert quiet("""
        import torch

        def offsets(x, n: int):
            return x + torch.arange(n, device="cuda")
        """)


@pytest.mark.parametrize("use", ["model(torch.zeros(2))", "model.eval()", "list(model.parameters())"])
def test_called_objects_and_module_methods_are_not_tensors(use: str) -> None:
    assert quiet(f"""
        import torch

        def pad(model, n: int):
            {use}
            print(model.shape)
            return model + torch.zeros(n, device="cuda")
        """)


def test_self_dtype_does_not_make_self_a_tensor() -> None:
    assert lint_case(CAPABILITIES / "tensor_evidence_negatives.py").diagnostics == []
    assert quiet("""
        import torch

        class Sampler:
            def __init__(self, dtype):
                self.dtype = dtype

            def step(self, n: int):
                return self + torch.ones(n, dtype=self.dtype, device="cuda")
        """)


def test_derived_tensor_evidence_names_its_source() -> None:
    d = at("tensor_evidence", 89)
    evidence = d.message.split("`first` is a tensor: ", 1)[1].split("; use", 1)[0]
    assert not evidence.startswith("annotated")  # `first` is not annotated; `x` is
    assert "`x`" in evidence or "x[0]" in evidence


def test_fix_on_an_optional_helper_result_is_unsafe() -> None:
    d = at("tensor_evidence", 33)
    assert "`mask` is a tensor: returned by `padding_mask()`" in d.message
    assert applicability(d) is Applicability.UNSAFE


# -- 2. meeting sites ------------------------------------------------------------------------------------
def test_triton_launch_is_a_meeting_site() -> None:
    d = at("meeting_sites", 13)
    assert d.message == (
        "`torch.empty` puts its result on the platform device `\"cuda\"`, but it is combined with `x` in the "
        "kernel launch `_rms_norm_kernel[...]` (line 15); it meets 2 tensors (`x`, `weight`), `x` first; "
        "`x` is a tensor: annotated `torch.Tensor` (line 12); use `device=x.device`")
    assert applicability(d) is Applicability.UNSAFE  # one of several


def test_custom_op_is_a_meeting_site() -> None:
    d = at("meeting_sites", 21)
    assert "but it is combined with `x` in `torch.ops._C.silu_and_mul` (line 22)" in d.message
    assert applicability(d) is Applicability.SAFE


@pytest.mark.parametrize(("row", "words"), [
    (28, "but it is passed with `hidden` to a call of `index_rows()` (line 29)"),  # a parameter
    (38, "but it is passed with `self.table` to a call of `index_rows()` (line 39)"),  # an attribute
])
def test_a_helper_call_meets_only_received_tensors(row: int, words: str) -> None:
    assert words in at("meeting_sites", row).message


@pytest.mark.parametrize("function", ["own_table", "debug_rows", "route"])
def test_local_tensors_logging_and_records_are_not_meeting_sites(function: str) -> None:
    source = (CAPABILITIES / "meeting_sites.py").read_text()
    start = source.index(f"def {function}(")
    first_row = source[:start].count("\n") + 1
    last_row = first_row + source[start:].split("\n\n\n", 1)[0].count("\n")
    rows = [d.start.row for d in lint_case(CAPABILITIES / "meeting_sites.py").diagnostics]
    assert not [r for r in rows if first_row <= r <= last_row]


def test_out_buffer_meets_the_operands() -> None:
    d = at("meeting_sites", 43)
    assert "but it is combined with `a` in `torch.matmul` (line 44); it meets 2 tensors (`a`, `b`)" in d.message


def test_slice_assignment_makes_the_cumsum_input_the_sibling() -> None:
    d = at("meeting_sites", 49)
    assert d.message == (
        "`torch.zeros` puts its result on the platform device `\"cuda\"`, but it is combined with `seq_lens` in "
        "an item assignment (line 50); `seq_lens` is a tensor: passed to `torch.cumsum` (line 50); "
        "use `device=seq_lens.device`")


def test_if_else_device_is_merged_and_its_fix_is_unsafe() -> None:
    d = at("meeting_sites", 59)
    assert d.message.startswith(
        "`torch.ones` puts its result on the platform device `device` (set to `\"cuda\"` at meeting_sites.py:56)")
    assert applicability(d) is Applicability.UNSAFE
    assert d.fix is not None and d.fix.edits[0].content == "x.device"


def test_a_sibling_bound_after_the_call_from_own_tensors_is_quiet() -> None:
    assert quiet("""
        import torch

        def shifted(x: torch.Tensor, n: int):
            idx = torch.arange(n, device="cuda")
            step = idx * 2
            x = torch.randn(n)
            return x + step
        """)


# -- 3. moves traced to their source (DL002) ---------------------------------------------------------------
SCALE = """\
import torch
from torch import nn
from vllm.platforms import current_platform


class Fp8Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.device = current_platform.device_type

    def weight_scale(self, weight):
        scale = (weight.abs().amax(dim=-1) / 448.0).to(device=self.device)
        return scale

    def padding_mask(self, lengths: torch.Tensor, pos):
        mask = (lengths[:, None] > pos).cuda()
        return mask
"""


def test_move_of_a_computed_value_is_dl002_even_if_it_meets_nothing() -> None:
    found = lint_source(SCALE, "m.py", Settings()).diagnostics
    assert [(d.start.row, d.start.column, d.code) for d in found] == [(12, 56, "DL002"), (16, 41, "DL002")]
    assert found[0].message == (
        "`.to()` moves a tensor computed from `weight` to the platform device `self.device` (set to "
        "`current_platform.device_type` at m.py:9); `weight` is a tensor: `.abs()` is called on it; "
        "leave it on `weight`'s device (drop the move)")
    assert found[1].message == (
        "`.cuda()` moves a tensor computed from `lengths` to the platform device; `lengths` is a tensor: "
        "annotated `torch.Tensor`; leave it on `lengths`'s device (drop the move)")
    assert [applicability(d) for d in found] == [Applicability.UNSAFE, Applicability.UNSAFE]


def test_dropping_a_move_keeps_the_receivers_parentheses() -> None:
    result = lint_source(SCALE, "m.py", Settings(), FixMode.UNSAFE)
    assert result.error is None, result.error
    assert result.fixed_source == SCALE.replace(".to(device=self.device)", "").replace(".cuda()", "")


def test_dropping_the_device_keeps_the_dtype() -> None:
    d = at("moves", 15)
    assert d.code == "DL002" and applicability(d) is Applicability.UNSAFE
    fixed_line = (CAPABILITIES / "moves.fixed.py").read_text().splitlines()[14]
    assert fixed_line == "        return (weight.abs().amax(dim=-1) / 448.0).to(dtype=torch.float32)"


def test_fix_title_says_what_it_drops() -> None:
    d = at("moves", 15)
    assert d.fix is not None and "device" in d.fix.message


def test_moves_of_parameters_views_and_own_tensors_are_quiet() -> None:
    rows = [d.start.row for d in lint_case(CAPABILITIES / "moves.py").diagnostics]
    assert 18 not in rows and 21 not in rows  # weight.cuda(), weight[0].to(self.device), torch.tensor(ids).cuda()


# -- 4. shape and dtype evidence through locals and chains ----------------------------------------------
def test_shape_unpacked_into_locals_is_followed() -> None:
    d = at("shape_dtype", 9)
    assert d.message == (
        "`torch.empty` puts its result on the platform device `\"cuda\"`, but it is shaped from `x` "
        "(`n, d = x.shape`) (line 9); `x` is a tensor: annotated `torch.Tensor` (line 6); use `device=x.device`")
    assert "shaped from `x` (`n = x.size(0)`)" in at("shape_dtype", 14).message
    assert "shaped from `x` (`x.shape`) (line 18)" in at("shape_dtype", 18).message


def test_plain_numbers_do_not_shape() -> None:
    rows = [d.start.row for d in lint_case(CAPABILITIES / "shape_dtype.py").diagnostics]
    assert rows == [9, 14, 18, 40]  # not `from_plain_numbers` (line 22), nor `attention_workspace` (line 34)


# -- 5. device expressions -----------------------------------------------------------------------------
@pytest.mark.parametrize(("row", "origin"), [
    (10, "the platform device `device` (set to `\"cuda\"` at device_expressions.py:9)"),
    (15, "the platform device `dev` (set to `\"cuda\"` at device_expressions.py:14)"),
    (27, "the platform device `self.device` (set to `current_platform.device_type` at device_expressions.py:24)"),
    (44, "the platform device `dev` (set to `torch.accelerator.current_accelerator().type` at "
         "device_expressions.py:43)"),
])
def test_device_aliases_are_resolved(row: int, origin: str) -> None:
    assert origin in at("device_expressions", row).message


def test_self_device_last_assigned_from_the_caller_is_quiet() -> None:
    rows = [d.start.row for d in lint_case(CAPABILITIES / "device_expressions.py").diagnostics]
    assert 38 not in rows  # CallerPlacedCache: the constructor's last assignment is the `device` parameter


RUNTIME = """\
import torch
from myfw.runtime import current_device


def type_bias(x: torch.Tensor):
    return x + torch.zeros(x.shape[-1], device=current_device().type)


def device_type_bias(x: torch.Tensor):
    return x + torch.zeros(x.shape[-1], device=current_device().device_type)
"""


def test_configured_entry_continued_with_type_or_device_type() -> None:
    assert lint_source(RUNTIME, "m.py", Settings()).diagnostics == []  # not in the default table
    configured = Settings(platform_devices=("myfw.runtime.current_device()",))
    found = lint_source(RUNTIME, "m.py", configured).diagnostics
    assert [(d.start.row, d.start.column, d.code) for d in found] == [(6, 41, "DL001"), (10, 41, "DL001")]
    assert found[0].message == (
        "`torch.zeros` puts its result on the platform device `current_device().type`, but it is combined with "
        "`x` in `+` (line 6); `x` is a tensor: annotated `torch.Tensor` (line 5); use `device=x.device`")
    assert found[1].message.startswith("`torch.zeros` puts its result on the platform device "
                                       "`current_device().device_type`, but")


def test_as_tensor_positional_device_slot() -> None:
    d = only("""
        import torch

        def scale_rows(x: torch.Tensor, scales: list[float]):
            w = torch.as_tensor(scales, None, "cuda")
            return x * w
        """)
    assert (d.code, d.start.row) == ("DL001", 5)
    assert fixed("""
        import torch

        def scale_rows(x: torch.Tensor, scales: list[float]):
            w = torch.as_tensor(scales, None, "cuda")
            return x * w
        """) == textwrap.dedent("""
        import torch

        def scale_rows(x: torch.Tensor, scales: list[float]):
            w = torch.as_tensor(scales, None, x.device)
            return x * w
        """)


# -- 6. framework platform APIs, module-qualified ----------------------------------------------------------
@pytest.mark.parametrize(("row", "origin"), [
    (10, "`get_accelerator().current_device_name()`"),
    (14, "`get_device()`"),
    (19, "`device_type` (set to `get_device_manager().current_context().device_type` at framework_platforms.py:18)"),
    (23, "`torch.npu.current_device()`"),
])
def test_framework_platform_apis_are_platform_devices(row: int, origin: str) -> None:
    d = at("framework_platforms", row)
    assert d.message.startswith(f"`torch.zeros` puts its result on the platform device {origin}, but it is "
                                f"combined with `x` in `+` (line {row})")


def test_same_helper_names_from_another_package_are_quiet() -> None:
    assert lint_case(CAPABILITIES / "framework_platforms_foreign.py").diagnostics == []
    assert quiet("""
        import torch
        from mylib import get_device

        def bias(x: torch.Tensor):
            return x + torch.zeros(4, device=get_device())
        """)


# -- 7. facts across modules -----------------------------------------------------------------------------
CROSS = CAPABILITIES / "crossmodule"
CROSS_MESSAGES = [
    (8, 33, "`torch.zeros` puts its result on the platform device `DEVICE` (`pkg.utils.DEVICE` is 'cuda'), but "
            "it is combined with `x` in `+` (line 8); `x` is a tensor: annotated `torch.Tensor` (line 7); "
            "use `device=x.device`"),
    (12, 33, "`torch.zeros` puts its result on the platform device `get_dev()` (`pkg.utils.get_dev()` returns "
             "'cuda' or 'cpu'), but it is combined with `x` in `+` (line 12); `x` is a tensor: annotated "
             "`torch.Tensor` (line 11); use `device=x.device`"),
    (17, 30, "`torch.ones` puts its result on the platform device `\"cuda\"`, but it is combined with `m` in `*` "
             "(line 17); `m` is a tensor: returned by `pkg.utils.make_mask()`, annotated as a tensor; "
             "use `device=m.device`"),
    (21, 39, "`torch.arange` puts its result on the platform device `\"cuda\"`, but it is combined with "
             "`batch.seq_lens` in a comparison (line 22); `batch.seq_lens` is a tensor: a field of "
             "`pkg.utils.Batch` annotated as a tensor; use `device=batch.seq_lens.device`"),
    (26, 40, "`torch.ones` puts its result on the platform device `WORKSPACE_DEVICE` (`pkg.common.WORKSPACE_DEVICE` "
             "is 'cuda'), but it is combined with `x` in `+` (line 26); `x` is a tensor: annotated `torch.Tensor` "
             "(line 25); use `device=x.device`"),
    (31, 51, "`torch.ones` puts its result on the platform device `\"cuda\"`, but it is combined with `m` in `&` "
             "(line 31); `m` is a tensor: returned by `pkg.common.causal_mask()`, annotated as a tensor; "
             "use `device=m.device`"),
]


@pytest.fixture
def package(in_tmp: Path) -> Path:
    shutil.copytree(CROSS / "pkg", in_tmp / "pkg")
    return in_tmp


def test_facts_of_sibling_modules_when_one_file_is_checked(package: Path) -> None:
    run = lint_paths(["pkg/model.py"], Settings(), jobs=1)
    assert run.errors == []
    assert [(d.path, d.start.row, d.start.column, d.message) for d in run.diagnostics] == \
        [("pkg/model.py", row, column, message) for row, column, message in CROSS_MESSAGES]
    # A conditional helper (`get_dev()`: "cuda" or "cpu") and a field are unsafe; constants and results safe.
    assert [applicability(d) for d in run.diagnostics] == [
        Applicability.SAFE, Applicability.UNSAFE, Applicability.SAFE, Applicability.UNSAFE, Applicability.SAFE,
        Applicability.SAFE]


def test_fixes_across_modules(package: Path) -> None:
    run = lint_paths(["pkg/model.py"], Settings(), FixMode.UNSAFE, jobs=1)
    assert run.files[0].fixed_source == (CROSS / "model.fixed.py").read_text()


def test_cross_module_facts_on_the_command_line(package: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--no-cache", "pkg/model.py"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"pkg/model.py:8:33: DL001 [*] {CROSS_MESSAGES[0][2]}"
    assert lines[1] == f"pkg/model.py:12:33: DL001 {CROSS_MESSAGES[1][2]}"
    assert len([line for line in lines if line.startswith("pkg/model.py:")]) == 6


def test_without_the_package_the_imported_facts_are_unknown() -> None:
    # The same text outside its package: the imported names prove nothing, so nothing is found.
    alone = lint_source((CROSS / "pkg" / "model.py").read_text(), "model.py", Settings())
    assert alone.error is None and alone.diagnostics == []


@pytest.mark.xfail(strict=True, reason="a module imported from the package (`from . import utils`) is not "
                   "followed: `utils.DEVICE` and `utils.make_mask(n)` prove nothing, while `from .utils import "
                   "DEVICE, make_mask` does")
def test_facts_through_an_imported_sibling_module(package: Path) -> None:
    (package / "pkg" / "layers.py").write_text(textwrap.dedent("""\
        import torch

        from . import utils


        def add_bias(x: torch.Tensor, dim: int):
            return x + torch.zeros(dim, device=utils.DEVICE)


        def masked_ones(n: int):
            m = utils.make_mask(n)
            return m * torch.ones(n, device="cuda")
        """))
    run = lint_paths(["pkg/layers.py"], Settings(), jobs=1)
    assert [(d.start.row, d.code) for d in run.diagnostics] == [(7, "DL001"), (12, "DL001")]
    assert "(`pkg.utils.DEVICE` is 'cuda')" in run.diagnostics[0].message
    assert "`m` is a tensor: returned by `pkg.utils.make_mask()`" in run.diagnostics[1].message


# -- 8. fixes name the tensor itself -----------------------------------------------------------------------
def test_fix_names_an_element_sibling() -> None:
    source = """
        import torch

        def offset_lse(states, num_heads: int):
            bias = torch.zeros(num_heads, device="cuda")
            return states[2] + bias, states[2].shape
        """
    d = only(source)
    assert "`states[2]` is a tensor: `states[2].shape` is read (line 6)" in d.message
    assert applicability(d) is Applicability.UNSAFE
    assert fixed(source) == textwrap.dedent(source).replace('device="cuda"', "device=states[2].device")


def test_fix_names_an_attribute_sibling() -> None:
    d = at("tensor_evidence", 77)
    assert d.fix is not None and d.fix.message == ("Use `device=batch.seq_lens.device` (unsafe: the sibling is an "
                                                   "attribute and may live elsewhere)")
    assert applicability(d) is Applicability.UNSAFE


# -- 9. quiet where the code is right ------------------------------------------------------------------
def test_right_code_is_quiet() -> None:
    assert lint_case(CAPABILITIES / "quiet.py").diagnostics == []


def test_kernel_test_that_builds_its_inputs_on_cuda_is_quiet() -> None:
    assert quiet("""
        import torch

        def test_rms_norm():
            x = torch.randn(16, 64, device="cuda")
            out = torch.empty_like(x)
            weight = torch.ones(64, device="cuda")
            torch.ops._C.rms_norm(out, x, weight, 1e-6)
            torch.testing.assert_close(out, x * weight)
        """)


@pytest.mark.xfail(strict=True, reason="a list literal bound to a name and then passed to `torch.cat` is not "
                   "followed: `parts = [torch.zeros(n, device=\"cuda\"), x]; torch.cat(parts)` is quiet, while "
                   "`torch.cat([torch.zeros(n, device=\"cuda\"), x])` is found")
def test_a_list_of_tensors_passed_to_cat_is_a_combination() -> None:
    assert only("""
        import torch

        def prepend_zeros(x: torch.Tensor, n: int):
            return torch.cat([torch.zeros(n, device="cuda"), x])
        """).code == "DL001"
    d = only("""
        import torch

        def prepend_zeros(x: torch.Tensor, n: int):
            parts = [torch.zeros(n, device="cuda"), x]
            return torch.cat(parts)
        """)
    assert (d.code, d.start.row) == ("DL001", 5)
    assert "but it is combined with `x` in `torch.cat` (line 6)" in d.message


# -- 10. messages state the evidence -----------------------------------------------------------------------
def test_message_names_the_torch_function_a_parameter_is_passed_to() -> None:
    d = only("""
        import torch

        def cu_seqlens(lens, batch_size: int):
            cu = torch.zeros(batch_size + 1, dtype=torch.int32, device="cuda")
            cu[1:] = torch.cumsum(lens, 0)
            return cu
        """)
    assert (d.start.row, d.start.column) == (5, 57)
    assert d.message == (
        "`torch.zeros` puts its result on the platform device `\"cuda\"`, but it is combined with `lens` in an "
        "item assignment (line 6); `lens` is a tensor: passed to `torch.cumsum` (line 6); use `device=lens.device`")


# -- the resolver's memo ------------------------------------------------------------------------------
def test_the_memo_keeps_the_nodes_it_answered_for_alive() -> None:
    """Carriers such as `cst.Name("n")` are made on the fly and asked about; answers are memoised by the
    node's id. Were a node freed while its answer is kept, the next node allocated at its address would get
    that answer (findings then came and went with unrelated edits of a file: a fixture lost two)."""
    import sys

    import libcst as cst

    from devlint.analysis import analyse_module

    source = "import torch\ndef f(x: torch.Tensor, n: int):\n    return x\n"
    analysis = analyse_module(cst.parse_module(source), "m.py")
    fn = next(f for f in analysis.facts.functions if f.name == "f")
    name = cst.Name("n")
    references = sys.getrefcount(name)
    assert not analysis.values.value_of(name, fn, 99).is_tensor
    assert sys.getrefcount(name) > references  # held by the memo, so its id cannot be handed to another node
    assert analysis.values.value_of(cst.Name("x"), fn, 99).is_tensor


def test_a_shape_local_written_over_several_lines_is_quoted_on_one_line() -> None:
    found = only("""
        import torch
        def pad(x: torch.Tensor, block: int):
            rows = (
                x.shape[0]
                + block
            )
            return torch.zeros(rows, device="cuda")
    """)
    assert "\n" not in found.message
    assert "shaped from `x` (`rows = ( x.shape[0] + block )`)" in found.message
