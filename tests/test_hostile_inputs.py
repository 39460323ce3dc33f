"""Every kind of file a linter meets in CI: one clear line for what cannot be checked, and the run goes on.

Each case puts a platform-device token in the file where it matters, so devlint really tries to parse it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from devlint.api import lint_paths
from devlint.cli import main

from conftest import devlint_env

BUGGY = "import torch\ndef f(x: torch.Tensor):\n    return x + torch.ones(2, device='cuda')\n"


def outcome(tmp_path: Path, name: str, data: bytes) -> tuple[str | None, str, list[str]]:
    path = tmp_path / name
    path.write_bytes(data)
    [result] = lint_paths([str(path)], jobs=1).files
    error = result.error
    return (error.code if error else None), (error.reason if error else ""), [d.code for d in result.diagnostics]


# A factory on the platform device: what devlint must parse. A file with no place a device can go is never
# parsed, and one LibCST would not parse is not judged for nesting only LibCST cannot follow (tests below).
CANDIDATE = b"import torch\nx = torch.zeros(1, device='cuda')\n"

CASES = {
    "syntax_error.py": (CANDIDATE + b"def f(:\n", "E999", "syntax error: invalid syntax"),
    "python2.py": (CANDIDATE + b"print 'hello'\n", "E999", "Missing parentheses in call to 'print'"),
    "not_utf8.py": (b"x = 'cuda'\ny = '\xff\xfe'\n", "E902", "not valid utf-8 (byte 0xff at line 2)"),
    "binary.py": (b"\x00\x01\x02cuda", "E902", "binary file (contains NUL bytes)"),
    "bad_coding.py": (b"# -*- coding: klingon -*-\nx = 'cuda'\n", "E902", "klingon"),
    "deep_brackets.py": (CANDIDATE + b"y = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n", "E999", "too many nested parentheses"),
    "deep_chain.py": (CANDIDATE + b"y = " + b"+".join([b"a"] * 20000) + b"\n", "E999", "too deeply nested"),
    "deep_lambdas.py": (CANDIDATE + b"y = " + b"lambda: " * 5000 + b"1\n", "E999", "too deeply nested"),
    "deep_in_method.py": (CANDIDATE + b"class A:\n    def f(self):\n        try:\n            pass\n        except E:\n"
                          b"            y = " + b"-" * 600 + b"1\n", "E999", "levels deep"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unreadable_or_unparsable(tmp_path: Path, name: str) -> None:
    data, code, reason = CASES[name]
    found_code, found_reason, diagnostics = outcome(tmp_path, name, data)
    assert (found_code, diagnostics) == (code, [])
    assert reason in found_reason


@pytest.mark.parametrize(("name", "data"), [
    ("latin1_declared.py", "# -*- coding: latin-1 -*-\n# caf\xe9\n".encode("latin-1") + BUGGY.encode()),
    ("bom.py", b"\xef\xbb\xbf" + BUGGY.encode()),
    ("crlf.py", BUGGY.replace("\n", "\r\n").encode()),
    ("tabs.py", BUGGY.replace("    ", "\t").encode()),
    ("py312.py", (b"type Vector = list[float]\nclass Box[T]:\n    pass\n" + BUGGY.encode() +
                  b"def g(v):\n    match v:\n        case [x]:\n            return x\n")),
])
def test_unusual_but_valid_files_are_checked(tmp_path: Path, name: str, data: bytes) -> None:
    assert outcome(tmp_path, name, data) == (None, "", ["DL001"])


def test_empty_and_large_files(tmp_path: Path) -> None:
    assert outcome(tmp_path, "empty.py", b"") == (None, "", [])
    body = "".join(f"def f{i}(x: torch.Tensor):\n    return x * {i}\n" for i in range(60000))
    large = ("import torch\n" + body + BUGGY).encode()
    assert len(large) > 2_000_000
    assert outcome(tmp_path, "large.py", large) == (None, "", ["DL001"])
    huge = tmp_path / "huge.py"
    with open(huge, "wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    code, reason, _ = outcome(tmp_path, "huge.py", huge.read_bytes()[:0] + b"x" * (11 * 1024 * 1024))
    assert code == "E902" and "file too large" in reason


def test_paths_that_are_not_files(tmp_path: Path) -> None:
    (tmp_path / "pkg.py").mkdir()  # a folder named like a module: walked, not read
    (tmp_path / "pkg.py" / "inner.py").write_text(BUGGY)
    os.symlink(tmp_path / "missing.py", tmp_path / "dangling.py")
    os.symlink(tmp_path / "loop_b.py", tmp_path / "loop_a.py")
    os.symlink(tmp_path / "loop_a.py", tmp_path / "loop_b.py")
    run = lint_paths([str(tmp_path)], jobs=1)
    errors = {os.path.basename(e.path): (e.code, e.reason) for e in run.errors}
    assert errors["dangling.py"] == ("E902", "no such file (a dangling symlink?)")
    assert errors["loop_a.py"][0] == "E902" and "symbolic links" in errors["loop_a.py"][1]
    assert [os.path.basename(d.path) for d in run.diagnostics] == ["inner.py"]


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.py"
    path.write_text(BUGGY)
    real_open = open

    def deny(file, *args, **kwargs):  # root ignores permission bits, so simulate the denial
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    [result] = lint_paths([str(path)], jobs=1).files
    assert (result.error.code, result.error.reason) == ("E902", "permission denied")


def test_cli_lines_for_each_problem_and_the_run_goes_on(in_tmp: Path) -> None:
    for name, (data, _, _) in CASES.items():
        (in_tmp / name).write_bytes(data)
    (in_tmp / "z_real.py").write_text(BUGGY)
    result = CliRunner().invoke(main, ["check", "--no-cache"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len([line for line in lines if " E902 " in line or " E999 " in line]) == len(CASES)
    assert any(line.startswith("z_real.py:3:30: DL001") for line in lines)
    assert "Traceback" not in result.output


def test_internal_error_is_reported_and_other_files_are_checked(in_tmp: Path, monkeypatch) -> None:
    from devlint.rules.dl004_platform_default import PlatformDefault

    def broken(self, analysis, context):
        raise ValueError("boom")

    monkeypatch.setattr(PlatformDefault, "check", broken)
    (in_tmp / "a.py").write_text(BUGGY)
    result = CliRunner().invoke(main, ["check", "--no-cache", "-j", "1"])
    assert result.exit_code == 2
    assert "devlint: error: a.py: internal error: ValueError: boom" in result.stderr
    assert "please report this with the file" in result.stderr
    assert "Traceback" not in result.output


def test_checking_never_runs_the_checked_code(tmp_path: Path) -> None:
    marker = tmp_path / "side_effect.txt"
    module = tmp_path / "evil.py"
    module.write_text(f"open({str(marker)!r}, 'w').write('ran')\nimport torch\n"
                      "x = torch.zeros(2, device='cuda') + torch.ones(2)\n"
                      "import torch\ndef f(device='cuda'):\n    return torch.zeros(1, device=device)\n")
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--no-cache", str(module)], capture_output=True,
                          text=True, env=devlint_env(), timeout=120)
    assert done.returncode == 1 and "DL004" in done.stdout
    assert not marker.exists()


def test_str_and_bytes_concatenation_is_a_syntax_error_not_an_internal_one(tmp_path: Path) -> None:
    # LibCST parses `""b"x"` and then refuses the node; CPython refuses the file. Found by the fuzzer.
    path = tmp_path / "mixed.py"
    path.write_text('import torch\nDOC = ""b"cuda"\ndef f(a: torch.Tensor):\n    return a + torch.ones(1, device="cuda")\n')
    [error] = lint_paths([str(path)]).errors
    assert error.code == "E999" and error.reason == "syntax error: cannot mix bytes and nonbytes literals"


def test_nesting_only_libcst_cannot_follow_is_judged_only_where_libcst_parses(tmp_path: Path) -> None:
    # CPython reads it; no call of it can take a platform device, so LibCST never sees it: no error.
    data = b"x = 'cuda'\nclass A:\n    def f(self):\n        y = " + b"-" * 600 + b"1\n"
    assert outcome(tmp_path, "deep_without_candidate.py", data) == (None, "", [])


def test_a_syntax_error_where_no_device_can_go_is_not_reported(tmp_path: Path) -> None:
    # A token, but no `device=`, `.to(` or move: nothing to find, so nothing is parsed (devlint is no syntax checker).
    assert outcome(tmp_path, "no_slot.py", b"import torch\nok = torch.cuda.is_available()\ndef f(:\n") == (None, "", [])
