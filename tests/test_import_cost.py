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


def test_a_file_whose_tokens_never_reach_a_device_is_checked_without_libcst(tmp_path) -> None:
    """The pre-commit case: a worker module that only asks which platform it runs on."""
    target = tmp_path / "worker.py"
    target.write_text(
        "import torch\nfrom vllm.platforms import current_platform\n\n\n"
        "def synchronize() -> None:\n"
        "    if current_platform.device_type == \"cuda\":\n"
        "        torch.cuda.synchronize()\n"
        "    else:\n"
        "        raise RuntimeError(f\"cannot synchronize {current_platform.device_name}\")\n")
    action = f"from devlint.api import lint_paths\nrun = lint_paths([{str(target)!r}])\nassert not run.diagnostics"
    assert loaded_after(action) == ""


def test_a_file_with_a_candidate_loads_libcst(tmp_path) -> None:
    target = tmp_path / "m.py"
    target.write_text("import torch\n\n\ndef f(x: torch.Tensor) -> torch.Tensor:\n    return x + torch.ones(2, device='cuda')\n")
    action = f"from devlint.api import lint_paths\nrun = lint_paths([{str(target)!r}])\nassert run.diagnostics"
    assert loaded_after(action) == "libcst"
