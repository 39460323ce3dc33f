from __future__ import annotations

import os
from pathlib import Path

import pytest

from devlint.discovery import PathNotFound, discover, parse_gitignore


def files_under(root: Path) -> list[str]:
    return sorted(os.path.relpath(p, root) for p in discover([str(root)]).files)


def touch(path: Path, text: str = "x = 1\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_walks_python_files_and_skips_the_usual_folders(tmp_path: Path) -> None:
    for name in ["a.py", "b.pyi", "notes.txt", "pkg/c.py", ".git/d.py", "build/e.py", "dist/f.py",
                 "__pycache__/g.py", "node_modules/h.py", "env/lib/i.py", "x.egg-info/j.py"]:
        touch(tmp_path / name)
    touch(tmp_path / "env" / "pyvenv.cfg", "home = /usr\n")
    assert files_under(tmp_path) == ["a.py", "b.pyi", "pkg/c.py"]


def test_a_virtualenv_is_skipped_below_the_top_only(tmp_path: Path) -> None:
    # Read from each folder's own listing: a `pyvenv.cfg` file marks one (a folder of that name does not),
    # and a virtual environment named on the command line is checked as asked.
    touch(tmp_path / "env" / "pyvenv.cfg", "home = /usr\n")
    touch(tmp_path / "env" / "lib" / "i.py")
    touch(tmp_path / "tools" / "pyvenv.cfg" / "k.py")
    assert files_under(tmp_path) == ["tools/pyvenv.cfg/k.py"]
    assert files_under(tmp_path / "env") == ["lib/i.py"]


def test_gitignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    touch(tmp_path / ".gitignore", "generated/\n*_pb2.py\n/top_only.py\n!keep_pb2.py\n")
    touch(tmp_path / "sub" / ".gitignore", "local.py\n")
    for name in ["generated/a.py", "x_pb2.py", "keep_pb2.py", "top_only.py", "sub/top_only.py",
                 "sub/local.py", "sub/ok.py"]:
        touch(tmp_path / name)
    assert files_under(tmp_path) == ["keep_pb2.py", "sub/ok.py", "sub/top_only.py"]


def test_gitignore_globs() -> None:
    rules = parse_gitignore("a/**/b.py\n**/deep\nfoo?.py\n[ab].py\n", "/r")
    matching = {
        "a/b.py": True, "a/x/y/b.py": True, "x/deep": True, "deep": True, "foo1.py": True, "foo12.py": False,
        "a.py": True, "c.py": False,
    }
    for path, expected in matching.items():
        assert any(r.regex.match(path) for r in rules) is expected, path


def test_explicit_files_are_always_checked(tmp_path: Path) -> None:
    touch(tmp_path / "build" / "gen.py")
    touch(tmp_path / "script")
    found = discover([str(tmp_path / "build" / "gen.py"), str(tmp_path / "script")])
    assert [os.path.basename(f) for f in found.files] == ["gen.py", "script"]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(PathNotFound):
        discover([str(tmp_path / "missing")])


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    touch(tmp_path / "pkg" / "a.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    assert files_under(tmp_path) == ["pkg/a.py"]


def test_dangling_symlink_is_listed_so_it_can_be_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.py", tmp_path / "link.py")
    assert files_under(tmp_path) == ["link.py"]
