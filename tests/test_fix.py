"""The fixer keeps everything outside its edits byte for byte, and never writes a file that would not parse."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given, settings, strategies as st

from devlint.api import lint_paths, lint_source, write_fixes
from devlint.fix import FixError, apply_fixes, check_parses, write_atomic
from devlint.types import FixMode, Settings

BUGGY = (
    "import torch\n"
    "def cache(inv_freq: torch.Tensor, n: int):\n"
    "    # keep: odd   spacing, comments\n"
    "    t = torch.arange(n, device='cuda')  # trailing\n"
    "    return torch.outer(t, inv_freq)\n"
)


def fix_file(path: Path) -> None:
    run = lint_paths([str(path)], Settings(), FixMode.SAFE)
    report = write_fixes(run)
    assert not report.errors, report.errors


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_bytes_outside_the_edit_are_unchanged(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "m.py"
    original = BUGGY.replace("\n", newline).encode()
    path.write_bytes(original)
    fix_file(path)
    assert path.read_bytes() == original.replace(b"device='cuda'", b"device=inv_freq.device")


def test_bom_and_declared_encoding_are_kept(tmp_path: Path) -> None:
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + BUGGY.encode())
    fix_file(bom)
    assert bom.read_bytes() == b"\xef\xbb\xbf" + BUGGY.replace("'cuda'", "inv_freq.device").encode()

    latin = tmp_path / "latin.py"
    text = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + BUGGY
    latin.write_bytes(text.encode("latin-1"))
    fix_file(latin)
    assert latin.read_bytes() == text.replace("'cuda'", "inv_freq.device").encode("latin-1")


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(BUGGY)
    os.chmod(path, 0o750)
    fix_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o750


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(BUGGY)
    run = lint_paths([str(path)], Settings(), FixMode.SAFE)
    path.write_text(BUGGY + "# edited meanwhile\n")
    report = write_fixes(run)
    assert report.errors and "changed while devlint was running" in report.errors[0].reason
    assert path.read_text().endswith("# edited meanwhile\n")


def test_a_result_that_does_not_parse_is_refused() -> None:
    with pytest.raises(FixError):
        check_parses("def f(:\n")


def test_the_parse_check_asks_cpython_first_and_libcst_only_for_what_cpython_rejects(monkeypatch) -> None:
    import libcst

    asked: list[str] = []
    real_parse = libcst.parse_module
    monkeypatch.setattr(libcst, "parse_module", lambda text: asked.append(text) or real_parse(text))
    check_parses("x = torch.zeros(3, device=hidden.device)\n")
    assert asked == []  # CPython's parser said yes: LibCST is not asked
    with pytest.raises(FixError):
        check_parses("x = torch.zeros(3, device=hidden.device\n")
    assert len(asked) == 1  # CPython said no: LibCST confirms


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs a Python older than the syntax")
def test_syntax_newer_than_this_python_is_left_to_libcst() -> None:
    check_parses("type Tensors = list[torch.Tensor]\n")  # Python 3.12: CPython 3.11 rejects it, LibCST reads it


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("old\n")
    write_atomic(str(path), b"new\n")
    assert path.read_bytes() == b"new\n"
    assert sorted(os.listdir(tmp_path)) == ["m.py"]


# --- property: fixes on generated model-like code always re-parse and reach a fixed point ----------------

DEVICES = st.sampled_from(['"cuda"', "'cuda:0'", '"xpu"', "current_platform.device_type",
                           'torch.device("cuda")', "torch.cuda.current_device()", "DEVICE", "self_device"])
FACTORIES = st.sampled_from(["torch.arange(n", "torch.zeros(n, 4", "torch.ones(x.shape[0]", "torch.full((n,), 2.0",
                             "torch.empty(x.size(0)", "torch.randn(n"])
COMBINE = st.sampled_from(["{t} + x", "torch.cat([{t}, x])", "x[{t}]", "torch.einsum('i,j->ij', {t}, x)",
                           "{t} * 2", "x.index_select(0, {t})", "torch.where({t} > 0, x, {t})"])


@st.composite
def model_code(draw) -> str:
    lines = ["import torch", "from vllm.platforms import current_platform", "DEVICE = 'cuda'", "",
             "def f(x: torch.Tensor, n: int, self_device):"]
    for i in range(draw(st.integers(1, 4))):
        t = f"t{i}"
        lines.append(f"    {t} = {draw(FACTORIES)}, device={draw(DEVICES)})")
        lines.append(f"    y{i} = " + draw(COMBINE).format(t=t))
    lines.append("    return x")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(model_code())
def test_fixes_reparse_and_are_idempotent(source: str) -> None:
    once = lint_source(source, "gen.py", Settings(), FixMode.UNSAFE)
    assert once.error is None
    text = once.fixed_source or source
    cst.parse_module(text)
    compile(text, "gen.py", "exec")
    again = lint_source(text, "gen.py", Settings(), FixMode.UNSAFE)
    assert again.fixed_source is None
    # Output is stable: the same input gives the same findings every time.
    assert lint_source(source, "gen.py", Settings()).diagnostics == lint_source(source, "gen.py", Settings()).diagnostics


def test_overlapping_fixes_apply_once() -> None:
    from devlint.types import Diagnostic, Edit, Fix, Location

    def diag(col: int, content: str) -> Diagnostic:
        edit = Edit(content, Location(1, col), Location(1, col + 3))
        return Diagnostic("DL001", "m", "p", Location(1, col), Location(1, col + 3), Fix("f", (edit,)))

    text, applied = apply_fixes("abcdef\n", [diag(1, "X"), diag(2, "Y")], FixMode.SAFE)
    assert (text, applied) == ("Xdef\n", 1)


def _one_at_a_time(text: str, diagnostics: list, mode: FixMode) -> tuple[str, int]:
    """The plain reading of `apply_fixes`: take each fix in order unless one of its edits overlaps (or inserts
    where starts) an edit taken before, then apply the edits from the last to the first."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    offset = lambda location: starts[location.row - 1] + location.column - 1  # noqa: E731
    taken: list[tuple[int, int, str]] = []
    applied = 0
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        spans = [(offset(e.start), offset(e.end), e.content) for e in diagnostic.fix.edits]
        if any((s < te and ts < e) or s == e == ts for s, e, _ in spans for ts, te, _ in taken):
            continue
        taken.extend(spans)
        applied += 1
    for s, e, content in sorted(taken, reverse=True):
        text = text[:s] + content + text[e:]
    return text, applied


