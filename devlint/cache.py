"""A result cache in `.devlint_cache/`, so a second run over an unchanged tree costs a `stat` per file.

One index file per (devlint version and code, effective settings) maps each file's absolute path to the
SHA-256 of its bytes, its (mtime, size, inode, package) stamp, and its findings, with the stamps of the other
files those were computed from (modules of its package whose facts were read: `FileResult.dependencies`;
any of them changed, the file is checked again). The stamp is checked first;
only when it changed are the bytes read and hashed. Index files are replaced atomically, so two runs sharing the cache can only
lose each other's new entries (recomputed next time), never corrupt them. Nothing in it is executable
(JSON, not pickle): a linter must not run what it finds on disk.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
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


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """devlint's own code, by file sizes and times: an editable install or a local change must not be
    answered with results an older devlint computed under the same version number."""
    package = os.path.dirname(os.path.abspath(__file__))
    stamps = []
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(n for n in names if n.endswith(".py")):
            info = os.stat(os.path.join(folder, name))
            stamps.append(f"{os.path.relpath(os.path.join(folder, name), package)}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=256)
def _settings_key(settings: Settings) -> str:
    text = json.dumps([__version__, _code_fingerprint(), sorted(settings.select), sorted(settings.ignore),
                       list(settings.platform_devices), settings.prefilter])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _digest(path: str) -> str | None:
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


class ResultCache:
    def __init__(self, directory: str = DEFAULT_DIRECTORY) -> None:
        self.directory = os.path.join(directory, __version__)
        self.root = directory
        self._indexes: dict[str, dict[str, dict]] = {}
        self._dirty: set[str] = set()
        self._dependency_stamps: dict[str, list | None] = {}

    def _index(self, key: str) -> dict[str, dict]:
        index = self._indexes.get(key)
        if index is None:
            try:
                with open(os.path.join(self.directory, key + ".json"), encoding="utf-8") as handle:
                    index = json.load(handle)
                if not isinstance(index, dict):
                    index = {}
            except (OSError, ValueError):
                index = {}  # missing or damaged: start afresh
            self._indexes[key] = index
        return index

    def lookup(self, path: str, display: str, settings: Settings) -> FileResult | None:
        """The cached result for `path` (absolute, as discovery gives it), or None. The file's metadata is
        the fast key; when it changed (a checkout, a touch), the content hash decides, so a file that only
        looks different is not linted again."""
        key = _settings_key(settings)
        entry = self._index(key).get(path)
        if entry is None:
            return None
        stamp = _stamp(path)
        if entry.get("stamp") != stamp:
            if stamp is None or stamp[3] != entry.get("stamp", [None] * 4)[3] or _digest(path) != entry.get("digest"):
                return None
            entry["stamp"] = stamp  # same bytes, same package: refresh the fast key
            self._dirty.add(key)
        if not self._dependencies_unchanged(entry.get("dependencies")):
            return None
        if not entry["diagnostics"]:
            return FileResult(path=display)  # most files: nothing to rebuild
        diagnostics = [diagnostic_from_dict(d) for d in entry["diagnostics"]]
        for diagnostic in diagnostics:
            object.__setattr__(diagnostic, "path", display)  # the same file may be shown relative to another folder
        return FileResult(path=display, diagnostics=diagnostics)

    def _dependencies_unchanged(self, dependencies: dict[str, list | None] | None) -> bool:
        """Whether every other file a result was computed from is as it was then (each stat once a run: many
        files read the same modules)."""
        for path, then in (dependencies or {}).items():
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
        key = _settings_key(settings)
        entry: dict[str, object] = {"stamp": stamp, "digest": result.source_digest,
                                    "diagnostics": [asdict(d) for d in result.diagnostics]}
        if result.dependencies:
            entry["dependencies"] = {p: list(s) if s is not None else None for p, s in result.dependencies.items()}
        self._index(key)[path] = entry
        self._dirty.add(key)

    def save(self) -> None:
        if not self._dirty:
            return
        import tempfile  # only a run that found something new writes

        try:
            os.makedirs(self.directory, exist_ok=True)
            _mark_cache_folder(self.root)
            for key in self._dirty:
                handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(self._indexes[key], stream, separators=(",", ":"))
                os.replace(temporary, os.path.join(self.directory, key + ".json"))
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
