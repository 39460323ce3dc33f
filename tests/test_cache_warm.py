"""The warm run's shortcuts answer exactly as the slow way would: the package and configuration files read
from discovery's listings, the symlink-only loop check, and the result cache's index (named by a checksum
of its key, entries as lists) still notice every change that makes a cached result wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devlint import cache as cache_module
from devlint.api import lint_paths
from devlint.cache import ResultCache
from devlint.config import ConfigResolver, Overrides
from devlint.discovery import discover, package_of
from devlint.types import FileResult, Settings

from conftest import devlint_env

ROPE = '''\
import torch
from .utils import DEVICE


def positions(inv_freq: torch.Tensor, n: int) -> torch.Tensor:
    t = torch.arange(n, device=DEVICE)
    return torch.outer(t, inv_freq)
'''
DEFAULT_DEVICE = '''\
import torch


def buffer(n: int, device: str = "cuda") -> torch.Tensor:
    return torch.zeros(n, device=device)
'''


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def edit(path: Path, text: str) -> None:
    """Rewrite a file so that its stamp changes even within the file system's time resolution."""
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


def found_codes(root: Path, cache_dir: Path) -> list[tuple[str, str, int]]:
    run = lint_paths([str(root)], jobs=1, cache=ResultCache(str(cache_dir)))
    return [(os.path.relpath(d.path, root), d.code, d.start.row) for d in run.diagnostics]


def test_the_walk_knows_each_folders_package_as_package_of_does(tmp_path: Path) -> None:
    write(tmp_path / "src" / "vllm" / "__init__.py")
    write(tmp_path / "src" / "vllm" / "layers" / "__init__.py")
    write(tmp_path / "src" / "vllm" / "layers" / "rope.py")
    write(tmp_path / "src" / "vllm" / "scripts" / "run.py")  # no __init__.py: not a package
    write(tmp_path / "src" / "vllm" / "scripts" / "inner" / "__init__.py")  # a package of its own
    (tmp_path / "src" / "vllm" / "odd" / "__init__.py").mkdir(parents=True)  # a folder named so: not a package
    listed: dict[str, frozenset[str]] = {}
    found = discover([str(tmp_path / "src" / "vllm" / "layers"), str(tmp_path / "src")], listed=listed)
    assert found.packages == {folder: package_of(folder) for folder in found.packages}
    assert found.packages[str(tmp_path / "src" / "vllm" / "layers")] == "vllm.layers"
    assert found.packages[str(tmp_path / "src" / "vllm" / "scripts" / "inner")] == "inner"
    assert found.packages[str(tmp_path / "src" / "vllm" / "odd")] is None
    assert listed[str(tmp_path / "src" / "vllm")] == {"__init__.py"}
    assert listed[str(tmp_path / "src" / "vllm" / "odd")] == frozenset()


def test_configuration_read_from_the_listing_is_the_one_the_file_system_gives(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.devlint]\nignore = ["DL004"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'pkg'\n")  # no [tool.devlint]: look above
    write(tmp_path / "pkg" / "sub" / "pyproject.toml", '[tool.devlint]\nselect = ["DL001"]\n')
    write(tmp_path / "pkg" / "sub" / "m.py")
    (tmp_path / "pkg" / "deeper" / "pyproject.toml").mkdir(parents=True)  # a folder: no configuration
    write(tmp_path / "pkg" / "deeper" / "m.py")
    listed: dict[str, frozenset[str]] = {}
    discover([str(tmp_path)], listed=listed)
    from_listing, from_disk = ConfigResolver(None, listed), ConfigResolver(None)
    for path in (tmp_path / "pkg" / "sub" / "m.py", tmp_path / "pkg" / "deeper" / "m.py", tmp_path / "pkg" / "x.py"):
        assert from_listing.config_for(str(path)).path == from_disk.config_for(str(path)).path
    assert from_listing.config_for(str(tmp_path / "pkg" / "deeper" / "m.py")).path == str(tmp_path / "pyproject.toml")


def test_a_symlink_into_the_walk_is_cut_but_a_symlinked_sibling_is_walked(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "a.py")
    write(tmp_path / "shared" / "b.py")
    os.symlink(tmp_path, tmp_path / "pkg" / "up")  # to an ancestor of the folder it sits in: a loop
    os.symlink(tmp_path / "shared", tmp_path / "pkg" / "shared")  # to a folder outside the chain: walked
    found = sorted(os.path.relpath(p, tmp_path) for p in discover([str(tmp_path)]).files)
    assert found == ["pkg/a.py", "pkg/shared/b.py", "shared/b.py"]


def test_a_package_made_or_unmade_between_runs_is_checked_again(tmp_path: Path) -> None:
    """`from .utils import DEVICE` resolves only inside a package: the walk's package is part of the stamp.
    (Separate runs, as a user's: within one process `package_of` remembers its answers.)"""
    write(tmp_path / "src" / "pkg" / "utils.py", 'DEVICE = "cuda"\n')
    write(tmp_path / "src" / "pkg" / "model.py", ROPE)

    def codes() -> list[tuple[str, int]]:
        done = subprocess.run([sys.executable, "-m", "devlint", "check", "--output-format", "json", "--cache-dir",
                               str(tmp_path / "cache"), "src"], cwd=tmp_path, capture_output=True, text=True,
                              env=devlint_env(), timeout=120)
        return [(finding["code"], finding["location"]["row"]) for finding in json.loads(done.stdout)]

    assert codes() == []
    init = write(tmp_path / "src" / "pkg" / "__init__.py")
    assert codes() == [("DL001", 6)]
    assert codes() == [("DL001", 6)]  # warm
    init.unlink()
    assert codes() == []


def test_an_edit_between_runs_is_seen_and_a_touch_is_answered_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    model = write(tmp_path / "src" / "model.py", DEFAULT_DEVICE)
    cache_dir = tmp_path / "cache"
    assert found_codes(tmp_path / "src", cache_dir) == [("model.py", "DL004", 4)]
    edit(model, DEFAULT_DEVICE.replace('"cuda"', "None"))
    assert found_codes(tmp_path / "src", cache_dir) == []
    edit(model, DEFAULT_DEVICE)  # the same size as the first text, a new time
    assert found_codes(tmp_path / "src", cache_dir) == [("model.py", "DL004", 4)]
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 1_000_000_000))

    def never(*args, **kwargs):
        raise AssertionError("a touched file with the same bytes is not checked again")

    monkeypatch.setattr("devlint.engine.check_files", never)
    assert found_codes(tmp_path / "src", cache_dir) == [("model.py", "DL004", 4)]


