"""The README's runtime example runs as written and prints what the README shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import REPO

pytest.importorskip("torch")


def readme_block(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\n```\n(.*?)```\n", text, re.S)
    assert match, f"README lost its {marker} block"
    return match.group(1)


def test_the_runtime_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    command = readme_block("runtime-example-command").strip()
    build, check = command.split(" && ")[1:]
    assert (build, check) == ("python examples/runtime/build.py",
                              "devlint check examples/runtime/ --runtime-evidence devlint-runtime.json")
    shutil.copytree(REPO / "examples" / "runtime", tmp_path / "examples" / "runtime")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    built = subprocess.run([sys.executable, "examples/runtime/build.py"], cwd=tmp_path, capture_output=True,
                           text=True, env=env, timeout=120)
    checked = subprocess.run([sys.executable, "-m", "devlint", *check.split()[1:], "--no-cache"], cwd=tmp_path,
                             capture_output=True, text=True, env=env, timeout=120)
    assert built.returncode == 0, built.stderr
    assert checked.returncode == 1, checked.stderr
    assert built.stdout + checked.stdout == readme_block("runtime-example-output")
