"""Fixes leave no debris (issue 12, item 4): the import or local a fix stops using goes with the fix, as
ruff's F401/F841 fixes would remove it, or the fix is not offered."""

from __future__ import annotations

import textwrap

import pytest

from devlint.api import lint_source
from devlint.types import FixMode, Settings

from conftest import FIXTURES, findings, fixed

DEEPSPEED = ("deepspeed.accelerator.get_accelerator().device_name()",)


def fixed_with(source: str, platform_devices: tuple[str, ...] = (), path: str = "model.py") -> str | None:
    result = lint_source(textwrap.dedent(source), path, Settings(platform_devices=platform_devices), FixMode.UNSAFE)
    assert result.error is None, result.error
    return result.fixed_source


def test_the_import_a_fix_leaves_unused_goes_with_it() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    '''
    [d] = findings(source)
    # One fix: the device, and line 3 (the import) removed with its line break.
    assert [(e.content, e.start.row, e.start.column, e.end.row, e.end.column) for e in d.fix.edits] == [
        ("inv_freq.device", 5, 32, 5, 60), ("", 3, 1, 4, 1)]
    assert d.fix.message == "Use `device=inv_freq.device`, and remove the now unused `current_platform`"
    assert fixed(source) == textwrap.dedent('''
    import torch
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=inv_freq.device)
        return torch.outer(t, inv_freq)
    ''')


def test_an_import_still_used_elsewhere_stays() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    def on_tpu() -> bool:
        return current_platform.is_tpu()
    '''
    [d] = findings(source)
    assert len(d.fix.edits) == 1
    assert "from vllm.platforms import current_platform\n" in fixed(source)


def test_one_name_of_a_from_import_and_the_pure_local_before_it() -> None:
    source = '''
    import torch
    from deepspeed.accelerator import get_accelerator, set_accelerator
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        device = get_accelerator().device_name()
        t = torch.arange(n, device=device)
        return torch.outer(t, inv_freq)
    '''
    assert fixed_with(source, DEEPSPEED) == textwrap.dedent('''
    import torch
    from deepspeed.accelerator import set_accelerator
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=inv_freq.device)
        return torch.outer(t, inv_freq)
    ''')


def test_a_parenthesised_import_keeps_the_other_names() -> None:
    source = '''
    import torch
    from vllm.platforms import (
        current_platform,
        CpuArchEnum,
    )
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq) if CpuArchEnum else t
    '''
    assert "from vllm.platforms import CpuArchEnum\ndef positions" in fixed(source)


def test_a_local_with_side_effects_withdraws_the_fix() -> None:
    source = '''
    import torch
    import torch.distributed as dist
    def noise(probs: torch.Tensor) -> torch.Tensor:
        dev = torch.device(f"cuda:{dist.get_rank()}")
        return probs.div(torch.empty_like(probs, device=dev).exponential_())
    '''
    [d] = findings(source)
    assert d.code == "DL005" and d.fix is None
    assert d.message.endswith("(no fix: it would leave `dev` unused, and its value may have side effects)")
    assert fixed_with(source) is None


