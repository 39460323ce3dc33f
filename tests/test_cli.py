"""The `devlint` command, through click's runner and as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from devlint.cli import main

from conftest import devlint_env

BUGGY = (
    "import torch\n"
    "from vllm.platforms import current_platform\n"
    "def cache(inv_freq: torch.Tensor, n: int):\n"
    "    t = torch.arange(n, device=current_platform.device_type)\n"
    "    return torch.outer(t, inv_freq)\n"
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_clean_tree_exits_zero(in_tmp: Path) -> None:
    (in_tmp / "ok.py").write_text("import torch\nx = torch.zeros(3)\n")
    code, out = run("check")
    assert code == 0 and out == "All checks passed!\n"


def test_findings_exit_one_with_concise_lines_and_summary(in_tmp: Path) -> None:
    (in_tmp / "pkg").mkdir()
    (in_tmp / "pkg" / "rope.py").write_text(BUGGY)
    code, out = run("check", "pkg")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("pkg/rope.py:4:25: DL001 [*] `torch.arange` puts its result on the platform device")
    assert lines[-1] == "Found 1 finding in 1 file (1 fixable)."


def test_exit_zero(in_tmp: Path) -> None:
    (in_tmp / "rope.py").write_text(BUGGY)
    assert run("check", "--exit-zero")[0] == 0


def test_missing_path_is_a_usage_error(in_tmp: Path) -> None:
    result = CliRunner().invoke(main, ["check", "nope/"])
    assert result.exit_code == 2
    assert "path does not exist: nope/" in result.output


def test_diff_prints_the_fix_and_writes_nothing(in_tmp: Path) -> None:
    (in_tmp / "rope.py").write_text(BUGGY)
    code, out = run("check", "--diff", "rope.py")
    assert code == 1
    assert "-    t = torch.arange(n, device=current_platform.device_type)\n" in out
    assert "+    t = torch.arange(n, device=inv_freq.device)\n" in out
    assert (in_tmp / "rope.py").read_text() == BUGGY


def test_fix_writes_and_then_is_clean(in_tmp: Path) -> None:
    (in_tmp / "rope.py").write_text(BUGGY)
    code, out = run("check", "--fix", "rope.py")
    assert code == 0, out
    assert "Fixed 1 finding." in out
    assert "device=inv_freq.device" in (in_tmp / "rope.py").read_text()
    assert run("check", "rope.py") == (0, "All checks passed!\n")


def test_exit_non_zero_on_fix(in_tmp: Path) -> None:
    (in_tmp / "rope.py").write_text(BUGGY)
    assert run("check", "--fix", "--exit-non-zero-on-fix", "rope.py")[0] == 1


def test_unsafe_fixes_need_the_flag(in_tmp: Path) -> None:
    source = BUGGY.replace("inv_freq: torch.Tensor", "inv_freq: 'torch.Tensor | None'")
    (in_tmp / "rope.py").write_text(source)
    code, out = run("check", "--fix", "rope.py")
    assert code == 1 and (in_tmp / "rope.py").read_text() == source
    assert out.splitlines()[-1] == "Found 1 finding in 1 file (0 fixable; 1 more with --unsafe-fixes)."
    code, out = run("check", "--fix", "--unsafe-fixes", "rope.py")
    assert code == 0 and "device=inv_freq.device" in (in_tmp / "rope.py").read_text()


def test_select_and_ignore(in_tmp: Path) -> None:
    (in_tmp / "rope.py").write_text(BUGGY)
    assert run("check", "--ignore", "DL001")[0] == 0
    assert run("check", "--select", "DL001")[0] == 1
    assert run("check", "--select", "DL", "--ignore", "DL0")[0] == 0


def test_unparsable_and_undecodable_files_are_reported_and_the_run_goes_on(in_tmp: Path) -> None:
    # devlint parses only files that mention a platform device where a device goes; this one does, and is broken.
    (in_tmp / "a_broken.py").write_text("x = torch.device('cuda')\ndef f(:\n    pass\n")
    (in_tmp / "b_latin.py").write_bytes(b"x = '\xe9'\n")
    (in_tmp / "c_rope.py").write_text(BUGGY)
    code, out = run("check")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "a_broken.py:2:7: E999 syntax error: invalid syntax"
    assert lines[1].startswith("b_latin.py:1:1: E902 not valid utf-8")
    assert lines[2].startswith("c_rope.py:4:25: DL001")
    assert lines[-1] == "Found 1 finding in 1 file (1 fixable). 2 files could not be checked."


def test_rule_explains_a_code() -> None:
    code, out = run("rule", "DL001")
    assert code == 0
    assert out.startswith("# platform-device-with-sibling-tensor (DL001)")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert heading in out
    assert run("rule", "--all")[0] == 0
    assert run("rule", "DL999")[0] == 2


def test_subprocess_exit_codes_and_output(tmp_path: Path) -> None:
    (tmp_path / "rope.py").write_text(BUGGY)
    (tmp_path / "ok.py").write_text("x = 1\n")

    def devlint(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devlint", *args], cwd=tmp_path, capture_output=True,
                              text=True, env=devlint_env(), timeout=120)

    found = devlint("check", ".")
    assert found.returncode == 1, found.stderr
    assert found.stdout.startswith("rope.py:4:25: DL001 [*]")
    assert "\x1b[" not in found.stdout  # no colour when stdout is not a terminal
    assert devlint("check", "ok.py").returncode == 0
    missing = devlint("check", "missing.py")
    assert missing.returncode == 2 and "path does not exist" in missing.stderr
    assert devlint("--version").stdout.strip() == "devlint, version 0.1.0"


def test_the_console_script_tunes_its_own_collector_and_main_leaves_a_callers_alone(in_tmp: Path) -> None:
    """`devlint.cli:run` (the console script, `python -m devlint`) sets the collector for its own process;
    a Python caller of `main` (tests, wrappers) keeps its settings and its heap unfrozen."""
    import gc

    from devlint import cli

    (in_tmp / "rope.py").write_text(BUGGY)
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert run("check", "--no-cache", "rope.py")[0] == 1
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    probe = ("import gc, sys\nfrom devlint.cli import run\nsys.argv[1:] = ['--version']\n"
             "try:\n    run()\nexcept SystemExit:\n    print(gc.get_threshold()[0], gc.get_freeze_count() > 0)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=devlint_env(), timeout=60)
    assert done.stdout.splitlines()[-1] == f"{cli.START_UP_OBJECTS} True", done.stderr


def test_workers_collect_garbage_as_their_parent_does() -> None:
    """The pool hands its parent's collector settings to each worker (the console script raises the
    threshold): what a forked worker inherits, a spawned one (macOS, Windows, Python 3.14's default on Linux)
    is given."""
    import gc
    import multiprocessing

    from devlint import engine

    before = gc.get_threshold()
    gc.set_threshold(12345, 7, 3)
    try:
        pool = engine._new_pool(2)
    finally:
        gc.set_threshold(*before)
    with pool:
        assert pool.submit(gc.get_threshold).result(timeout=120) == (12345, 7, 3)
    with multiprocessing.get_context("spawn").Pool(1, initializer=engine._warm_up, initargs=((4321, 9, 2),)) as spawned:
        assert spawned.apply(gc.get_threshold) == (4321, 9, 2)


def test_bundled_example_has_findings() -> None:
    code, out = run("check", str(Path(__file__).resolve().parent.parent / "examples"))
    assert code == 1 and "DL001" in out
