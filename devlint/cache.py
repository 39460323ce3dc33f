"""A result cache in `.devlint_cache/`, so a second run over an unchanged tree costs a `stat` per file.

One index file per (devlint version and code, effective settings) maps each file's absolute path to its
(mtime, size, inode) stamp, the package it sits in, the SHA-256 of its bytes and its findings, with the
stamps of the other files those were computed from (modules of its package whose facts were read:
`FileResult.dependencies`; any of them changed, the file is checked again). The stamp is checked first;
only when it changed are the bytes read and hashed. An entry is a JSON list, not an object (`_MTIME`...): a
warm run's first cost is reading the index, and keys repeated per file were most of its bytes. An index
is named by a checksum of its key, and kept in `SHARDS` files by folder, each holding the key itself, which
decides (`_index_key`): a run over a few files reads and rewrites only their shards. Index files
are replaced atomically, so two runs sharing the cache can only lose each other's new entries (recomputed
next time), never corrupt them. Nothing in it is executable (JSON, not pickle): a linter must not run what
it finds on disk.
"""

from __future__ import annotations

import functools
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from devlint import __version__
from devlint.discovery import file_stamp, package_of
from devlint.types import (
    Applicability,
    Diagnostic,
    Edit,
    FileResult,
    Fix,
    Location,
    NotebookCell,
    Settings,
    UnsafeReason,
)

DEFAULT_DIRECTORY = ".devlint_cache"


def _location(data: dict) -> Location:
    return Location(data["row"], data["column"])


def diagnostic_from_dict(data: dict) -> Diagnostic:
    fix = None
    if data["fix"] is not None:
        f = data["fix"]
        fix = Fix(message=f["message"], applicability=Applicability(f["applicability"]),
                  edits=tuple(Edit(e["content"], _location(e["start"]), _location(e["end"])) for e in f["edits"]),
                  reason=UnsafeReason(f["reason"]) if f.get("reason") else None)
    return Diagnostic(code=data["code"], message=data["message"], path=data["path"], start=_location(data["start"]),
                      end=_location(data["end"]), fix=fix, context_function=data["context_function"],
                      cover=tuple(data["cover"]) if data["cover"] else None, snippet=data["snippet"],
                      cell=_cell(data.get("cell")))


def _cell(data: dict | None) -> NotebookCell | None:
    if data is None:
        return None
    return NotebookCell(index=data["index"], file_start=_location(data["file_start"]),
                        file_end=_location(data["file_end"]), file_rows=tuple(data["file_rows"]))


FORMAT = 2
"""The layout of an index entry (`_MTIME`...); part of the index's key, so another layout is never misread."""


@functools.lru_cache(maxsize=1)
def _code_stamps() -> str:
    """devlint's own code, by file sizes and times: an editable install or a local change must not be
    answered with results an older devlint computed under the same version number."""
    stamps: list[str] = []

    def add(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".py") and entry.is_file():
                    info = entry.stat()
                    stamps.append(f"{prefix}{entry.name}:{info.st_size}:{info.st_mtime_ns}")
                elif entry.is_dir() and entry.name != "__pycache__":
                    add(entry.path, f"{prefix}{entry.name}/")

    add(os.path.dirname(os.path.abspath(__file__)), "")
    return "\n".join(sorted(stamps))


@functools.lru_cache(maxsize=256)
def _index_key(settings: Settings) -> tuple[str, str]:
    """The index file's name and the text it must hold (`"key"`) to answer for `settings` with this devlint:
    the name is a checksum of the text, and the text itself decides, so two keys sharing a name can only
    take turns in that file, never read each other's results (and no cryptographic hash, whose module costs
    a warm run more than the rest of this one, is needed)."""
    text = json.dumps([__version__, FORMAT, sorted(settings.select), sorted(settings.ignore),
                       list(settings.platform_devices), settings.prefilter, _code_stamps()])
    return f"{zlib.crc32(text.encode()):08x}", text


