"""Plain data shared by every part of devlint.

This module imports nothing of ours, so any room (engine, rules, reporters, fixer, API users) can depend on
it. Everything here is picklable: workers hand these back across process boundaries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Applicability(str, enum.Enum):
    """How far a fix can be trusted (the same words ruff uses in its JSON output)."""

    SAFE = "safe"  # keeps behaviour wherever the code already worked; applied by --fix
    UNSAFE = "unsafe"  # probably right, but may change behaviour; needs --unsafe-fixes
    DISPLAY_ONLY = "display-only"  # shown as a hint, never applied


class FixAvailability(str, enum.Enum):
    """Whether a rule offers a fix, in ruff's words (`devlint rule`, SARIF `fixAvailability`)."""

    ALWAYS = "Always"
    SOMETIMES = "Sometimes"
    NONE = "None"

    @property
    def sentence(self) -> str:
        return "No fix is available." if self is FixAvailability.NONE else f"Fix is {self.value.lower()} available."


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and 1-based column (in characters), as users and editors count them."""

    row: int
    column: int


@dataclass(frozen=True)
class NotebookCell:
    """Where a finding (or a file error) in a Jupyter notebook sits: its cell, 1-based and counting every
    cell as Jupyter lists them (markdown too), and the same span in the lines of the `.ipynb` file itself,
    which is what git, SARIF viewers and pull-request annotations see. The finding's own `start` and `end`
    are relative to the cell, as ruff reports them."""

    index: int
    file_start: Location
    file_end: Location
    file_rows: tuple[int, int]  # first and last row of the file the flagged construct spans (--diff-base)


@dataclass(frozen=True)
class Edit:
    """Replace the text between `start` and `end` (end exclusive) with `content`."""

    content: str
    start: Location
    end: Location


class UnsafeReason(str, enum.Enum):
    """Why a fix needs `--unsafe-fixes`: what it may change where the code works today. The value is the
    sentence reporters show (after "unsafe: ")."""

    SIBLING_ATTRIBUTE = "the sibling is an attribute and may live elsewhere"
    SIBLING_NOT_LOCAL = "the sibling belongs to an enclosing function and may be rebound"
    SIBLING_MAY_BE_NONE = "the sibling may be None"
    SIBLING_UNPROVEN = "the sibling is not provably a tensor of this function"
    SEVERAL_SIBLINGS = "several siblings; the first one met may not be the one to follow"
    SIBLING_NOT_COMBINED = ("the sibling is only copied to or from, or lends only its shape or dtype, and may "
                            "sit on another device on purpose")
    CONDITIONAL_DEVICE = "the platform device came from a conditional whose other branch may be the intended one"
    REMOVES_PLACEMENT = "removes a placement the caller may rely on"
    CHANGES_DEFAULT = "changes what callers that omit the device get"
    GUARD_DROPPED = "the guard is dropped, so the move now runs where the guard was false"


@dataclass(frozen=True)
class Fix:
    """Edits that resolve a finding. `message` says what the fix does and, for an unsafe fix, why it is
    unsafe; `reason` carries that why as data (None for a safe fix)."""

    message: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE
    reason: UnsafeReason | None = None


RUNTIME_CODE_PREFIX = "DL2"
OPT_IN_CODES = frozenset({"DL006"})
"""Rules on only when `select`/`extend-select` names their code: a prefix (`DL`, the default) leaves them off.
Each is a rule whose findings are right or wrong by how a project builds its models (`Rule.opt_in`)."""
"""Codes that only a watched build (`devlint.runtime`) reports: the static engine never runs them."""


class Source(str, enum.Enum):
    """Who found it: the static rules, or a watched build (`devlint.runtime`) that static analysis missed."""

    STATIC = "static"
    RUNTIME = "runtime"


class Evidence(str, enum.Enum):
    """What a watched build (`--runtime-evidence`) says about a finding."""

    CONFIRMED = "confirmed"  # the build did what the finding says
    EXERCISED = "exercised"  # the build ran the line and saw nothing wrong there
    NOT_EXERCISED = "not exercised"  # the build never ran the line
    RUNTIME_ONLY = "runtime-only"  # only the build saw it (source RUNTIME)


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a rule code at a place in a file, with an optional fix."""

    code: str
    message: str
    path: str
    start: Location
    end: Location
    fix: Fix | None = None
    # Context for suppressions, baselines and reporters; not part of where the finding is.
    context_function: str | None = None
    cover: tuple[int, int] | None = None  # first and last row of the construct; a suppression on any covers it
    snippet: str = ""  # the flagged source, whitespace-normalised (for baseline fingerprints)
    source: Source = Source.STATIC
    evidence: Evidence | None = None  # set only when runtime evidence was joined
    cell: NotebookCell | None = None  # in a notebook: start, end, cover and fix edits are relative to the cell

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.cell.index if self.cell else 0, self.start.row, self.start.column, self.code)


