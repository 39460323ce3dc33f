"""`[tool.devlint]` in pyproject.toml: finding it, validating it, and the effective settings per file.

The closest `pyproject.toml` at or above a checked file that has a `[tool.devlint]` table configures it
(`--config FILE` overrides the search); command-line flags override the file. Globs are relative to the
folder holding the configuration file.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from devlint.discovery import glob_regex
from devlint.types import OPT_IN_CODES, Settings

KNOWN_KEYS = {
    "select": "list of rule codes or prefixes to enable (default [\"DL\"]; an opt-in rule, DL006, only by its code)",
    "ignore": "list of rule codes or prefixes to disable",
    "extend-select": "list of rule codes or prefixes to enable on top of `select`",
    "exclude": "list of path globs never to check",
    "extend-exclude": "list of path globs never to check, on top of `exclude`",
    "include": "list of path globs; only matching files are checked",
    "per-file-ignores": "table of path glob -> list of rule codes to disable for matching files",
    "platform-devices": "list of extra platform devices: device words, dotted names, or calls like `get_device()`",
}
CODE_PATTERN = re.compile(r"^(DL\d{0,3}|E\d{0,3}|ALL)$")
PLATFORM_DEVICE_PATTERN = re.compile(r"[A-Za-z_][\w.]*(\(\))?(\.[A-Za-z_]\w*(\(\))?)*")
SELECTOR_HELP = "use rule codes or prefixes such as DL001, DL00, DL or ALL (`devlint rule --all` lists them)"
PLATFORM_DEVICE_HELP = ("a device word (`privateuseone`), a dotted name (`my_pkg.DEVICE`) or a call "
                        "(`get_device()`, `get_accelerator().current_device_name()`)")


class ConfigError(Exception):
    """A configuration problem, worded for the user (file, key, what is allowed)."""


@dataclass(frozen=True)
class Overrides:
    """Command-line values that override the configuration file (None: not given)."""

    select: frozenset[str] | None = None
    extend_select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    platform_devices: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    # `--per-file-ignores GLOB:CODES`: replaces the file's table, as in ruff; globs relative to the working folder.
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] | None = None
    prefilter: bool = True

    def cli_ignores_for(self, path: str) -> frozenset[str]:
        relative = os.path.relpath(os.path.abspath(path), os.getcwd()).replace(os.sep, "/")
        if relative.startswith("../"):
            return frozenset()
        found: set[str] = set()
        for glob, codes in self.per_file_ignores or ():
            if _cached_glob_regex(glob).match(relative):
                found |= codes
        return frozenset(found)


_cached_glob_regex = functools.lru_cache(maxsize=256)(glob_regex)


def parse_per_file_ignore(value: str, where: str = "--per-file-ignores") -> tuple[str, frozenset[str]]:
    """`GLOB:CODE[,CODE...]`, as ruff writes it on the command line."""
    glob, colon, codes = value.rpartition(":")
    if not colon or not glob or not codes.strip():
        raise ConfigError(f"{where} value {value!r} is not GLOB:CODES (e.g. `tests/**:DL001,DL003`)")
    selectors = tuple(c.strip().upper() for c in codes.split(",") if c.strip())
    return glob, check_selectors(selectors, f"{where} value {value!r}")


@dataclass(frozen=True)
class ProjectConfig:
    """One validated `[tool.devlint]` table (or the defaults, with `path` None)."""

    path: str | None
    root: str
    select: frozenset[str] = frozenset({"DL"})
    ignore: frozenset[str] = frozenset()
    extend_select: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    platform_devices: tuple[str, ...] = ()
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _settings: dict[tuple[Overrides, frozenset[str]], Settings] = field(
        default_factory=dict, compare=False, hash=False, repr=False)
    _last_settings: list = field(default_factory=list, compare=False, hash=False, repr=False)  # [Overrides, Settings]

    def _relative(self, path: str) -> str | None:
        absolute = path if os.path.isabs(path) else os.path.abspath(path)
        prefix = self.root.rstrip(os.sep) + os.sep
        return absolute[len(prefix):].replace(os.sep, "/") if absolute.startswith(prefix) else None

    def _matches(self, globs: tuple[str, ...], path: str) -> bool:
        if not globs:
            return False
        relative = self._relative(path)
        if relative is None:
            return False
        for glob in globs:
            pattern = self._patterns.get(glob)
            if pattern is None:
                pattern = self._patterns[glob] = glob_regex(glob)
            if pattern.match(relative):
                return True
        return False

    def is_excluded(self, path: str, overrides: Overrides) -> bool:
        # Asked for every file and folder discovery meets: most configurations exclude nothing.
        return bool(self.exclude or overrides.extend_exclude) and self._matches(self.exclude + overrides.extend_exclude, path)

    def is_included(self, path: str) -> bool:
        return not self.include or self._matches(self.include, path)

    def settings_for(self, path: str, overrides: Overrides) -> Settings:
        """The settings of one file. Files that get the same ones share one object (a run asks once per file,
        and the cache keys results by it)."""
        uniform = overrides.per_file_ignores is None and not self.per_file_ignores  # the same for every file
        if uniform and self._last_settings and self._last_settings[0] is overrides:
            return self._last_settings[1]  # without hashing `overrides` again
        if overrides.per_file_ignores is not None:
            extra = overrides.cli_ignores_for(path)
        else:
            extra = frozenset(c for glob, codes in self.per_file_ignores if self._matches((glob,), path) for c in codes)
        key = (overrides, extra)
        found = self._settings.get(key)
        if found is None:
            found = self._settings[key] = self._settings_with(overrides, extra)
        if uniform:
            self._last_settings[:] = [overrides, found]
        return found

    def _settings_with(self, overrides: Overrides, extra_ignore: frozenset[str]) -> Settings:
        # As in ruff, a command-line `--select` is a new layer: it replaces the file's select *and* ignore.
        if overrides.select is not None:
            select, ignore = overrides.select | overrides.extend_select, set(overrides.ignore)
        else:
            select = self.select | self.extend_select | overrides.extend_select
            ignore = set(self.ignore | overrides.ignore)
        return Settings(select=frozenset(select), ignore=frozenset(ignore | extra_ignore),
                        platform_devices=self.platform_devices + overrides.platform_devices,
                        prefilter=overrides.prefilter)


def is_known_selector(selector: str) -> bool:
    """ALL, or a prefix of a code devlint can report (DL, DL0, DL001, E9, E902, ...)."""
    from devlint.rules import KNOWN_CODES  # the registry loads only when a selector is given

    return selector == "ALL" or (CODE_PATTERN.match(selector) is not None
                                 and any(code.startswith(selector) for code in KNOWN_CODES))


def check_selectors(codes: tuple[str, ...], where: str) -> frozenset[str]:
    """Validated rule selectors (`ALL` becomes `DL` and the opt-in codes: every rule, as in ruff); `where`
    names the setting in the error."""
    bad = [c for c in codes if not is_known_selector(c)]
    if bad:
        raise ConfigError(f"{where} has unknown rule codes {bad}; {SELECTOR_HELP}")
    return frozenset(s for c in codes for s in (("DL", *OPT_IN_CODES) if c == "ALL" else (c,)))


def check_platform_devices(entries: tuple[str, ...], where: str) -> tuple[str, ...]:
    for entry in entries:
        if not PLATFORM_DEVICE_PATTERN.fullmatch(entry):
            raise ConfigError(f"{where} entry {entry!r} is not a platform device: use {PLATFORM_DEVICE_HELP}")
    return entries


def _string_list(value: object, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.devlint] `{key}` must be a {KNOWN_KEYS[key]}; got {value!r}")
    return tuple(value)


def _codes(value: object, key: str, source: str) -> frozenset[str]:
    return check_selectors(_string_list(value, key, source), f"{source}: [tool.devlint] `{key}`")


def parse_config(table: dict[str, object], path: str) -> ProjectConfig:
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        allowed = ", ".join(sorted(KNOWN_KEYS))
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} in [tool.devlint]; allowed: {allowed}")
    values: dict[str, object] = {}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            values[key.replace("-", "_")] = _codes(table[key], key, path)
    exclude = _string_list(table.get("exclude", []), "exclude", path) + \
        _string_list(table.get("extend-exclude", []), "extend-exclude", path)
    ignores = table.get("per-file-ignores", {})
    if not isinstance(ignores, dict):
        raise ConfigError(f"{path}: [tool.devlint] `per-file-ignores` must be a {KNOWN_KEYS['per-file-ignores']}")
    per_file = tuple((glob, _codes(codes, "per-file-ignores", path)) for glob, codes in ignores.items())
    devices = check_platform_devices(_string_list(table.get("platform-devices", []), "platform-devices", path),
                                     f"{path}: [tool.devlint] `platform-devices`")
    return ProjectConfig(path=path, root=os.path.dirname(os.path.abspath(path)), exclude=exclude,
                         include=_string_list(table.get("include", []), "include", path), per_file_ignores=per_file,
                         platform_devices=devices, **values)  # type: ignore[arg-type]


def load_config_file(path: str, *, require_table: bool = False) -> ProjectConfig | None:
    """The `[tool.devlint]` table of a pyproject.toml (or a devlint.toml's top level), or None if absent."""
    import tomllib  # only a run that finds a configuration file reads TOML

    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = document.get("tool", {}).get("devlint") if os.path.basename(path) == "pyproject.toml" else document
    if table is None:
        if require_table:
            raise ConfigError(f"{path}: has no [tool.devlint] table")
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.devlint] must be a table")
    return parse_config(table, path)


