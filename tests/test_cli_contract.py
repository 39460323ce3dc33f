"""The command-line contract a CI gate relies on, through click's runner and as a real subprocess:
every value validated, contradictions refused, no traceback for a user error, terminal conventions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from devlint.api import CheckOptions
from devlint.cli import DISPLAY_CONFLICTS, main
from devlint.rules import ALL_RULES, RUNTIME_RULES
from devlint.rules.file_errors import FILE_ERRORS

from conftest import devlint_env

BUGGY = ("import torch\n"
         "def cache(inv_freq: torch.Tensor, n: int):\n"
         "    t = torch.arange(n, device='cuda')\n"
         "    return torch.outer(t, inv_freq)\n")
FINDING = "bug.py:3:25: DL001 [*] `torch.arange` puts its result on the platform device `'cuda'`"


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env)


def devlint(cwd: Path, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devlint", *args], cwd=cwd, capture_output=True, text=True,
                          input=input, env={**devlint_env(), **(env or {})}, timeout=120)


@pytest.fixture
def project(in_tmp: Path) -> Path:
    (in_tmp / "bug.py").write_text(BUGGY)
    return in_tmp


def one_line_error(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("devlint: error: "), stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# 1. Every command-line value is validated as the configuration file is.

CODES_ALLOWED = "use rule codes or prefixes such as DL001, DL00, DL or ALL"


@pytest.mark.parametrize(("args", "named", "allowed"), [
    (("--select", "XYZ"), "--select has unknown rule codes ['XYZ']", CODES_ALLOWED),
    (("--select", "DL001,DL9"), "--select has unknown rule codes ['DL9']", CODES_ALLOWED),
    (("--ignore", "D"), "--ignore has unknown rule codes ['D']", CODES_ALLOWED),
    (("--extend-select", "E5"), "--extend-select has unknown rule codes ['E5']", CODES_ALLOWED),
    (("--per-file-ignores", "tests/**:DL007"), "--per-file-ignores value 'tests/**:DL007' has unknown rule codes",
     CODES_ALLOWED),
    (("--per-file-ignores", "tests/**"), "--per-file-ignores value 'tests/**' is not GLOB:CODES",
     "(e.g. `tests/**:DL001,DL003`)"),
    (("--platform-device", "get device()"), "--platform-device entry 'get device()' is not a platform device",
     "a device word (`privateuseone`), a dotted name (`my_pkg.DEVICE`) or a call (`get_device()`"),
])
def test_unknown_values_are_usage_errors(project: Path, args: tuple[str, ...], named: str, allowed: str) -> None:
    result = invoke("check", *args)
    assert result.exit_code == 2 and result.stdout == ""
    one_line_error(result.stderr, named, allowed)


def test_the_configuration_file_is_held_to_the_same_codes(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.devlint]\nselect = ["DL999"]\n')
    result = invoke("check")
    assert result.exit_code == 2
    one_line_error(result.stderr, "pyproject.toml: [tool.devlint] `select` has unknown rule codes ['DL999']")


def test_known_codes_and_prefixes_are_accepted(project: Path) -> None:
    for selector in ("ALL", "DL", "DL0", "DL001", "E", "E9", "E902", "dl001"):
        assert invoke("check", "--select", selector).exit_code in (0, 1), selector
    assert invoke("check", "--select", "DL", "--ignore", "DL001").exit_code == 0
    assert invoke("check", "--per-file-ignores", "bug.py:DL001").exit_code == 0
    assert invoke("check", "--per-file-ignores", "other.py:DL001").exit_code == 1


VALUE_OF = {"write_baseline": ["--write-baseline", "b.json"], "baseline": ["--baseline", "b.json"],
            "stdin": ["-"], "diff_base": ["--diff-base", "HEAD"]}


def flag(name: str) -> list[str]:
    return VALUE_OF.get(name, ["--" + name.replace("_", "-")])


@pytest.mark.parametrize(("first", "second"), [*CheckOptions.CONFLICTS, *DISPLAY_CONFLICTS],
                         ids=[f"{a}+{b}" for a, b in [*CheckOptions.CONFLICTS, *DISPLAY_CONFLICTS]])
def test_contradictory_flags_are_usage_errors(project: Path, first: str, second: str) -> None:
    (project / "b.json").write_text('{"format": "devlint-baseline/1", "findings": []}')
    result = invoke("check", *flag(first), *flag(second), input=BUGGY)
    assert result.exit_code == 2, result.output
    shown = ["-` or `--stdin-filename" if n == "stdin" else flag(n)[0] for n in (first, second)]
    assert f"Error: `{shown[0]}` cannot be used with `{shown[1]}`" in result.stderr
    assert BUGGY == (project / "bug.py").read_text()  # nothing was done


def test_statistics_as_json_as_ruff_prints_them(project: Path) -> None:
    (project / "more.py").write_text(BUGGY + "def g(n, device='cuda'):\n    return torch.zeros(n, device=device)\n")
    result = invoke("check", "--statistics", "--output-format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"code": "DL001", "name": "platform-device-with-sibling-tensor", "count": 2, "fixable": True,
         "fixable_count": 2},
        {"code": "DL004", "name": "platform-device-default-argument", "count": 1, "fixable": False,
         "fixable_count": 0},
    ]
    assert json.loads(invoke("check", "--statistics", "--output-format", "json", "--exit-zero",
                             "--select", "DL005").stdout) == []
    refused = invoke("check", "--statistics", "--output-format", "sarif")
    assert refused.exit_code == 2 and "`--statistics` prints text or JSON" in refused.stderr


def test_values_and_conflicts_from_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(BUGGY)
    typo = devlint(tmp_path, "check", "--select", "XYZ")
    assert typo.returncode == 2 and typo.stdout == ""
    one_line_error(typo.stderr, "--select has unknown rule codes ['XYZ']")
    both = devlint(tmp_path, "check", "--fix", "--add-noqa")
    assert both.returncode == 2 and "Error: `--fix` cannot be used with `--add-noqa`" in both.stderr
    assert (tmp_path / "bug.py").read_text() == BUGGY
    stats = devlint(tmp_path, "check", "--statistics", "--output-format", "json")
    assert stats.returncode == 1 and [row["code"] for row in json.loads(stats.stdout)] == ["DL001"]


# 2. Never a traceback for a user error.

def test_output_and_baseline_folders_are_created(project: Path) -> None:
    result = invoke("check", "-o", "reports/ci/out.json", "--output-format", "json")
    assert result.exit_code == 1 and result.stdout == ""
    assert [item["code"] for item in json.loads((project / "reports/ci/out.json").read_text())] == ["DL001"]
    result = invoke("check", "--write-baseline", "gates/devlint-baseline.json")
    assert result.exit_code == 0 and result.stderr == "Wrote 1 finding to gates/devlint-baseline.json.\n"
    assert invoke("check", "--baseline", "gates/devlint-baseline.json").exit_code == 0


@pytest.mark.parametrize("option", ["-o", "--write-baseline"])
def test_an_unwritable_output_is_one_line_and_exit_2(project: Path, option: str) -> None:
    (project / "blocker").write_text("a file where a folder should be\n")
    result = invoke("check", option, "blocker/out.json")
    assert result.exit_code == 2 and result.stdout == ""
    one_line_error(result.stderr, "blocker/out.json")


def test_user_errors_from_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "blocker").write_text("x\n")
    made = devlint(tmp_path, "check", "-o", "missing/dir/out.json", "--output-format", "json")
    assert made.returncode == 1 and json.loads((tmp_path / "missing/dir/out.json").read_text())[0]["code"] == "DL001"
    for option in ("-o", "--write-baseline"):
        blocked = devlint(tmp_path, "check", option, "blocker/b.json")
        assert blocked.returncode == 2
        one_line_error(blocked.stderr, "cannot write blocker/b.json")


# 3. Terminal conventions.

def colored(result: Result) -> bool:
    return "\x1b[" in result.stdout


def test_colour_follows_flag_then_no_color_then_force_color(project: Path) -> None:
    assert not colored(invoke("check"))  # not a terminal
    assert colored(invoke("check", env={"FORCE_COLOR": "1"}))
    assert not colored(invoke("check", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}))
    assert not colored(invoke("check", env={"NO_COLOR": ""}))  # an empty NO_COLOR is not set
    assert colored(invoke("check", "--color", "always", env={"NO_COLOR": "1"}))
    assert not colored(invoke("check", "--color", "never", env={"FORCE_COLOR": "1"}))
    plain = invoke("check", "--color", "never").stdout
    assert invoke("check", "--color", "always").stdout != plain and plain.startswith(FINDING)


def test_quiet_prints_findings_only_and_silent_nothing(project: Path) -> None:
    quiet = invoke("check", "-q")
    assert quiet.exit_code == 1 and quiet.stdout.splitlines() == [quiet.stdout.splitlines()[0]]
    assert quiet.stdout.startswith(FINDING)
    silent = invoke("check", "--silent")
    assert silent.exit_code == 1 and silent.stdout == "" and silent.stderr == ""
    (project / "bug.py").write_text("x = 1\n")
    assert invoke("check", "--quiet").stdout == ""
    assert invoke("check", "-s").exit_code == 0


def test_show_files_lists_what_would_be_checked(project: Path) -> None:
    (project / "pkg").mkdir()
    (project / "pkg" / "a.py").write_text("x = 1\n")
    (project / "pkg" / "notes.txt").write_text("x\n")
    (project / "build").mkdir()
    (project / "build" / "gen.py").write_text("x = 1\n")
    result = invoke("check", "--show-files")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [str(project / "bug.py"), str(project / "pkg" / "a.py")]
    assert invoke("check", "--show-files", "--extend-exclude", "pkg").stdout.splitlines() == [str(project / "bug.py")]


def test_version_short_and_long() -> None:
    assert invoke("-V").stdout == invoke("--version").stdout == "devlint, version 0.1.0\n"


def test_a_warning_when_no_python_file_was_checked(in_tmp: Path) -> None:
    (in_tmp / "empty").mkdir()
    result = invoke("check", "empty")
    assert result.exit_code == 0
    assert result.stderr == "warning: No Python files found under the given path(s)\n"
    (in_tmp / "m.py").write_text(BUGGY)
    (in_tmp / "pyproject.toml").write_text('[tool.devlint]\ninclude = ["models/**"]\n')
    result = invoke("check")
    assert result.exit_code == 0 and "No Python files found" in result.stderr
    assert "No Python files" not in invoke("check", "-q", "empty").stderr


def test_the_summary_never_passes_when_a_file_could_not_be_checked(in_tmp: Path) -> None:
    (in_tmp / "broken.py").write_text("x = torch.device('cuda')\ndef (:\n")
    result = invoke("check")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "No findings in the files checked. 1 file could not be checked."
    assert "All checks passed!" not in result.stdout


def test_stdin_as_ruff_reads_it(project: Path) -> None:
    alone = invoke("check", "--stdin-filename", "pkg/rope.py", input=BUGGY)
    assert alone.exit_code == 1 and alone.stdout.startswith("pkg/rope.py:3:25: DL001")
    dash = invoke("check", "-", input=BUGGY)
    assert dash.exit_code == 1 and dash.stdout.startswith("-:3:25: DL001")
    mixed = invoke("check", "-", "bug.py", input=BUGGY)
    assert mixed.exit_code == 2 and "`-` (standard input) cannot be mixed with other paths" in mixed.stderr
    preferred = invoke("check", "--stdin-filename", "x.py", "bug.py", input="x = 1\n")
    assert preferred.exit_code == 0 and preferred.stdout == "All checks passed!\n"
    assert preferred.stderr == "warning: Ignoring file bug.py in favor of standard input.\n"


@pytest.mark.parametrize("code", sorted(FILE_ERRORS))
def test_rule_explains_the_file_error_codes(code: str) -> None:
    result = invoke("rule", code.lower())
    assert result.exit_code == 0
    assert result.stdout.startswith(f"# {FILE_ERRORS[code].name} ({code})\n\nNo fix is available.\n")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert heading in result.stdout


def test_rule_as_json() -> None:
    one = json.loads(invoke("rule", "DL001", "--output-format", "json").stdout)
    assert set(one) == {"name", "code", "linter", "summary", "fix", "fix_availability", "explanation", "preview"}
    assert (one["code"], one["fix_availability"], one["fix"]) == ("DL001", "Sometimes", "Fix is sometimes available.")
    assert one["explanation"].startswith("## What it does\n")
    every = json.loads(invoke("rule", "--all", "--output-format", "json").stdout)
    assert [item["code"] for item in every] == [r.code for r in (*ALL_RULES, *RUNTIME_RULES)] + list(FILE_ERRORS)
    assert invoke("rule", "XYZ", "--output-format", "json").exit_code == 2


def test_terminal_conventions_from_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(BUGGY)
    forced = devlint(tmp_path, "check", env={"FORCE_COLOR": "1"})
    assert forced.returncode == 1 and "\x1b[" in forced.stdout
    assert "\x1b[" not in devlint(tmp_path, "check", "--color", "never", env={"FORCE_COLOR": "1"}).stdout
    quiet = devlint(tmp_path, "check", "-q")
    assert quiet.returncode == 1 and quiet.stdout.startswith(FINDING) and len(quiet.stdout.splitlines()) == 1
    silent = devlint(tmp_path, "check", "--silent")
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, "", "")
    piped = devlint(tmp_path, "check", "--stdin-filename", "m.py", input=BUGGY)
    assert piped.returncode == 1 and piped.stdout.startswith("m.py:3:25: DL001")
    assert devlint(tmp_path, "-V").stdout == "devlint, version 0.1.0\n"
    assert devlint(tmp_path, "check", "--show-files").stdout == f"{tmp_path / 'bug.py'}\n"
    (tmp_path / "empty").mkdir()
    empty = devlint(tmp_path, "check", "empty")
    assert empty.returncode == 0 and "warning: No Python files found" in empty.stderr
    explained = devlint(tmp_path, "rule", "E902")
    assert explained.returncode == 0 and explained.stdout.startswith("# io-error (E902)")