@dataclass(frozen=True)
class FileError:
    """A file that could not be checked: unreadable, undecodable, unparsable, or an internal error.

    `code` is E902 (could not read or decode), E999 (could not parse) or E001 (internal error: a bug).
    """

    code: str
    path: str
    reason: str
    location: Location | None = None
    cell: NotebookCell | None = None  # in a notebook: `location` is relative to this cell

    @property
    def is_internal(self) -> bool:
        return self.code == "E001"


@dataclass
class FileResult:
    """Everything the engine learnt about one file."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None
    # Present only when the caller asked for fixes and some applied: the fixed text and how many fixes it holds.
    fixed_source: str | None = None
    applied_fixes: int = 0
    original_source: str | None = None
    # SHA-256 of the bytes checked: the cache's key, and a writer refuses to write over a file that changed.
    source_digest: str | None = None
    # The other files the findings were computed from (modules of the same package whose facts were read):
    # path -> its (mtime_ns, size, inode) when read, None when it was looked for and absent. A cached
    # result stands only while each is unchanged (devlint.cache).
    dependencies: dict[str, tuple[int, int, int] | None] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of checking a set of paths."""

    files: list[FileResult] = field(default_factory=list)
    # What the last stage did (devlint.api.finish): files written (fixes, noqa comments; with standard
    # input, the fixed text printed), and files whose writing failed.
    written: list[str] = field(default_factory=list)
    write_errors: list[FileError] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for f in self.files for d in f.diagnostics]
        return sorted(found, key=lambda d: d.sort_key)

    @property
    def errors(self) -> list[FileError]:
        return sorted((f.error for f in self.files if f.error), key=lambda e: e.path)

    @property
    def files_checked(self) -> int:
        return len(self.files)

    @property
    def internal_errors(self) -> list[FileError]:
        return [e for e in self.errors if e.is_internal]

    @property
    def fixes_applied(self) -> int:
        return sum(f.applied_fixes for f in self.files)


@dataclass(frozen=True)
class Settings:
    """The effective settings for checking a file (built from configuration and command-line flags)."""

    select: frozenset[str] = frozenset({"DL"})  # codes or code prefixes
    ignore: frozenset[str] = frozenset()
    platform_devices: tuple[str, ...] = ()  # extra platform-device table entries
    # Skip text that cannot hold a finding before parsing (devlint.prefilter). Off only to prove it changes
    # nothing (tests, benchmark: the hidden --no-prefilter flag).
    prefilter: bool = True

    def enabled(self, code: str) -> bool:
        def matches(prefixes: frozenset[str]) -> int:
            return max((len(p) for p in prefixes if code.startswith(p)), default=-1)

        # The more specific of select/ignore wins, as in ruff (`select DL`, `ignore DL003`); an opt-in rule
        # needs its own code selected.
        chosen, dropped = matches(self.select), matches(self.ignore)
        if code in OPT_IN_CODES and chosen < len(code):
            return False
        return chosen >= 0 and chosen > dropped


class FixMode(str, enum.Enum):
    NONE = "none"
    SAFE = "safe"
    UNSAFE = "unsafe"
