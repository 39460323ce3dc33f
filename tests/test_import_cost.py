"""`import devlint` and `devlint --help` stay light: no torch, no LibCST, none of the checked code."""

from __future__ import annotations

import subprocess
import sys

from conftest import devlint_env

PROBE = """
import sys
{action}
heavy = sorted(m for m in ("torch", "libcst", "numpy") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def loaded_after(action: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(action=action)], capture_output=True, text=True,
                         env=devlint_env(), check=True, timeout=60)
    return next(line for line in out.stdout.splitlines() if line.startswith("HEAVY:"))[len("HEAVY:"):]


def test_import_devlint_loads_nothing_heavy() -> None:
    assert loaded_after("import devlint") == ""


def test_help_and_version_load_nothing_heavy() -> None:
    action = ("from devlint.cli import main\n"
              "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n")
    assert loaded_after(action) == ""


def test_checking_a_file_never_imports_torch(tmp_path) -> None:
    target = tmp_path / "m.py"
    target.write_text("import torch\nx = torch.zeros(2, device='cuda') + torch.ones(2)\n")
    action = f"from devlint.api import lint_paths\nlint_paths([{str(target)!r}])"
    assert "torch" not in loaded_after(action)
