"""What a file's findings read from the other modules of its package (`devlint.analysis.project`) is read
again when those modules change: in one process (an editor's server, a test run), in a one-file run, and
in the result cache, which keeps a result only while the modules it was computed from are unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devlint.analysis.project import take_modules_read
from devlint.api import lint_paths
from devlint.cache import ResultCache
from devlint.discovery import file_stamp
from devlint.types import FileResult, Settings

MODEL = '''\
import torch
from .utils import DEVICE


def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
    t = torch.arange(n, device=DEVICE)
    return torch.outer(t, inv_freq)
'''
FINDING = ("`torch.arange` puts its result on the platform device `DEVICE` (`pkg.utils.DEVICE` is 'cuda'), but it "
           "is combined with `inv_freq` in `torch.outer` (line 7); `inv_freq` is a tensor: annotated `torch.Tensor` "
           "(line 5); use `device=inv_freq.device`")


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    """`pkg/model.py` builds a tensor on `DEVICE`, imported from `pkg/utils.py`, which says "cpu" (no finding)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "utils.py").write_text('DEVICE = "cpu"\n')
    (tmp_path / "pkg" / "model.py").write_text(MODEL)
    take_modules_read()  # what earlier tests read is theirs
    return tmp_path / "pkg"


def edit(path: Path, text: str) -> None:
    """Rewrite a file so that its stamp changes even within the file system's time resolution."""
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


def messages(*paths: Path, cache: ResultCache | None = None) -> list[tuple[str, int, str]]:
    run = lint_paths([str(p) for p in paths], cache=cache, jobs=1)
    return [(d.code, d.start.row, d.message) for d in run.diagnostics]


def test_a_one_file_run_follows_an_edit_of_the_module_it_imports(package: Path) -> None:
    assert messages(package / "model.py") == []
    edit(package / "utils.py", 'DEVICE = "cuda"\n')
    assert messages(package / "model.py") == [("DL001", 6, FINDING)]
    edit(package / "utils.py", 'DEVICE = "cpu"  # the host\n')
    assert messages(package / "model.py") == []


def test_the_modules_read_are_recorded_with_their_stamps_before_reading(package: Path) -> None:
    # `make_freq` comes from a module that does not exist (yet): whether it returns a tensor is looked up.
    (package / "utils.py").write_text('DEVICE = "cuda"\n')
    (package / "model.py").write_text(
        "import torch\nfrom .utils import DEVICE\nfrom .layers import make_freq\n\n\n"
        "def positions(inv_freq, n: int) -> torch.Tensor:\n"
        "    t = torch.arange(n, device=DEVICE)\n"
        "    return torch.outer(t, make_freq(inv_freq))\n")
    [result] = lint_paths([str(package / "model.py"), str(package / "utils.py")], jobs=1).files[:1]
    utils = str(package / "utils.py")
    missing = str(package / "layers")
    assert result.dependencies == {utils: file_stamp(utils), missing + ".py": None,
                                   os.path.join(missing, "__init__.py"): None}
    assert take_modules_read() == {}  # taken by the file that read them: the next file starts afresh


def test_a_cached_result_stands_only_while_the_modules_it_read_are_unchanged(package: Path, tmp_path: Path) -> None:
    model, utils, layers = package / "model.py", package / "utils.py", package / "layers.py"
    folder = str(tmp_path / "cache")
    cache = ResultCache(folder)
    settings = Settings()
    result = FileResult(path=str(model), source_digest="0" * 64,
                        dependencies={str(utils): file_stamp(str(utils)), str(layers): None})
    cache.store(str(model), settings, result, cache.stamp(str(model)))
    cache.save()
    assert ResultCache(folder).lookup(str(model), "model.py", settings) == FileResult(path="model.py")
    layers.write_text("cached = None\n")  # a module that was absent appears
    assert ResultCache(folder).lookup(str(model), "model.py", settings) is None
    layers.unlink()
    assert ResultCache(folder).lookup(str(model), "model.py", settings) == FileResult(path="model.py")
    edit(utils, 'DEVICE = "cuda"\n')
    assert ResultCache(folder).lookup(str(model), "model.py", settings) is None


def test_a_warm_run_follows_an_edit_of_an_imported_module(package: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    assert messages(package, cache=ResultCache(cache)) == []
    assert messages(package, cache=ResultCache(cache)) == []  # warm
    edit(package / "utils.py", 'DEVICE = "cuda"\n')
    assert messages(package, cache=ResultCache(cache)) == [("DL001", 6, FINDING)]
    assert messages(package, cache=ResultCache(cache)) == [("DL001", 6, FINDING)]  # warm again
