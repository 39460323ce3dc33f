"""The pre-commit hooks, for real: `pre-commit try-repo` against this repository on a staged buggy file."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, devlint_env

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None,
                                reason="pre-commit is not installed (it is part of the test extra)")

BUGGY = ("import torch\n"
         "def cache(inv_freq: torch.Tensor, n: int):\n"
         "    t = torch.arange(n, device='cuda')\n"
         "    return torch.outer(t, inv_freq)\n")


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return {**devlint_env(), "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def test_hooks_fail_on_a_finding_and_pass_once_fixed(tmp_path: Path, env: dict[str, str]) -> None:
    run(tmp_path, "git", "init", "-q", env=env)
    (tmp_path / "bug.py").write_text(BUGGY)
    run(tmp_path, "git", "add", "bug.py", env=env)
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO)]

    failed = run(tmp_path, *pre_commit, "devlint", "--files", "bug.py", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bug.py:3:25: DL001 [*]" in failed.stdout

    fixing = run(tmp_path, *pre_commit, "devlint-fix", "--files", "bug.py", env=env)
    assert fixing.returncode == 1, fixing.stdout + fixing.stderr  # it changed the file: review, then commit
    assert "device=inv_freq.device" in (tmp_path / "bug.py").read_text()
    run(tmp_path, "git", "add", "bug.py", env=env)

    passed = run(tmp_path, *pre_commit, "devlint", "--files", "bug.py", env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    (tmp_path / "notes.txt").write_text("no python here\n")
    no_files = run(tmp_path, *pre_commit, "devlint", "--files", "notes.txt", env=env)
    assert no_files.returncode == 0, no_files.stdout + no_files.stderr
