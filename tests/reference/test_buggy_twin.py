"""The two halves of the project meet: the pre-fix V4 RoPE crashes under meta and devlint flags it; the
reference implementation constructs under meta and devlint passes it clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from devlint.api import lint_paths  # noqa: E402
from devlint.types import Applicability, FixMode, Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TWIN = REPO / "tests" / "fixtures" / "reference" / "buggy_dsv4_rope.py"
CONFIG = dict(head_size=512, rotary_dim=64, max_position_embeddings=64, base=160000, is_neox_style=False,
              scaling_factor=16, dtype=torch.bfloat16, mscale=0, mscale_all_dim=0)


def load_twin():
    sys.path.insert(0, str(TWIN.parent))
    try:
        import buggy_dsv4_rope
    finally:
        sys.path.remove(str(TWIN.parent))
    return buggy_dsv4_rope.BuggyDeepseekV4ScalingRotaryEmbedding


def test_buggy_twin_crashes_under_meta():
    twin = load_twin()
    twin(**CONFIG)  # fine while the default device is the platform's
    with pytest.raises(RuntimeError, match="is not on the expected device"):
        with torch.device("meta"):
            twin(**CONFIG)


def test_reference_builds_under_meta():
    from reference_impl import DeepseekV4ScalingRotaryEmbedding

    with torch.device("meta"):
        module = DeepseekV4ScalingRotaryEmbedding(**CONFIG)
    assert module.cos_sin_cache.is_meta and module.cos_sin_cache.shape == (1024, 64)


def test_devlint_flags_the_twin_with_the_upstream_fix():
    run = lint_paths([str(TWIN)])
    [finding] = run.diagnostics
    source_line = TWIN.read_text().splitlines()[finding.start.row - 1]
    assert finding.code == "DL001" and source_line.strip() == "device=current_platform.device_type,"
    assert finding.fix.applicability is Applicability.SAFE
    assert [e.content for e in finding.fix.edits] == ["inv_freq.device"]


def test_devlint_fix_makes_the_twin_meta_safe(tmp_path):
    fixed = lint_paths([str(TWIN)], Settings(), FixMode.SAFE).files[0].fixed_source
    assert fixed is not None and "device=inv_freq.device," in fixed
    target = tmp_path / "fixed_twin.py"
    target.write_text(fixed)
    sys.path.insert(0, str(tmp_path))
    try:
        import fixed_twin
    finally:
        sys.path.remove(str(tmp_path))
    with torch.device("meta"):
        module = fixed_twin.BuggyDeepseekV4ScalingRotaryEmbedding(**CONFIG)
    assert module.cos_sin_cache.is_meta


def test_devlint_check_reference_impl_is_clean():
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "reference_impl/"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "All checks passed!\n"
    # Not only because the prefilter skipped it: the module really is parsed and analysed.
    import libcst as cst

    from devlint.analysis import analyse_module
    from devlint.rules import ALL_RULES
    from devlint.rules.base import RuleContext

    path = REPO / "reference_impl" / "rope.py"
    analysis = analyse_module(cst.parse_module(path.read_text()), str(path))
    context = RuleContext(analysis, str(path))
    for rule in ALL_RULES:
        rule().check(analysis, context)
    assert context.diagnostics == []
