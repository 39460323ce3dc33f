"""The pipeline's last stage as a Python caller gets it: `devlint.api.check` and the pure `exit_code`
give what `devlint check` does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from devlint import api
from devlint.api import CheckOptions, UsageError, exit_code
from devlint.cli import main
from devlint.report.statistics import render_statistics
from devlint.types import Diagnostic, FileError, FileResult, Fix, FixMode, Location, RunResult

from conftest import GATE_NEW as NEW, GATE_OLD as OLD, devlint_env


def finding(path: str = "m.py") -> Diagnostic:
    return Diagnostic(code="DL001", message="m", path=path, start=Location(1, 1), end=Location(1, 2),
                      fix=Fix("f", ()))


def run_of(*, findings: int = 0, error: str | None = None, written: int = 0, write_errors: int = 0,
           fixed: int = 0) -> RunResult:
    files = [FileResult(path="m.py", diagnostics=[finding() for _ in range(findings)], applied_fixes=fixed)]
    if error is not None:
        files.append(FileResult(path="bad.py", error=FileError(code=error, path="bad.py", reason="r")))
    return RunResult(files=files, written=["m.py"] * written,
                     write_errors=[FileError(code="E902", path="m.py", reason="r")] * write_errors)


@pytest.mark.parametrize(("run", "options", "expected"), [
    (run_of(), CheckOptions(), 0),
    (run_of(findings=1), CheckOptions(), 1),
    (run_of(error="E902"), CheckOptions(), 1),
    (run_of(error="E999"), CheckOptions(), 1),
    (run_of(error="E001"), CheckOptions(), 2),
    (run_of(error="E001"), CheckOptions(exit_zero=True), 2),
    (run_of(findings=1), CheckOptions(exit_zero=True), 0),
    (run_of(written=1), CheckOptions(fix=True), 0),
    (run_of(written=1), CheckOptions(fix=True, exit_non_zero_on_fix=True), 1),
    (run_of(written=1, write_errors=1), CheckOptions(fix=True), 2),
    (run_of(fixed=1), CheckOptions(diff=True), 1),
    (run_of(findings=1), CheckOptions(diff=True), 0),  # --diff: exit 1 only if there is something to fix
    (run_of(fixed=1), CheckOptions(diff=True, exit_zero=True), 0),
    (run_of(findings=2), CheckOptions(write_baseline="b.json"), 0),
    (run_of(findings=2, written=1), CheckOptions(add_noqa=True), 0),
], ids=lambda value: repr(value) if isinstance(value, int) else None)
def test_exit_code_is_a_function_of_the_outcome_and_the_options(run: RunResult, options: CheckOptions,
                                                                  expected: int) -> None:
    assert exit_code(run, options) == expected
    assert exit_code(run, options) == expected  # pure: asking again changes nothing


def test_options_refuse_contradictions() -> None:
    with pytest.raises(UsageError, match="`fix` cannot be used with `add_noqa`"):
        api.check(["."], CheckOptions(fix=True, add_noqa=True))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**devlint_env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def test_a_python_caller_gets_the_commands_gates(in_tmp: Path) -> None:
    git(in_tmp, "init", "-q", "-b", "main")
    (in_tmp / "m.py").write_text(OLD)
    git(in_tmp, "add", ".")
    git(in_tmp, "commit", "-qm", "base")
    (in_tmp / "m.py").write_text(OLD + NEW)

    gated = api.check(["."], CheckOptions(diff_base="main"))
    assert [(d.code, d.start.row) for d in gated.diagnostics] == [("DL001", 6)]
    command = CliRunner().invoke(main, ["check", "--diff-base", "main"])
    assert command.exit_code == exit_code(gated, CheckOptions(diff_base="main")) == 1
    assert command.stdout.startswith("m.py:6:30: DL001")

    recorded = api.check(["."], CheckOptions(write_baseline="base/line.json"))
    assert exit_code(recorded, CheckOptions(write_baseline="base/line.json")) == 0
    (in_tmp / "m.py").write_text("\n" + OLD + NEW)
    assert api.check(["."], CheckOptions(baseline="base/line.json")).diagnostics == []

    fixed = api.check(["m.py"], CheckOptions(fix=True, exit_non_zero_on_fix=True))
    assert fixed.written == ["m.py"] and fixed.diagnostics == []
    assert exit_code(fixed, CheckOptions(fix=True, exit_non_zero_on_fix=True)) == 1
    assert "device=inv_freq.device" in (in_tmp / "m.py").read_text()


def test_statistics_count_findings_and_file_errors(in_tmp: Path) -> None:
    (in_tmp / "m.py").write_text(OLD + NEW.replace("(x: torch.Tensor)", "(x: 'torch.Tensor | None')"))
    (in_tmp / "broken.py").write_text("x = torch.zeros(1, device='cuda')\ndef (:\n")
    run = api.check(["."])
    rows = api.statistics(run)
    assert [(r.code, r.name, r.count, r.fixable_count) for r in rows] == [
        ("DL001", "platform-device-with-sibling-tensor", 2, 1), ("E999", "syntax-error", 1, 0)]
    assert [r.fixable_count for r in api.statistics(run, FixMode.UNSAFE)] == [2, 0]
    assert render_statistics(rows, "concise") == ("2\tDL001\t[-] platform-device-with-sibling-tensor\n"
                                                  "1\tE999 \t[ ] syntax-error\n")