def test_a_re_export_in_a_package_init_withdraws_the_fix() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    '''
    result = lint_source(textwrap.dedent(source), "pkg/__init__.py", Settings(), FixMode.UNSAFE)
    [d] = result.diagnostics
    assert d.fix is None and "an `__init__.py` may re-export it" in d.message
    assert result.fixed_source is None


def test_names_several_fixes_leave_unused_together_are_removed_too() -> None:
    source = '''
    import torch
    from vllm.platforms import current_platform
    def a(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        return torch.outer(torch.arange(n, device=current_platform.device_type), inv_freq)
    def b(x: torch.Tensor) -> torch.Tensor:
        return x + torch.zeros_like(x, device=current_platform.device_type)
    '''
    assert fixed(source) == textwrap.dedent('''
    import torch
    def a(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        return torch.outer(torch.arange(n, device=inv_freq.device), inv_freq)
    def b(x: torch.Tensor) -> torch.Tensor:
        return x + torch.zeros_like(x)
    ''')


def test_a_guarded_import_with_a_fallback_stays_and_the_fix_is_offered() -> None:
    source = '''
    import torch
    try:
        from vllm.platforms import current_platform
    except ImportError:
        current_platform = None
    def a(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        return torch.outer(torch.arange(n, device=current_platform.device_type), inv_freq)
    '''
    # The `except` branch binds the name too: not an unused import (ruff's F401 agrees), so it is left alone.
    [d] = findings(source)
    assert d.fix is not None and len(d.fix.edits) == 1
    assert fixed(source) == textwrap.dedent(source).replace("current_platform.device_type", "inv_freq.device")


def test_a_local_named_like_the_attribute_the_fix_writes_goes_with_the_fix() -> None:
    # `device=device` becomes `device=inv_freq.device`: the word `device` is written back, but as an
    # attribute, not a read of the local. The one fix (what an editor's code action applies) removes it too.
    source = '''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        device = current_platform.device_type
        t = torch.arange(n, device=device)
        return torch.outer(t, inv_freq)
    def on_tpu() -> bool:
        return current_platform.is_tpu()
    '''
    [d] = findings(source)
    assert d.fix.message == "Use `device=inv_freq.device`, and remove the now unused `device`"
    assert [(e.content, e.start.row, e.start.column, e.end.row, e.end.column) for e in d.fix.edits] == [
        ("inv_freq.device", 6, 32, 6, 38), ("", 5, 1, 6, 1)]


def test_lines_are_counted_as_python_counts_them() -> None:
    # A form feed is no line break for CPython (nor for devlint's positions): the import on line 2 goes.
    source = ("import torch\nfrom vllm.platforms import current_platform\n\x0c\n"
              "def f(inv_freq: torch.Tensor, n: int):\n    # a\x0cb\n"
              "    t = torch.arange(n, device=current_platform.device_type)\n    return torch.outer(t, inv_freq)\n")
    assert fixed_with(source) == source.replace("from vllm.platforms import current_platform\n", "").replace(
        "current_platform.device_type", "inv_freq.device")


# The statements a fix edits are compared alone when that settles it (`_leaves_no_debris`); the whole file
# is compared whenever a name may lose its last read. Both must give the same fix, and the short cut must
# be taken where nothing goes (else it saves nothing).
SHORT_CUT_CASES = {
    "still read in another function": ('''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    def on_tpu() -> bool:
        return current_platform.is_tpu()
    ''', True, 1),
    "read only in a string of another statement": ('''
    import torch
    from vllm.platforms import current_platform
    __all__ = ["current_platform"]
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    ''', True, 1),
    "read again in the edited function": ('''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        assert current_platform.is_cuda()
        return torch.outer(t, inv_freq)
    ''', True, 1),
    "the last read in the module goes": ('''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        t = torch.arange(n, device=current_platform.device_type)
        return torch.outer(t, inv_freq)
    ''', False, 2),
    "a local of the edited function goes": ('''
    import torch
    from vllm.platforms import current_platform
    def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
        dev = current_platform.device_type
        t = torch.arange(n, device=dev)
        return torch.outer(t, inv_freq)
    def on_tpu() -> bool:
        return current_platform.is_tpu()
    ''', False, 2),
    "still read in another method of the class": ('''
    import torch
    from torch import nn
    from vllm.platforms import current_platform
    class Rope(nn.Module):
        def positions(self, inv_freq: torch.Tensor, n: int) -> torch.Tensor:
            t = torch.arange(n, device=current_platform.device_type)
            return torch.outer(t, inv_freq)
        def on_tpu(self) -> bool:
            return current_platform.is_tpu()
    ''', True, 1),
    "still read in a decorator of the class": ('''
    import torch
    from vllm.platforms import current_platform
    @current_platform.register
    class Rope:
        def positions(self, inv_freq: torch.Tensor, n: int) -> torch.Tensor:
            """Positions
    at the left margin."""
            t = torch.arange(n, device=current_platform.device_type)
            return torch.outer(t, inv_freq)
    ''', True, 1),
    "the last read in the module goes from a method of a nested class": ('''
    import torch
    from vllm.platforms import current_platform
    class Outer:
        class Rope:
            def positions(self, inv_freq: torch.Tensor, n: int) -> torch.Tensor:
                t = torch.arange(n, device=current_platform.device_type)
                return torch.outer(t, inv_freq)
    ''', False, 2),
    "a local with side effects withdraws the fix": ('''
    import torch
    import torch.distributed as dist
    def noise(probs: torch.Tensor) -> torch.Tensor:
        dev = torch.device(f"cuda:{dist.get_rank()}")
        return probs.div(torch.empty_like(probs, device=dev).exponential_())
    ''', False, 0),
}


@pytest.mark.parametrize("name", sorted(SHORT_CUT_CASES))
def test_the_edited_statements_alone_decide_as_the_whole_file_does(name: str, monkeypatch) -> None:
    from devlint.fixes import cleanup

    source, short_cut, edits = SHORT_CUT_CASES[name]
    verdicts: list[bool] = []
    leaves_no_debris = cleanup._leaves_no_debris

    def recorded(*args) -> bool:
        verdicts.append(leaves_no_debris(*args))
        return verdicts[-1]

    monkeypatch.setattr(cleanup, "_leaves_no_debris", recorded)
    with_short_cut = findings(source)
    monkeypatch.setattr(cleanup, "_leaves_no_debris", lambda *args: False)
    assert findings(source) == with_short_cut
    assert verdicts and all(verdict is short_cut for verdict in verdicts)
    [d] = with_short_cut
    assert (len(d.fix.edits) if d.fix else 0) == edits


def test_a_method_is_parsed_alone_not_its_whole_class() -> None:
    import ast

    from devlint.fixes.cleanup import _edited
    from devlint.types import Edit, Location

    source = textwrap.dedent('''
    import torch
    class Engine:
        def a(self, n: int) -> torch.Tensor:
            return torch.arange(n, device="cuda")
        def b(self) -> None: pass; pass
    ''')
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    engine = tree.body[1]
    assert isinstance(engine, ast.ClassDef)
    in_a = _edited(tree, (Edit("x.device", Location(5, 39), Location(5, 45)),), lines)
    assert in_a is not None and in_a.statements == [engine.body[0]] and in_a.classes == [engine]
    assert (in_a.first, in_a.last) == (4, 5) and in_a.outside == [tree.body[0], engine.body[1]]
    # An edit of the class line itself takes the whole class.
    whole = _edited(tree, (Edit("Engine2", Location(3, 7), Location(3, 13)),), lines)
    assert whole is not None and whole.statements == [engine] and whole.classes == []


SEVERAL_FIXES = '''
import torch
from vllm.platforms import current_platform


def a(x: torch.Tensor) -> torch.Tensor:
    return x + torch.zeros(3, device=current_platform.device_type)


def b(y: torch.Tensor) -> torch.Tensor:
    dev = current_platform.device_type
    return y + torch.ones(3, device=dev)


def c() -> bool:
    return current_platform.is_cuda()
'''


@pytest.mark.parametrize("source", [
    SEVERAL_FIXES,  # `current_platform` is still read by c(): nothing more goes, decided from a() and b() alone
    SEVERAL_FIXES.split("\n\n\ndef c")[0] + "\n",  # no c(): the two fixes together leave the import unused
    *(path.read_text() for path in sorted((FIXTURES / "models").glob("*.py")) if not path.name.endswith(".fixed.py")),
], ids=lambda source: source.strip().splitlines()[0][:40] if source.startswith("\n") else None)
def test_the_changed_statements_alone_decide_the_final_clean_up_as_the_whole_file_does(source: str,
                                                                                   monkeypatch) -> None:
    # After every fix, the final clean-up compares the fixed file with the original: from the rows the fixes
    # changed when that settles it, else whole. Both must leave the same text.
    from devlint.fixes import cleanup

    short = fixed(source)
    monkeypatch.setattr(cleanup, "_leaves_no_debris", lambda *args: False)
    assert fixed(source) == short


def test_two_fixes_that_together_leave_an_import_unused_remove_it() -> None:
    assert fixed(SEVERAL_FIXES.split("\n\n\ndef c")[0] + "\n") == (
        "\nimport torch\n\n\ndef a(x: torch.Tensor) -> torch.Tensor:\n    return x + torch.zeros(3, device=x.device)\n"
        "\n\ndef b(y: torch.Tensor) -> torch.Tensor:\n    return y + torch.ones(3, device=y.device)\n")
