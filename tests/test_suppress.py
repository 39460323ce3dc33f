"""Suppression comments, unused-suppression reports (DL100) and --add-noqa."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from devlint.api import lint_source
from devlint.cli import main
from devlint.types import FixMode, Settings

from conftest import devlint_env

MULTILINE = '''
import torch
from vllm.platforms import current_platform
def cache(inv_freq: torch.Tensor, n: int):
    t = torch.arange({a}
        n,
        device=current_platform.device_type,{b}
        dtype=torch.float32,
    ){c}
    return torch.outer(t, inv_freq)
'''


def codes(source: str) -> list[str]:
    return [d.code for d in lint_source(textwrap.dedent(source), "m.py", Settings()).diagnostics]


def test_comment_on_any_line_of_a_multiline_call() -> None:
    assert codes(MULTILINE.format(a="", b="", c="")) == ["DL001"]
    for where in ("a", "b", "c"):
        parts = {"a": "", "b": "", "c": "", where: "  # noqa: DL001"}
        assert codes(MULTILINE.format(**parts)) == [], where


def test_forms_of_suppression() -> None:
    line = "    return x + torch.ones(2, device='cuda'){comment}\n"
    head = "import torch\ndef f(x: torch.Tensor):\n"
    assert codes(head + line.format(comment="")) == ["DL001"]
    assert codes(head + line.format(comment="  # noqa")) == []
    assert codes(head + line.format(comment="  # NOQA:DL001")) == []
    assert codes(head + line.format(comment="  # devlint: ignore[DL001,DL002]")) == ["DL100"]  # DL002 unused
    assert codes(head + line.format(comment="  # devlint: ignore[DL001]")) == []
    assert codes(head + line.format(comment="  # noqa: DL00")) == []  # a prefix covers its codes
    assert codes(head + line.format(comment="  # noqa: DL002")) == ["DL001", "DL100"]
    assert codes("# devlint: file-ignore[DL001]\n" + head + line.format(comment="")) == []


def test_a_directive_quoted_in_a_comment_is_prose() -> None:
    assert codes("x = 1  # the form (`# noqa: DL001`) is explained here\n") == []


def test_a_noqa_inside_a_string_is_not_a_comment() -> None:
    source = "import torch\ndef f(x: torch.Tensor):\n    s = '# noqa: DL001'; return x + torch.ones(2, device='cuda')\n"
    assert codes(source) == ["DL001"]


def test_unused_suppression_fixes() -> None:
    result = lint_source("x = 1  # noqa: DL001  # type: ignore\n", "m.py", Settings(), FixMode.SAFE)
    assert result.fixed_source == "x = 1  # type: ignore\n"
    # Text after the directive stays a comment (found by fuzzing: it once became code).
    result = lint_source("def f():\n    # noqa: DL001  x = 2\n    return 1\n", "m.py", Settings(), FixMode.SAFE)
    assert result.fixed_source == "def f():\n    # x = 2\n    return 1\n"
    result = lint_source("x = 1  # why  # noqa: DL001\n", "m.py", Settings(), FixMode.SAFE)
    assert result.fixed_source == "x = 1  # why\n"
    result = lint_source("x = 1  # noqa: DL001, E501\n", "m.py", Settings(), FixMode.SAFE)
    assert result.fixed_source == "x = 1  # noqa: E501\n"
    # A disabled rule's suppression is left alone (it may be enabled elsewhere).
    assert lint_source("x = 1  # noqa: DL003\n", "m.py", Settings(ignore=frozenset({"DL003"}))).diagnostics == []


def test_add_noqa_then_clean(in_tmp: Path) -> None:
    source = textwrap.dedent(MULTILINE.format(a="", b="", c="")) + \
        "def g(device='cuda'):  # existing comment\n    return torch.zeros(1, device=device)\n"
    (in_tmp / "m.py").write_text(source)
    result = CliRunner().invoke(main, ["check", "--add-noqa"])
    assert result.exit_code == 0, result.output
    text = (in_tmp / "m.py").read_text()
    assert "        device=current_platform.device_type,  # noqa: DL001\n" in text
    assert "def g(device='cuda'):  # existing comment  # noqa: DL004\n" in text
    assert CliRunner().invoke(main, ["check"]).exit_code == 0
    # Adding again changes nothing.
    CliRunner().invoke(main, ["check", "--add-noqa"])
    assert (in_tmp / "m.py").read_text() == text


def test_suppressions_in_a_real_subprocess(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1  # noqa: DL001\n")
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--fix"], cwd=tmp_path, capture_output=True,
                          text=True, env=devlint_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "m.py").read_text() == "x = 1\n"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["noqa", "NOQA", "NoQa", ":", " ", "\n", "DL1", "dl2", "E501", "devlint:",
                                 "DEVLINT:", "x", "é", "#", ",", "ı"]), max_size=14).map("".join))
def test_the_directive_hint_misses_nothing_the_plain_search_finds(text: str) -> None:
    # The hint reads lowercased text and matches only after each `noqa`; the plain case-insensitive search
    # of the whole text is what it must never miss.
    import re

    from devlint.suppress import may_hold_devlint_directive

    plain = re.compile(r"noqa\s*:[^\n]*\bDL\d|devlint:", re.IGNORECASE)
    if plain.search(text):
        assert may_hold_devlint_directive(text)
