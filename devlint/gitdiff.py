"""Lines added or changed since a git revision: what `--diff-base` gates on."""

from __future__ import annotations

import codecs
import os
import re
import subprocess

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    """A git problem worded for the user."""


def _git(args: list[str], cwd: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("--diff-base needs git, which is not installed") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def changed_lines(base: str, cwd: str | None = None) -> dict[str, set[int] | None]:
    """{absolute path: changed rows} for every file changed since `git merge-base base HEAD`, uncommitted
    changes included; None as the rows means the whole file is new (untracked)."""
    cwd = cwd or os.getcwd()
    try:
        top = _git(["rev-parse", "--show-toplevel"], cwd).strip()
    except GitError:
        raise GitError(f"--diff-base needs a git repository, and {cwd} is not inside one") from None
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], top)
    except GitError:
        raise GitError(f"unknown revision {base!r}; in a shallow clone (CI checkouts often are), fetch it first, "
                       f"e.g. `git fetch --no-tags --depth=1000 origin {base.split('/')[-1]}`") from None
    try:
        merge_base = _git(["merge-base", base, "HEAD"], top).strip()
    except GitError:
        raise GitError(f"no common ancestor between {base!r} and HEAD; in a shallow clone, deepen it "
                       "(`git fetch --deepen=1000`) or fetch full history") from None
    changed: dict[str, set[int] | None] = {}
    current: str | None = None
    for line in _git(["diff", "--no-color", "--no-ext-diff", "-U0", "--relative=", merge_base, "--"], top).splitlines():
        if line.startswith("+++ "):
            target = _diff_name(line[4:])
            current = None if target == "/dev/null" else os.path.join(top, target[2:] if target.startswith("b/") else target)
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            rows = changed[current]
            assert rows is not None
            rows.update(range(start, start + count))
    for relative in filter(None, _git(["ls-files", "-z", "--others", "--exclude-standard"], top).split("\0")):
        changed[os.path.join(top, relative)] = None
    return changed


def _diff_name(name: str) -> str:
    """A file name as a diff header prints it: git C-quotes one holding non-ASCII bytes, a quote, a backslash
    or a control character (`"b/caf\\303\\251.py"`), and ends one holding a space with a tab."""
    if not name.startswith('"'):
        return name.removesuffix("\t")
    return codecs.escape_decode(name[1:-1].encode("ascii"))[0].decode("utf-8", "surrogateescape")
