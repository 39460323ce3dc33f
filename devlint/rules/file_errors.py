"""The codes of files that could not be checked (E001, E902, E999): not rules, but explained like them.

`devlint rule E902` prints these, `--statistics` names them, and `--select`/`ignore` accept their codes.
Kept free of LibCST so the registry's codes stay cheap to import.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Protocol

from devlint.types import FixAvailability


class Explained(Protocol):
    """What `devlint rule` explains: a rule class, or a file-error code."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def fix_availability(self) -> FixAvailability: ...
    def documentation(self) -> str: ...


@dataclass(frozen=True)
class FileErrorCode:
    """A file-error code, explained as a rule is (`explanation`: its documentation's Markdown)."""

    code: str
    name: str
    summary: str
    explanation: str
    fix_availability: FixAvailability = FixAvailability.NONE

    def documentation(self) -> str:
        return inspect.cleandoc(self.explanation)


FILE_ERRORS: dict[str, FileErrorCode] = {error.code: error for error in (
    FileErrorCode("E001", "internal-error", "devlint failed on this file (a bug)", """
        ## What it does
        Reports a file on which devlint itself failed: an exception inside devlint, or the parser crashing
        its worker process. It is printed on standard error with a request to report it, the other files
        are still checked, and the run exits with code 2.

        ## Why is this bad?
        The file was not checked, so findings in it may be missing. It is a bug in devlint, not in the code.

        ## Example
        ```
        devlint: error: model.py: internal error: KeyError: 'x' (at tensors.py:12); please report this with the file
        ```

        ## Fix safety
        There is nothing to fix in the checked code: report the message and the file.
        """),
    FileErrorCode("E902", "io-error", "The file could not be read or decoded", """
        ## What it does
        Reports a file that could not be read or decoded: permission denied, not UTF-8 without a PEP 263
        coding declaration, an unknown coding, binary content (NUL bytes), larger than 10 MiB, a dangling
        symlink or a symlink loop; a notebook (`.ipynb`) that is not valid JSON or not nbformat 4 (no `cells`
        list, a code cell whose `source` is not a string or a list of strings). Also used when fixes or
        `# noqa` comments could not be written back.

        ## Why is this bad?
        The file was not checked, so findings in it may be missing; the run exits with code 1.

        ## Example
        ```
        weights.py:1:1: E902 not valid utf-8 (byte 0xe9 at line 1); save it as UTF-8 or add a coding declaration
        ```

        ## Fix safety
        No fix: make the file readable, save it as UTF-8 or declare its coding, or exclude it.
        """),
    FileErrorCode("E999", "syntax-error", "The file does not parse", """
        ## What it does
        Reports a file devlint had to parse that is not valid Python (the message and position come from
        CPython's parser), or that is nested too deeply to parse safely (past 400 levels of brackets).
        Files without a platform-device token, or without a place a device goes (`device=`, `.to(`, a
        `.cuda()`-like move), are never parsed, so their syntax errors are not reported: devlint is not a
        syntax checker.

        ## Why is this bad?
        The file was not checked, so findings in it may be missing; the run exits with code 1.

        ## Example
        ```
        model.py:2:7: E999 syntax error: invalid syntax
        ```

        ## Fix safety
        No fix: correct the syntax error, or exclude the file.
        """),
)}
