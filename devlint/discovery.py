"""Which files to check: directories recursed for Python files, minus what a user never means to lint.

Skipped while walking: VCS folders, virtual environments (any folder with a `pyvenv.cfg`), build output,
caches, `node_modules`, and whatever `.gitignore` files (and `.git/info/exclude`) exclude. Files named
explicitly are always checked. Symlinked folders are followed once; a link back into the walk is skipped.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from devlint.types import FileError

PYTHON_SUFFIXES = (".py", ".pyi")
CHECKED_SUFFIXES = (*PYTHON_SUFFIXES, ".ipynb")  # Jupyter notebooks too, as ruff (devlint.notebook)
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "__pycache__", "node_modules", "build", "dist", ".venv", "venv",
    ".tox", ".nox", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".devlint_cache", "__pypackages__",
    ".ipynb_checkpoints",
})


class PathNotFound(Exception):
    """An explicitly given path does not exist (a usage error)."""


@dataclass(frozen=True)
class _IgnoreRule:
    """One pattern line of a `.gitignore` (or `.git/info/exclude`), as a regex over paths below `base`."""

    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    base: str  # absolute folder the rule's .gitignore lives in


def translate_glob(pattern: str) -> str:
    """gitignore glob → regex body (no anchors): `*` and `?` stop at `/`, `**` crosses folders."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/") and (i + 2 == n or pattern[i + 2] == "/"):
                if i + 2 == n:
                    out.append(".*")
                    i += 2
                else:
                    out.append("(?:.*/)?")
                    i += 3
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as configuration files use it: anchored at the root when it contains a `/`, else
    matching a name at any depth; a match on a folder covers everything below it."""
    anchored = "/" in pattern.rstrip("/")
    body = translate_glob(pattern.strip("/"))
    return re.compile(("^" if anchored else "^(?:.*/)?") + body + "(?:/.*)?$")


def parse_gitignore(text: str, base: str) -> list[_IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        if not line.strip() or line.startswith("#"):
            continue
        line = re.sub(r"(?<!\\)\s+$", "", line)
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:] if line[1:2] in ("#", "!") else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = translate_glob(line)
        regex = re.compile(("^" if anchored else "^(?:.*/)?") + body + "$")
        rules.append(_IgnoreRule(regex, negate, dir_only, base))
    return rules


@dataclass
class IgnoreStack:
    """The .gitignore rules that apply at some folder: outer files first, so later (deeper) rules win."""

    rules: list[_IgnoreRule] = field(default_factory=list)

    def with_folder(self, folder: str) -> IgnoreStack:
        path = os.path.join(folder, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                extra = parse_gitignore(handle.read(), folder)
        except OSError:
            return self
        return IgnoreStack(self.rules + extra) if extra else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        """`path` is absolute and normalised (the walk builds it so), which keeps this to string slicing."""
        verdict = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            prefix = rule.base.rstrip(os.sep) + os.sep
            if not path.startswith(prefix):
                continue
            if rule.regex.match(path[len(prefix):].replace(os.sep, "/")):
                verdict = not rule.negate
        return verdict


def _git_root(folder: str) -> str | None:
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _ignores_above(folder: str) -> IgnoreStack:
    """Rules from .gitignore files between the repository root and `folder` (exclusive), and info/exclude."""
    root = _git_root(folder)
    stack = IgnoreStack()
    if root is None:
        return stack
    exclude = os.path.join(root, ".git", "info", "exclude")
    try:
        with open(exclude, encoding="utf-8", errors="replace") as handle:
            stack = IgnoreStack(parse_gitignore(handle.read(), root))
    except OSError:
        pass
    chain, current = [], folder
    while current != root:
        current = os.path.dirname(current)
        chain.append(current)
    for ancestor in reversed(chain):
        stack = stack.with_folder(ancestor)
    return stack


def is_virtualenv(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


@dataclass
class Discovery:
    """The files a walk of the given paths found to check, and the folders it could not list."""

    files: list[str] = field(default_factory=list)  # absolute-or-as-given paths, in a stable order
    errors: list[FileError] = field(default_factory=list)
    explicit: set[str] = field(default_factory=set)  # the files named on the command line
    absolute: dict[str, str] = field(default_factory=dict)  # each file's absolute, normalised path
    # Each walked folder's package (`package_of`), known from its listing: no `stat` of `__init__.py`.
    packages: dict[str, str | None] = field(default_factory=dict)


LISTED_NAMES = frozenset({"__init__.py", "pyproject.toml"})
"""The names whose presence in a walked folder is recorded (`listed`): what package and configuration
discovery would otherwise ask the file system for, folder by folder."""


def discover(paths: list[str], excluded: Callable[[str], bool] | None = None,
             force_exclude: bool = False, listed: dict[str, frozenset[str]] | None = None) -> Discovery:
    """Expand paths into the files to check. `excluded(path)` (configuration excludes) prunes the walk and,
    with `force_exclude`, explicitly given paths too. Each walked folder's `LISTED_NAMES` that are files
    there go into `listed` (folder -> names) as soon as it is listed, before `excluded` is asked about
    anything in it. Raises PathNotFound for a path that does not exist."""
    found = Discovery()
    seen: set[str] = set()
    skip = excluded or (lambda path: False)
    walk = _Walk(found, seen, skip, listed if listed is not None else {})
    for given in paths:
        if not os.path.lexists(given):
            raise PathNotFound(given)
        if force_exclude and skip(given):
            continue
        if os.path.isdir(given):
            folder = os.path.abspath(given)
            shown = os.path.normpath(given)
            walk.folder(folder, _ignores_above(folder), (), shown, package_of(folder), top=True)
        else:
            key = os.path.abspath(given)
            if key not in seen:
                seen.add(key)
                found.files.append(given)
                found.explicit.add(given)
                found.absolute[given] = key
    return found


class _Walk:
    """One walk of folders into `found`: Python files, minus the skipped and ignored ones. (A plain class:
    a dataclass costs every start its generated methods.)"""

    def __init__(self, found: Discovery, seen: set[str], skip: Callable[[str], bool],
                 listed: dict[str, frozenset[str]]) -> None:
        self.found, self.seen, self.skip, self.listed = found, seen, skip, listed
        self.keys: dict[str, tuple[int, int] | None] = {}  # folder -> (st_dev, st_ino), stat-ed on demand

    def _key(self, folder: str) -> tuple[int, int] | None:
        if folder not in self.keys:
            try:
                info = os.stat(folder)
                self.keys[folder] = (info.st_dev, info.st_ino)
            except OSError:
                self.keys[folder] = None
        return self.keys[folder]

    def loops(self, link: str, chain: tuple[str, ...]) -> bool:
        """Whether the symlinked folder `link` is one of the folders being walked (`chain`). Only a symlink
        can lead back into the walk, so only then are folders `stat`ed, and each once."""
        key = self._key(link)
        return key is not None and any(self._key(folder) == key for folder in chain)

    def folder(self, folder: str, ignores: IgnoreStack, chain: tuple[str, ...], shown: str,
               package: str | None, top: bool = False) -> None:
        """Walk `folder` with the ignore rules of the folders above it (its own `.gitignore` is read here,
        when its listing holds one); `chain` holds the folders above it being walked, `package` is the
        package of the top folder, or of the parent of any other. A virtual environment below the top is
        skipped whole."""
        found = self.found
        try:
            entries = list(os.scandir(folder))  # unsorted: reports sort their output, and sorting costs on big trees
        except OSError as exc:
            if not top and is_virtualenv(folder):
                return
            found.errors.append(FileError(code="E902", path=shown, reason=f"cannot list folder: {exc.strerror}"))
            return
        names = {entry.name for entry in entries}
        if not top and "pyvenv.cfg" in names and is_virtualenv(folder):
            return
        listed = self.listed[folder] = frozenset(e.name for e in entries if e.name in LISTED_NAMES and _is_file(e))
        if not top:  # as `package_of` says, from the listing: the parent's package and this folder's name
            name = folder.rpartition(os.sep)[2]
            package = ((f"{package}.{name}" if package else name) or None) if "__init__.py" in listed else None
        found.packages[folder] = package
        if ".gitignore" in names:
            ignores = ignores.with_folder(folder)
        chain = (*chain, folder)
        prefix = "" if shown == os.curdir else shown + os.sep
        ignored = ignores.ignored if ignores.rules else None  # most folders: no .gitignore rule applies
        skip, seen = self.skip, self.seen
        for entry in entries:
            path = entry.path
            name = entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                if name in SKIPPED_DIRS or name.endswith(".egg-info"):
                    continue
                if (ignored is not None and ignored(path, True)) or skip(path):
                    continue
                if _is_link(entry) and self.loops(path, chain):
                    continue  # a symlink back into a folder being walked: a loop
                self.folder(path, ignores, chain, prefix + name, package)
            elif (name.endswith(CHECKED_SUFFIXES) and not (ignored is not None and ignored(path, False))
                  and not skip(path) and path not in seen):
                seen.add(path)
                found.files.append(prefix + name)
                found.absolute[prefix + name] = path


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # follows symlinks, as os.path.isfile
    except OSError:
        return False


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # cannot tell: check it as a link (a stat decides)


def file_stamp(path: str) -> tuple[int, int, int] | None:
    """(mtime_ns, size, inode) of a file, None if it cannot be read: what must not change for what was read
    from it to stand."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


@functools.lru_cache(maxsize=4096)
def package_of(directory: str) -> str | None:
    """The dotted package a folder is (folders with `__init__.py` up to the first without), for resolving
    relative imports such as `from ..platforms import current_platform`."""
    return _package_of(os.path.abspath(directory))


@functools.lru_cache(maxsize=4096)
def _package_of(folder: str) -> str | None:
    # Built on the parent's answer: one `__init__.py` test per folder, however deep the tree.
    if not os.path.isfile(os.path.join(folder, "__init__.py")):
        return None
    parent = os.path.dirname(folder)
    outer = _package_of(parent) if parent != folder else None
    name = os.path.basename(folder)
    return (f"{outer}.{name}" if outer else name) or None
