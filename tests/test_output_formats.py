"""Output formats, -o, --statistics and stdin, through click's runner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from devlint.cli import main
from devlint.rules import ALL_RULES, RUNTIME_RULES

from conftest import devlint_env

HERE = Path(__file__).resolve().parent
BUGGY = ("import torch\n"
         "def cache(inv_freq: torch.Tensor, n: int):\n"
         "    t = torch.arange(n, device='cuda')\n"
         "    return torch.outer(t, inv_freq)\n"
         "def g(device='cuda'):\n"
         "    return torch.zeros(1, device=device)\n")


@pytest.fixture
def project(in_tmp: Path) -> Path:
    (in_tmp / "m.py").write_text(BUGGY)
    (in_tmp / "broken.py").write_text("x = torch.device('cuda')\ndef (:\n")
    return in_tmp


def output(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args])
    return result.exit_code, result.stdout


def test_json_is_ruff_shaped(project: Path) -> None:
    code, out = output("--output-format", "json")
    assert code == 1
    items = json.loads(out)
    assert [(i["code"], i["filename"], i["location"]["row"]) for i in items] == [
        ("E999", "broken.py", 2), ("DL001", "m.py", 3), ("DL004", "m.py", 5)]
    finding = items[1]
    assert set(finding) == {"code", "message", "filename", "location", "end_location", "fix", "noqa_row", "url"}
    assert finding["location"] == {"row": 3, "column": 25} and finding["end_location"] == {"row": 3, "column": 38}
    assert finding["fix"] == {
        "applicability": "safe", "message": "Use `device=inv_freq.device`",
        "edits": [{"content": "inv_freq.device", "location": {"row": 3, "column": 32},
                   "end_location": {"row": 3, "column": 38}}]}
    assert items[2]["fix"] is None and finding["noqa_row"] == 3


def test_json_lines(project: Path) -> None:
    lines = output("--output-format", "json-lines")[1].splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["E999", "DL001", "DL004"]


def test_sarif_validates_against_the_schema_and_carries_fixes(project: Path) -> None:
    document = json.loads(output("--output-format", "sarif")[1])
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in (*ALL_RULES, *RUNTIME_RULES)]
    assert "## Why is this bad?" in rules[0]["help"]["text"]
    [dl001, dl004] = run["results"]
    assert dl001["ruleId"] == "DL001" and dl001["level"] == "error"
    assert dl001["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 25, "endLine": 3,
                                                                   "endColumn": 38}
    [change] = dl001["fixes"][0]["artifactChanges"]
    assert change["replacements"] == [{"deletedRegion": {"startLine": 3, "startColumn": 32, "endLine": 3, "endColumn": 38},
                                       "insertedContent": {"text": "inv_freq.device"}}]
    assert "fixes" not in dl004
    assert "E999" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_github_annotations(project: Path) -> None:
    lines = output("--output-format", "github")[1].splitlines()
    assert lines[1].startswith("::error title=devlint (DL001),file=m.py,line=3,col=25,endLine=3,endColumn=38::m.py:3:25: DL001 ")
    assert lines[0].startswith("::error title=devlint (E999),file=broken.py,line=2,col=")


def test_junit(project: Path) -> None:
    root = ET.fromstring(output("--output-format", "junit")[1].split("\n", 1)[1])
    assert root.get("failures") == "3"
    assert sorted(s.get("name") for s in root.iter("testsuite")) == ["broken.py", "m.py"]


def test_full_shows_source_caret_and_fix(project: Path) -> None:
    out = output("--output-format", "full", "m.py")[1]
    assert "    3 |     t = torch.arange(n, device='cuda')\n" in out
    assert "\n" + " " * 32 + "^" * 13 + "\n" in out
    assert "-    t = torch.arange(n, device='cuda')" in out and "+    t = torch.arange(n, device=inv_freq.device)" in out


def test_output_file_and_statistics(project: Path) -> None:
    code, out = output("-o", "report.json", "--output-format", "json")
    assert code == 1 and out == "" and len(json.loads((project / "report.json").read_text())) == 3
    code, out = output("--statistics")
    assert out.splitlines() == ["1\tDL001\t[*] platform-device-with-sibling-tensor",
                                "1\tDL004\t[ ] platform-device-default-argument",
                                "1\tE999 \t[ ] syntax-error",
                                "Found 2 findings in 1 file (1 fixable). 1 file could not be checked."]


def test_stdin(project: Path) -> None:
    result = CliRunner().invoke(main, ["check", "-", "--stdin-filename", "pkg/m.py"], input=BUGGY)
    assert result.exit_code == 1 and result.stdout.startswith("pkg/m.py:3:25: DL001 [*]")
    result = CliRunner().invoke(main, ["check", "-", "--stdin-filename", "pkg/m.py", "--fix"], input=BUGGY)
    assert result.stdout == BUGGY.replace("device='cuda')\n    return", "device=inv_freq.device)\n    return")
    assert "DL004" in result.stderr


def test_formats_from_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(BUGGY)
    for fmt in ("concise", "full", "json", "json-lines", "sarif", "github", "junit"):
        done = subprocess.run([sys.executable, "-m", "devlint", "check", "--output-format", fmt], cwd=tmp_path,
                              capture_output=True, text=True, env=devlint_env(), timeout=120)
        assert done.returncode == 1 and "DL001" in done.stdout, (fmt, done.stderr)
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "-", "--stdin-filename", "x.py", "--fix"],
                          cwd=tmp_path, input=BUGGY, capture_output=True, text=True, env=devlint_env(), timeout=120)
    assert "device=inv_freq.device" in done.stdout


def test_every_registered_format_has_a_reporter_of_that_name() -> None:
    from devlint.report import FORMATS, reporter_class

    assert {name: reporter_class(name).name for name in FORMATS} == {name: name for name in FORMATS}