class ConfigResolver:
    """Finds the configuration for any path, reading each pyproject.toml once per run."""

    def __init__(self, explicit: str | None = None, listed: Mapping[str, frozenset[str]] | None = None) -> None:
        """`listed`: folders whose listing is known (discovery's), each to the names of the files in it
        among `discovery.LISTED_NAMES`; a folder there is not asked again whether it holds a pyproject.toml."""
        self.explicit = load_config_file(explicit, require_table=True) if explicit else None
        self._by_folder: dict[str, ProjectConfig] = {}
        self._default = ProjectConfig(path=None, root=os.getcwd())
        self._listed = listed if listed is not None else {}

    def config_for(self, path: str) -> ProjectConfig:
        """The configuration of a file or folder: the closest one at or above the folder holding it."""
        if self.explicit is not None:
            return self.explicit
        if not path.startswith(os.sep):  # os.path.isabs, without its cost: asked for every file and folder walked
            path = os.path.abspath(path)
        folder = path.rpartition(os.sep)[0] or os.sep
        found = self._by_folder.get(folder)
        return found if found is not None else self._closest(folder)

    def _closest(self, folder: str) -> ProjectConfig:
        found = self._by_folder.get(folder)
        if found is None:
            candidate = os.path.join(folder, "pyproject.toml")
            names = self._listed.get(folder)
            present = "pyproject.toml" in names if names is not None else os.path.isfile(candidate)
            found = load_config_file(candidate) if present else None
            if found is None:
                parent = os.path.dirname(folder)
                found = self._default if parent == folder else self._closest(parent)
            self._by_folder[folder] = found
        return found