def _digest(path: str) -> str | None:
    import hashlib  # only for a file whose stamp changed

    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _stamp(path: str) -> list | None:
    """What must not change for a cached result to stand: the file's metadata, and the package it sits in
    (relative imports resolve through it)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_mtime_ns, info.st_size, info.st_ino, package_of(os.path.dirname(path))]


# An index entry, a JSON list: [mtime_ns, size, inode, package, digest, findings] and, when the findings were
# computed from other files, their stamps ({path: [mtime_ns, size, inode] or None}) as a seventh item.
_MTIME, _SIZE, _INODE, _PACKAGE, _DIGEST, _FINDINGS, _DEPENDENCIES = range(7)


SHARDS = 16
"""An index is kept in this many files, by folder: a run over a few files (pre-commit's) reads and rewrites
a sixteenth of a whole tree's index, a run over the tree reads them all."""

Shard = tuple[str, int]  # (index name, shard number): one file, `<name>-<number>.json`


def shard_of(folder: str) -> int:
    """The shard holding the entries of the files in `folder`."""
    return zlib.crc32(folder.encode("utf-8", "surrogateescape")) % SHARDS


class ResultCache:
    def __init__(self, directory: str = DEFAULT_DIRECTORY) -> None:
        self.directory = os.path.join(directory, __version__)
        self.root = directory
        self._indexes: dict[Shard, dict[str, list]] = {}
        self._dirty: set[Shard] = set()
        self._dependency_stamps: dict[str, list | None] = {}
        self._keys: dict[str, str] = {}  # index name -> the key its entries answer for
        # The settings asked last, their index name and key, and the shard of each folder asked since: nearly
        # every file of a run shares one Settings object, and a folder's files share a shard.
        self._asked: tuple[Settings, str, str] | None = None
        self._by_folder: dict[str, tuple[Shard, dict[str, list]]] = {}

    def _shard(self, shard: Shard, key: str) -> dict[str, list]:
        """The entries of one shard, if it was written under `key` (else none: start afresh). Another key
        with the same index name (a checksum collision) gets an empty index that is never saved."""
        if self._keys.setdefault(shard[0], key) != key:
            return {}
        index = self._indexes.get(shard)
        if index is None:
            try:
                with open(os.path.join(self.directory, f"{shard[0]}-{shard[1]:02d}.json"), "rb") as handle:
                    document = json.loads(handle.read())
                index = document["files"] if isinstance(document, dict) and document.get("key") == key else {}
                if not isinstance(index, dict):
                    index = {}
            except (OSError, ValueError, KeyError):
                index = {}  # missing or damaged: start afresh
            self._indexes[shard] = index
        return index

    def _index_of(self, settings: Settings, folder: str) -> tuple[Shard, dict[str, list]]:
        """The shard, and its entries, of the files of `folder` under `settings`."""
        asked = self._asked
        if asked is None or asked[0] is not settings:
            asked = self._asked = (settings, *_index_key(settings))
            self._by_folder = {}
        found = self._by_folder.get(folder)
        if found is None:
            shard = (asked[1], shard_of(folder))
            found = self._by_folder[folder] = (shard, self._shard(shard, asked[2]))
        return found

    def lookup(self, path: str, display: str, settings: Settings) -> FileResult | None:
        """The cached result for `path` (absolute, as discovery gives it), or None. The file's metadata is
        the fast key; when it changed (a checkout, a touch), the content hash decides, so a file that only
        looks different is not linted again."""
        return self.lookup_all([(path, display, settings)], {})[0]

    def lookup_all(self, items: Iterable[tuple[str, str, Settings]],
                   packages: Mapping[str, str | None]) -> list[FileResult | None]:
        """`lookup` of each (path, display path, settings), as a warm run asks. `packages` maps the folders
        discovery walked to their packages (known from their listings): a file elsewhere gets `package_of`'s
        answer. Most files of a warm run are unchanged and clean, and are answered in this loop."""
        answers: list[FileResult | None] = []
        for path, display, settings in items:
            folder = path.rpartition(os.sep)[0]
            shard, index = self._index_of(settings, folder)
            entry = index.get(path)
            if entry is None:
                answers.append(None)
                continue
            try:
                info = os.stat(path)
            except OSError:
                answers.append(None)
                continue
            package = packages[folder] if folder in packages else package_of(os.path.dirname(path))
            if (type(entry) is list and len(entry) == _DEPENDENCIES and entry[_MTIME] == info.st_mtime_ns
                    and entry[_SIZE] == info.st_size and entry[_INODE] == info.st_ino and entry[_PACKAGE] == package
                    and not entry[_FINDINGS]):
                answers.append(FileResult(path=display))  # unchanged, no finding, nothing read from other files
            else:
                answers.append(self._answer(shard, entry, info, path, display, package))
        return answers

    def _answer(self, shard: Shard, entry: list, info: os.stat_result, path: str, display: str,
                package: str | None) -> FileResult | None:
        try:
            if entry[_PACKAGE] != package:
                return None
            if entry[_MTIME] != info.st_mtime_ns or entry[_SIZE] != info.st_size or entry[_INODE] != info.st_ino:
                if _digest(path) != entry[_DIGEST]:
                    return None
                entry[_MTIME:_PACKAGE] = [info.st_mtime_ns, info.st_size, info.st_ino]  # same bytes: refresh
                self._dirty.add(shard)
            if len(entry) > _DEPENDENCIES and not self._dependencies_unchanged(entry[_DEPENDENCIES]):
                return None
            found = entry[_FINDINGS]
            if not found:
                return FileResult(path=display)
            diagnostics = [diagnostic_from_dict(d) for d in found]
        except (TypeError, IndexError, KeyError, ValueError, AttributeError):
            return None  # an entry damaged by hand: check the file again
        for diagnostic in diagnostics:
            object.__setattr__(diagnostic, "path", display)  # the same file may be shown relative to another folder
        return FileResult(path=display, diagnostics=diagnostics)

    def _dependencies_unchanged(self, dependencies: dict[str, list | None]) -> bool:
        """Whether every other file a result was computed from is as it was then (each stat once a run: many
        files read the same modules)."""
        for path, then in dependencies.items():
            if path not in self._dependency_stamps:
                found = file_stamp(path)
                self._dependency_stamps[path] = list(found) if found is not None else None
            if self._dependency_stamps[path] != then:
                return False
        return True

    def stamp(self, path: str) -> list | None:
        """Take a file's stamp *before* it is read, so an edit during the run can never be cached as unseen."""
        return _stamp(path)

    def store(self, path: str, settings: Settings, result: FileResult, stamp: list | None) -> None:
        if result.error is not None or stamp is None or result.source_digest is None:
            return  # unreadable or unparsable files are cheap to retry and may be fixed any moment
        shard, index = self._index_of(settings, path.rpartition(os.sep)[0])
        entry: list = [*stamp, result.source_digest, [asdict(d) for d in result.diagnostics]]
        if result.dependencies:
            entry.append({p: list(s) if s is not None else None for p, s in result.dependencies.items()})
        index[path] = entry
        if self._indexes.get(shard) is index:  # not a colliding key's throwaway index
            self._dirty.add(shard)

    def save(self) -> None:
        if not self._dirty:
            return
        import tempfile  # only a run that found something new writes

        try:
            os.makedirs(self.directory, exist_ok=True)
            _mark_cache_folder(self.root)
            for name, number in self._dirty:
                document = {"key": self._keys[name], "files": self._indexes[name, number]}
                handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
                with os.fdopen(handle, "w", encoding="utf-8") as stream:  # dumps: json.dump encodes in Python, 2x slower
                    stream.write(json.dumps(document, separators=(",", ":")))
                os.replace(temporary, os.path.join(self.directory, f"{name}-{number:02d}.json"))
        except OSError:
            pass  # a read-only checkout: work without a cache rather than fail the lint
        self._dirty.clear()


def _mark_cache_folder(root: str) -> None:
    """Keep the cache out of git and backups, as ruff and pytest do."""
    ignore = os.path.join(root, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w", encoding="utf-8") as handle:
            handle.write("# Automatically created by devlint.\n*\n")
    tag = os.path.join(root, "CACHEDIR.TAG")
    if not os.path.exists(tag):
        with open(tag, "w", encoding="utf-8") as handle:
            handle.write("Signature: 8a477f597d28d172789f06886806bc55\n# devlint's result cache\n")


def clean(directory: str = DEFAULT_DIRECTORY) -> bool:
    """Remove the cache folder; True if there was one."""
    import shutil

    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory)
    return True
