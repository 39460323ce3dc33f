"""The pull-request gates: --diff-base (changed lines only) and baselines (new findings only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from devlint.cli import main

from conftest import GATE_NEW as NEW, GATE_OLD as OLD, devlint_env


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**devlint_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}).stdout


@pytest.fixture
def repo(in_tmp: Path) -> Path:
    git(in_tmp, "init", "-q", "-b", "main")
    (in_tmp / "m.py").write_text(OLD)
    git(in_tmp, "add", ".")
    git(in_tmp, "commit", "-qm", "base")
    git(in_tmp, "checkout", "-qb", "feature")
    return in_tmp


def rows(out: str) -> list[str]:
    return [line.split(": ")[0] for line in out.splitlines() if ": DL" in line]


def test_diff_base_reports_only_changed_lines(repo: Path) -> None:
    (repo / "m.py").write_text(OLD + NEW)  # uncommitted change
    result = CliRunner().invoke(main, ["check", "--diff-base", "main"])
    assert result.exit_code == 1 and rows(result.stdout) == ["m.py:6:30"]
    git(repo, "commit", "-qam", "add new")
    (repo / "n.py").write_text("import torch\n" + NEW)  # untracked: every line is new
    result = CliRunner().invoke(main, ["check", "--diff-base", "main"])
    assert rows(result.stdout) == ["m.py:6:30", "n.py:3:30"]
    clean = CliRunner().invoke(main, ["check", "--diff-base", "HEAD", "m.py"])
    assert clean.exit_code == 0


def test_diff_base_follows_names_git_quotes(repo: Path) -> None:
    """git ends a diff header's name that holds a space with a tab, and C-quotes non-ASCII names (also in
    `ls-files`): changed and untracked files so named are still gated."""
    (repo / "models dir").mkdir()
    (repo / "models dir" / "m.py").write_text(OLD)
    (repo / "modèle.py").write_text(OLD)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "named files")
    for path in (repo / "models dir" / "m.py", repo / "modèle.py"):
        path.write_text(OLD + NEW)
    (repo / "ünïcode dir").mkdir()
    (repo / "ünïcode dir" / "n.py").write_text("import torch\n" + NEW)  # untracked
    result = CliRunner().invoke(main, ["check", "--diff-base", "HEAD", "models dir", "modèle.py", "ünïcode dir"])
    assert result.exit_code == 1
    assert rows(result.stdout) == ["models dir/m.py:6:30", "modèle.py:6:30", "ünïcode dir/n.py:3:30"]


def test_diff_base_errors(repo: Path, tmp_path_factory) -> None:
    result = CliRunner().invoke(main, ["check", "--diff-base", "origin/nope"])
    assert result.exit_code == 2 and "unknown revision 'origin/nope'" in result.output and "fetch" in result.output
    elsewhere = tmp_path_factory.mktemp("norepo")
    (elsewhere / "m.py").write_text(OLD)
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--diff-base", "main"], cwd=elsewhere,
                          capture_output=True, text=True, env={**devlint_env(), "GIT_CEILING_DIRECTORIES": str(elsewhere.parent)},
                          timeout=120)
    assert done.returncode == 2 and "needs a git repository" in done.stderr


def test_baseline_survives_line_shifts(in_tmp: Path) -> None:
    (in_tmp / "m.py").write_text(OLD)
    result = CliRunner().invoke(main, ["check", "--write-baseline", "devlint-baseline.json"])
    assert result.exit_code == 0
    document = json.loads((in_tmp / "devlint-baseline.json").read_text())
    assert [(f["file"], f["code"]) for f in document["findings"]] == [("m.py", "DL001")]
    # Unrelated lines above shift the finding; a new finding appears below.
    (in_tmp / "m.py").write_text("# a comment\n\n" + OLD + NEW)
    result = CliRunner().invoke(main, ["check", "--baseline", "devlint-baseline.json"])
    assert result.exit_code == 1 and rows(result.stdout) == ["m.py:8:30"]
    # A second identical finding in the same function is new too (occurrence index).
    (in_tmp / "m.py").write_text(OLD.replace("    return", "    u = torch.arange(n, device='cuda')\n    t = t + u\n    return"))
    result = CliRunner().invoke(main, ["check", "--baseline", "devlint-baseline.json"])
    assert len(rows(result.stdout)) == 1


def test_baseline_errors(in_tmp: Path) -> None:
    (in_tmp / "m.py").write_text(OLD)
    (in_tmp / "bad.json").write_text("{}")
    result = CliRunner().invoke(main, ["check", "--baseline", "bad.json"])
    assert result.exit_code == 2 and "not a devlint baseline" in result.output


def test_gate_from_a_real_subprocess(repo: Path) -> None:
    (repo / "m.py").write_text(OLD + NEW)
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--diff-base", "main", "--output-format", "github"],
                          cwd=repo, capture_output=True, text=True, env=devlint_env(), timeout=120)
    assert done.returncode == 1 and done.stdout.count("::error") == 1 and "line=6" in done.stdout


def test_baseline_from_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(OLD)

    def devlint(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devlint", "check", "--no-cache", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=devlint_env(), timeout=120)

    assert devlint("--write-baseline", "base.json").returncode == 0
    assert devlint("--baseline", "base.json").returncode == 0
    (tmp_path / "m.py").write_text("\n\n" + OLD + NEW)
    found = devlint("--baseline", "base.json")
    assert found.returncode == 1 and found.stdout.startswith("m.py:8:30: DL001")
