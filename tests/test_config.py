"""`[tool.devlint]` configuration, through the CLI (click's runner) and one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from devlint.cli import main
from devlint.rules import ALL_RULES

from conftest import devlint_env

BUGGY = ("import torch\n"
         "def cache(inv_freq: torch.Tensor, n: int):\n"
         "    t = torch.arange(n, device='cuda')\n"
         "    return torch.outer(t, inv_freq)\n")
DEFAULT_ARG = "import torch\ndef f(device='cuda'):\n    return torch.zeros(1, device=device)\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_select_ignore_and_per_file_ignores(in_tmp: Path) -> None:
    write(in_tmp, {
        "pyproject.toml": '[tool.devlint]\nignore = ["DL004"]\nper-file-ignores = { "tests/**" = ["DL001"] }\n',
        "pkg/a.py": BUGGY + DEFAULT_ARG, "tests/test_a.py": BUGGY,
    })
    code, out = run("check")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["pkg/a.py"]
    assert " DL001 " in out and "DL004" not in out
    # A flag overrides the file: --select replaces `select`; --extend-select adds.
    assert "DL004" in run("check", "--select", "DL004", "pkg")[1]


def test_exclude_include_and_force_exclude(in_tmp: Path) -> None:
    write(in_tmp, {
        "pyproject.toml": '[tool.devlint]\nexclude = ["generated/"]\ninclude = ["model_executor/**"]\n',
        "generated/g.py": BUGGY, "model_executor/m.py": BUGGY, "other/o.py": BUGGY,
    })
    code, out = run("check")
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["model_executor/m.py"]
    # Explicit files are checked anyway, unless --force-exclude (what pre-commit passes).
    assert "generated/g.py" in run("check", "generated/g.py")[1]
    assert run("check", "--force-exclude", "generated/g.py", "other/o.py") == (0, "All checks passed!\n")


def test_closest_pyproject_wins_and_config_flag_overrides(in_tmp: Path) -> None:
    write(in_tmp, {
        "pyproject.toml": '[tool.devlint]\nselect = ["DL004"]\n',
        "sub/pyproject.toml": '[tool.devlint]\nselect = ["DL001"]\n',
        "sub/a.py": BUGGY + DEFAULT_ARG,
        "strict.toml": "",
        "other.toml": '[tool.devlint]\nselect = ["DL004"]\n',
    })
    out = run("check", "sub")[1]
    assert " DL001 " in out and "DL004" not in out
    (in_tmp / "cfg").mkdir()
    (in_tmp / "cfg" / "pyproject.toml").write_text('[tool.devlint]\nselect = ["DL004"]\n')
    out = run("check", "--config", "cfg/pyproject.toml", "sub")[1]
    assert "DL004" in out and " DL001 " not in out


def test_platform_devices_in_config(in_tmp: Path) -> None:
    write(in_tmp, {
        "pyproject.toml": '[tool.devlint]\nplatform-devices = ["get_device()"]\n',
        "a.py": "import torch\nfrom sglang.srt.utils import get_device\n"
                "def f(x: torch.Tensor):\n    return x + torch.ones(2, device=get_device())\n",
    })
    assert " DL001 " in run("check")[1]


def test_bad_configuration_is_a_clear_usage_error(in_tmp: Path) -> None:
    write(in_tmp, {"pyproject.toml": '[tool.devlint]\nselct = ["DL001"]\n', "a.py": "x = 1\n"})
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert "pyproject.toml: unknown key(s) selct in [tool.devlint]; allowed: " in result.output
    (in_tmp / "pyproject.toml").write_text('[tool.devlint]\nselect = "DL001"\n')
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2 and "`select` must be a list of rule codes" in result.output
    (in_tmp / "pyproject.toml").write_text('[tool.devlint]\nignore = ["XYZ9"]\n')
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2 and "unknown rule codes ['XYZ9']" in result.output
    (in_tmp / "pyproject.toml").write_text('[tool.devlint\n')
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_show_settings(in_tmp: Path) -> None:
    write(in_tmp, {"pyproject.toml": '[tool.devlint]\nignore = ["DL004"]\nper-file-ignores = { "tests/*" = ["DL003"] }\n',
                   "tests/t.py": "x = 1\n"})
    result = CliRunner().invoke(main, ["check", "--show-settings", "tests/t.py"])
    assert result.exit_code == 0
    [settings] = json.loads(result.output)
    assert settings["config_file"].endswith("pyproject.toml")
    # DL006 is opt-in: the default `DL` leaves it off.
    assert settings["enabled_rules"] == [r.code for r in ALL_RULES if r.code not in {"DL003", "DL004", "DL006"}]
    assert settings["ignore"] == ["DL003", "DL004"]


def test_configuration_from_a_real_subprocess(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.devlint]\nignore = ["DL001"]\n', "a.py": BUGGY})
    done = subprocess.run([sys.executable, "-m", "devlint", "check"], cwd=tmp_path, capture_output=True, text=True,
                          env=devlint_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.devlint]\nbogus = 1\n')
    done = subprocess.run([sys.executable, "-m", "devlint", "check"], cwd=tmp_path, capture_output=True, text=True,
                          env=devlint_env(), timeout=120)
    assert done.returncode == 2 and "unknown key(s) bogus" in done.stderr
