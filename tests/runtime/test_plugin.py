"""The pytest plugin: the `meta_build` fixture, --devlint-runtime-out and the terminal summary, and no torch
until a test asks for the fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import FIXTURES, TWIN

pytest.importorskip("torch")

TESTS = f'''
import sys
sys.path[:0] = [{str(FIXTURES)!r}, {str(TWIN.parent)!r}]

import torch
from buggy_dsv4_rope import BuggyDeepseekV4ScalingRotaryEmbedding
from models import Encoder


def test_twin(meta_build):
    module, report = meta_build(BuggyDeepseekV4ScalingRotaryEmbedding, head_size=8, rotary_dim=8,
                                max_position_embeddings=4, base=10000, is_neox_style=False, scaling_factor=1,
                                dtype=torch.float32)
    assert module.cos_sin_cache.is_meta
    assert [f.code for f in report.active_findings] == ["DL001"]


def test_encoder(meta_build):
    _, report = meta_build(Encoder)
    assert sorted(f.code for f in report.active_findings) == ["DL003", "DL201"]
'''


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=120)


def test_meta_build_fixture_writes_evidence_and_summarises(tmp_path: Path) -> None:
    (tmp_path / "test_models.py").write_text(TESTS)
    done = run_pytest(tmp_path, "--devlint-runtime-out", "evidence.json")
    assert done.returncode == 0, done.stdout + done.stderr
    # twin: DL001 confirmed; models.py: DL003 confirmed, DL201 runtime-only, and the DL005 and two DL002 of
    # classes these tests never build are not exercised.
    summary = done.stdout[done.stdout.index("devlint runtime evidence"):].splitlines()
    assert summary[1:6] == ["2 builds watched under meta; evidence written to evidence.json",
                            "  confirmed: 2", "  runtime-only: 1", "  exercised: 0", "  not exercised: 3"]
    document = json.loads((tmp_path / "evidence.json").read_text())
    assert document["format"] == "devlint-runtime/1"
    assert sorted(f["code"] for f in document["findings"]) == ["DL001", "DL003", "DL201"]


def test_the_plugin_imports_no_torch(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import sys\n\ndef test_plain():\n    assert 'torch' not in sys.modules\n")
    done = run_pytest(tmp_path, "--devlint-runtime-out", "evidence.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "devlint runtime evidence" not in done.stdout and not (tmp_path / "evidence.json").exists()
