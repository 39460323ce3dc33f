"""`devlint check --runtime-evidence`: static findings confirmed / exercised / not exercised, runtime-only
findings added and marked in every output format, baselines that survive line shifts."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from runtime_support import FIXTURES, REPO, TWIN, line_of, models, twin  # noqa: E402, F401

from devlint.cli import main  # noqa: E402
from devlint.runtime import build_on_meta, watch_devices  # noqa: E402
from devlint.runtime.report import write_combined  # noqa: E402

MODELS = FIXTURES / "models.py"
HELPER = FIXTURES / "positions.py"
TWIN_CONFIG = dict(head_size=512, rotary_dim=64, max_position_embeddings=64, base=160000, is_neox_style=False,
                   scaling_factor=16, dtype=torch.bfloat16, mscale=0, mscale_all_dim=0)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory, twin, models) -> Path:
    reports = [build_on_meta(twin, **TWIN_CONFIG)[1], build_on_meta(models.Encoder)[1],
               build_on_meta(models.HelperRope, 8, 16)[1], build_on_meta(models.NoisyScores, 3)[1],
               build_on_meta(models.MovedPositions, 3)[1]]
    path = tmp_path_factory.mktemp("evidence") / "devlint-runtime.json"
    write_combined(reports, path)
    return path


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", *args])
    return result.exit_code, result.stdout, result.stderr


def rel(path: Path) -> str:
    return os.path.relpath(path)


def test_static_and_runtime_agree_on_the_twin(evidence: Path) -> None:
    code, out, _ = check(str(TWIN), "--runtime-evidence", str(evidence))
    row = line_of(TWIN, "device=current_platform.device_type,")
    [line, summary] = out.splitlines()
    assert code == 1
    assert line.startswith(f"{rel(TWIN)}:{row}:13: DL001 [*] `torch.arange` puts its result on the platform device")
    assert line.endswith(" [confirmed]")
    assert summary == "Found 1 finding in 1 file (1 fixable). Runtime evidence: 1 confirmed."


def test_runtime_only_findings_join_the_static_ones(evidence: Path) -> None:
    code, out, _ = check(str(MODELS), str(HELPER), "--runtime-evidence", str(evidence), "--output-format", "json")
    items = json.loads(out)
    got = [(os.path.basename(i["filename"]), i["location"]["row"], i["code"], i["source"], i["evidence"])
           for i in items]
    assert got == [
        ("models.py", line_of(MODELS, "self.sinks = nn.Parameter"), "DL003", "static", "confirmed"),
        ("models.py", line_of(MODELS, 'register_buffer("table"'), "DL201", "runtime", "runtime-only"),
        ("models.py", line_of(MODELS, "noise = torch.empty_like"), "DL005", "static", "confirmed"),
        # Indexing a meta tensor with a CPU index tensor is legal: the build ran the line and nothing broke.
        ("models.py", line_of(MODELS, 'self.register_buffer("picked"'), "DL002", "static", "exercised"),
        ("models.py", line_of(MODELS, "t = torch.arange(dim).to("), "DL002", "static", "confirmed"),
        ("positions.py", line_of(HELPER, "torch.arange"), "DL001", "runtime", "runtime-only"),
    ]
    assert code == 1
    helper = items[-1]
    assert helper["fix"] is None and helper["location"] == {"row": line_of(HELPER, "torch.arange"), "column": 32}
    assert "then `torch.einsum` at" in helper["message"]


def test_every_format_marks_runtime_only_findings(evidence: Path) -> None:
    args = [str(MODELS), str(HELPER), "--runtime-evidence", str(evidence)]
    concise = check(*args)[1].splitlines()
    assert [line.rsplit(" [", 1)[-1] for line in concise[:-1]] == [
        "confirmed]", "runtime-only]", "confirmed]", "exercised]", "confirmed]", "runtime-only]"]
    assert concise[-1].endswith("Runtime evidence: 3 confirmed, 2 runtime-only, 1 exercised.")
    full = check(*args, "--output-format", "full")[1]
    assert full.count("[runtime-only]") == 2 and "[confirmed]" in full
    lines = check(*args, "--output-format", "json-lines")[1].splitlines()
    assert [json.loads(line)["source"] for line in lines] == ["static", "runtime", "static", "static", "static",
                                                              "runtime"]
    sarif = json.loads(check(*args, "--output-format", "sarif")[1])
    jsonschema.validate(sarif, json.loads((REPO / "tests" / "sarif-schema-2.1.0.json").read_text()))
    results = sarif["runs"][0]["results"]
    assert [r["properties"]["source"] for r in results] == ["static", "runtime", "static", "static", "static",
                                                           "runtime"]
    assert [r["properties"]["evidence"] for r in results] == ["confirmed", "runtime-only", "confirmed", "exercised",
                                                             "confirmed", "runtime-only"]
    rules = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)
    github = check(*args, "--output-format", "github")[1].splitlines()
    assert [g.split(",file=")[0] for g in github] == ["::error title=devlint (DL003%2C confirmed)",
                                                     "::error title=devlint (DL201%2C runtime-only)",
                                                     "::error title=devlint (DL005%2C confirmed)",
                                                     "::error title=devlint (DL002%2C exercised)",
                                                     "::error title=devlint (DL002%2C confirmed)",
                                                     "::error title=devlint (DL001%2C runtime-only)"]
    junit = check(*args, "--output-format", "junit")[1]
    assert junit.count("[runtime-only]") == 4  # message attribute and text of two failures


def test_findings_the_build_never_ran_are_not_exercised(evidence: Path) -> None:
    code, out, _ = check(str(REPO / "examples" / "dsv4_attention.py"), "--runtime-evidence", str(evidence))
    lines = out.splitlines()
    assert len(lines) == 7 and all(line.endswith("[not exercised]") for line in lines[:-1])
    assert lines[-1].endswith("Runtime evidence: 6 not exercised.")


def test_a_line_that_ran_cleanly_is_exercised(tmp_path: Path, twin) -> None:
    with watch_devices(expect="cpu") as report:  # the platform's own device: the bug cannot show
        twin(**TWIN_CONFIG)
    report.write(tmp_path / "cpu.json")
    out = check(str(TWIN), "--runtime-evidence", str(tmp_path / "cpu.json"))[1].splitlines()
    assert out[0].endswith("[exercised]") and out[1].endswith("Runtime evidence: 1 exercised.")


def test_selection_and_noqa_apply_to_runtime_findings(evidence: Path, tmp_path: Path) -> None:
    out = check(str(MODELS), str(HELPER), "--runtime-evidence", str(evidence), "--ignore", "DL201")[1]
    assert "DL201" not in out and out.count("[runtime-only]") == 1 and out.count("[confirmed]") == 3
    # A noqa comment for DL201 written after the build still counts, and is no unused suppression (DL100).
    copy = tmp_path / "models.py"
    text = MODELS.read_text().replace('np.float32)))', 'np.float32)))  # noqa: DL201')
    copy.write_text(text)
    document = json.loads(evidence.read_text())
    for finding in document["findings"]:
        if finding["path"] == str(MODELS):
            finding["path"] = str(copy)
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(document))
    out = check(str(copy), "--runtime-evidence", str(moved))[1]
    assert "DL201" not in out and "DL100" not in out and "DL003" in out


def test_bad_evidence_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, _, err = check(str(TWIN), "--runtime-evidence", str(tmp_path / "missing.json"))
    assert code == 2 and err == f"devlint: error: cannot read runtime evidence {tmp_path / 'missing.json'}: " \
                                "No such file or directory\n"
    (tmp_path / "other.json").write_text('{"format": "devlint-baseline/1"}')
    code, _, err = check(str(TWIN), "--runtime-evidence", str(tmp_path / "other.json"))
    assert code == 2 and err.startswith("devlint: error: ") and "is not devlint runtime evidence" in err
    assert err.count("\n") == 1


LEAK = '''\
import torch
from torch import nn


def positions(count: int, device) -> torch.Tensor:
    return torch.arange(count, device=device)


class Leaky(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.outer(positions(4, "cpu"), torch.ones(4)))
'''


def build_evidence(folder: Path, source: str, name: str) -> Path:
    target = folder / "leak.py"
    target.write_text(source)
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, report = build_on_meta(module.Leaky)
    report.write(folder / "evidence.json")
    return folder / "evidence.json"


def test_baseline_fingerprints_of_runtime_findings_survive_line_shifts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    evidence = build_evidence(tmp_path, LEAK, "leak_before")
    code, out, _ = check("leak.py", "--runtime-evidence", str(evidence))
    assert code == 1 and "leak.py:6:" in out and "[runtime-only]" in out
    assert check("leak.py", "--runtime-evidence", str(evidence), "--write-baseline", "baseline.json")[0] == 0
    evidence = build_evidence(tmp_path, "# a header\n\n\n" + LEAK, "leak_after")
    assert "leak.py:9:" in check("leak.py", "--runtime-evidence", str(evidence))[1]
    code, out, _ = check("leak.py", "--runtime-evidence", str(evidence), "--baseline", "baseline.json")
    assert (code, out) == (0, "All checks passed!\n")


def test_the_static_side_never_imports_torch(evidence: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = ("import sys\nfrom devlint.cli import main\n"
             f"try:\n    main(['check', '--no-cache', {str(TWIN)!r}, '--runtime-evidence', {str(evidence)!r}])\n"
             "except SystemExit:\n    pass\nimport devlint.pytest_plugin, devlint.evidence\n"
             "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.splitlines()[-1] == "NO TORCH", done.stdout + done.stderr


def test_standard_input_takes_the_evidence_of_its_filename(evidence: Path) -> None:
    result = CliRunner().invoke(main, ["check", "-", "--stdin-filename", rel(HELPER), "--runtime-evidence",
                                       str(evidence)], input=HELPER.read_text())
    [line, summary] = result.stdout.splitlines()
    assert line.startswith(f"{rel(HELPER)}:{line_of(HELPER, 'torch.arange')}:32: DL001 `torch.arange` put its ")
    assert line.endswith("[runtime-only]") and summary.endswith("Runtime evidence: 1 runtime-only.")