@st.composite
def _texts_and_fixes(draw):
    from devlint.types import Applicability, Diagnostic, Edit, Fix, Location

    lines = draw(st.lists(st.text("ab c", max_size=6), min_size=1, max_size=5))
    text = "\n".join(lines) + "\n"
    place = st.integers(0, len(lines) - 1).flatmap(
        lambda row: st.integers(1, len(lines[row]) + 1).map(lambda column: Location(row + 1, column)))
    diagnostics = []
    for _ in range(draw(st.integers(1, 6))):
        edits = []
        for _ in range(draw(st.integers(1, 2))):
            a, b = sorted([draw(place), draw(place)], key=lambda loc: (loc.row, loc.column))
            edits.append(Edit(content=draw(st.sampled_from(["", "X", "YY"])), start=a, end=a if draw(st.booleans()) else b))
        spans = sorted(((e.start.row, e.start.column), (e.end.row, e.end.column)) for e in edits)
        if any(spans[k][1] > spans[k + 1][0] or spans[k][0] == spans[k + 1][0] for k in range(len(spans) - 1)):
            continue  # a fix's own edits never overlap
        diagnostics.append(Diagnostic(code="DL001", message="m", path="p.py", start=edits[0].start, end=edits[0].end,
                                      fix=Fix(message="f", edits=tuple(edits), applicability=Applicability.SAFE)))
    return text, diagnostics


@settings(max_examples=400, deadline=None)
@given(_texts_and_fixes())
def test_apply_fixes_is_the_plain_reading_in_one_pass(case) -> None:
    # One splice and a sorted overlap test (a file with thousands of fixes is linear), same result.
    text, diagnostics = case
    assert apply_fixes(text, diagnostics, FixMode.SAFE) == _one_at_a_time(text, diagnostics, FixMode.SAFE)