def test_two_keys_sharing_an_index_name_never_read_each_others_results(tmp_path: Path, monkeypatch) -> None:
    model = write(tmp_path / "model.py", DEFAULT_DEVICE)
    real_key = cache_module._index_key
    monkeypatch.setattr(cache_module, "_index_key", lambda settings: ("00000000", real_key(settings)[1]))
    cache_dir = tmp_path / "cache"
    every_rule, without_dl004 = Overrides(), Overrides(ignore=frozenset({"DL004"}))
    assert len(lint_paths([str(model)], cache=ResultCache(str(cache_dir)), overrides=every_rule).diagnostics) == 1
    assert lint_paths([str(model)], cache=ResultCache(str(cache_dir)), overrides=without_dl004).diagnostics == []
    assert len(lint_paths([str(model)], cache=ResultCache(str(cache_dir)), overrides=every_rule).diagnostics) == 1
    assert {p.name.partition("-")[0] for p in cache_dir.rglob("*.json")} == {"00000000"}


@pytest.mark.parametrize("entry", [{"stamp": [1, 2, 3, None], "digest": "x", "diagnostics": []}, [1, 2], "x", None,
                                   [0, 0, 0, None, "0" * 64, [{"code": "DL001"}]]])
def test_a_damaged_entry_is_a_miss(tmp_path: Path, entry: object) -> None:
    model = write(tmp_path / "model.py", DEFAULT_DEVICE)
    settings = Settings()
    name, key = cache_module._index_key(settings)
    if isinstance(entry, list) and len(entry) > 4:  # a well-formed stamp, a finding missing its fields
        info = model.stat()
        entry[:3] = [info.st_mtime_ns, info.st_size, info.st_ino]
    index = tmp_path / "cache" / cache_module.__version__ / f"{name}-{cache_module.shard_of(str(tmp_path)):02d}.json"
    index.parent.mkdir(parents=True)
    index.write_text(json.dumps({"key": key, "files": {str(model): entry}}))
    assert ResultCache(str(tmp_path / "cache")).lookup(str(model), "model.py", settings) is None


def test_the_package_discovery_gives_is_checked_as_package_of_would_be(tmp_path: Path) -> None:
    model = write(tmp_path / "pkg" / "model.py", DEFAULT_DEVICE)
    write(tmp_path / "pkg" / "__init__.py")
    settings, cache = Settings(), ResultCache(str(tmp_path / "cache"))
    cache.store(str(model), settings, FileResult(path="model.py", source_digest="0" * 64), cache.stamp(str(model)))
    item = (str(model), "model.py", settings)
    assert cache.lookup(*item) == FileResult(path="model.py")
    assert cache.lookup_all([item], {str(tmp_path / "pkg"): "pkg"}) == [FileResult(path="model.py")]
    assert cache.lookup_all([item], {str(tmp_path / "pkg"): None}) == [None]
    assert cache.lookup_all([item], {str(tmp_path / "other"): None}) == [FileResult(path="model.py")]  # package_of


def test_a_run_over_one_file_rewrites_only_its_shard_and_the_tree_stays_cached(tmp_path: Path, monkeypatch) -> None:
    """Pre-commit's case: the index of a whole tree is there; one staged file changed."""
    folders = [tmp_path / "src" / f"layer{i}" for i in range(6)]
    models = [write(folder / "model.py", DEFAULT_DEVICE) for folder in folders]
    cache_dir = tmp_path / "cache"
    assert len(lint_paths([str(tmp_path / "src")], jobs=1, cache=ResultCache(str(cache_dir))).diagnostics) == 6
    shards = {p.name: p.stat().st_mtime_ns for p in cache_dir.rglob("*.json")}
    assert len(shards) == len({cache_module.shard_of(str(folder)) for folder in folders}) > 1
    edit(models[0], DEFAULT_DEVICE.replace('"cuda"', "None"))
    assert lint_paths([str(models[0])], jobs=1, cache=ResultCache(str(cache_dir))).diagnostics == []
    rewritten = {p.name for p in cache_dir.rglob("*.json") if p.stat().st_mtime_ns != shards[p.name]}
    assert rewritten == {name for name in shards if name.endswith(f"-{cache_module.shard_of(str(folders[0])):02d}.json")}

    def never(*args, **kwargs):
        raise AssertionError("every file is answered from the cache")

    monkeypatch.setattr("devlint.engine.check_files", never)
    assert len(lint_paths([str(tmp_path / "src")], jobs=1, cache=ResultCache(str(cache_dir))).diagnostics) == 5
