"""The pre-commit configuration of docs/ci.md, for real: `pre-commit run` in a fresh repository whose config
is the documented one, with `repo:` a clone of this project (its working tree, committed) and `rev:` that
commit's sha. One hook environment serves every test (it is the slow part: pre-commit pip-installs devlint).

pre-commit and git are part of the test setup (the `test` extra; CI has git): without them these tests
fail rather than skip, so CI cannot go green without running them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pre_commit  # noqa: F401 - a missing pre-commit must fail the run, not skip it
import pytest

from conftest import REPO, devlint_env, docs_block

BUGGY = ("import torch\n"
         "def cache(inv_freq: torch.Tensor, n: int):\n"
         "    t = torch.arange(n, device='cuda')\n"
         "    return torch.outer(t, inv_freq)\n")
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t"}


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    assert shutil.which("git"), "git is needed to test the pre-commit hooks"
    return {**devlint_env(), **GIT_IDENTITY, "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}


@pytest.fixture(scope="module")
def devlint_clone(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[Path, str]:
    """A git repository holding this project's working tree as one commit (uncommitted edits included, as
    `pre-commit try-repo` does), and that commit's sha."""
    clone = tmp_path_factory.mktemp("devlint-repo")
    listed = run(REPO, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", env=env)
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    for step in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "snapshot"]):
        assert run(clone, *step, env=env).returncode == 0
    return clone, run(clone, "git", "rev-parse", "HEAD", env=env).stdout.strip()


def documented_config(clone: Path, sha: str, *, with_fix_hook: bool) -> str:
    """docs/ci.md's .pre-commit-config.yaml with its placeholders filled in (and, for the fix hook, the line
    the docs leave commented out uncommented)."""
    text = docs_block("# .pre-commit-config.yaml")
    assert "repo: https://github.com/<owner>/devlint\n" in text and "rev: <commit> " in text
    text = text.replace("https://github.com/<owner>/devlint", str(clone)).replace("<commit>", sha)
    return text.replace("# - id: devlint-fix", "- id: devlint-fix") if with_fix_hook else text


@pytest.fixture
def project(tmp_path: Path, env: dict[str, str], devlint_clone: tuple[Path, str]) -> Path:
    clone, sha = devlint_clone
    (tmp_path / ".pre-commit-config.yaml").write_text(documented_config(clone, sha, with_fix_hook=True))
    (tmp_path / "bug.py").write_text(BUGGY)
    for step in (["git", "init", "-q"], ["git", "add", "-A"]):
        assert run(tmp_path, *step, env=env).returncode == 0
    return tmp_path


def pre_commit_run(project: Path, hook: str, *files: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(project, sys.executable, "-m", "pre_commit", "run", hook, "--files", *files, env=env)


def test_the_documented_hook_fails_on_a_finding(project: Path, env: dict[str, str]) -> None:
    failed = pre_commit_run(project, "devlint", "bug.py", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bug.py:3:25: DL001 [*]" in failed.stdout


def test_the_fix_hook_fixes_then_the_check_passes(project: Path, env: dict[str, str]) -> None:
    fixing = pre_commit_run(project, "devlint-fix", "bug.py", env=env)
    assert fixing.returncode == 1, fixing.stdout + fixing.stderr  # it changed the file: review, then commit
    assert (project / "bug.py").read_text() == BUGGY.replace("device='cuda'", "device=inv_freq.device")
    run(project, "git", "add", "bug.py", env=env)
    passed = pre_commit_run(project, "devlint", "bug.py", env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_no_python_file_staged_passes(project: Path, env: dict[str, str]) -> None:
    (project / "notes.txt").write_text("no python here\n")
    run(project, "git", "add", "notes.txt", env=env)
    no_files = pre_commit_run(project, "devlint", "notes.txt", env=env)
    assert no_files.returncode == 0, no_files.stdout + no_files.stderr
