"""Recall benchmark: does devlint find the platform-device bugs that projects really fixed?

    python benchmarks/recall/score.py                 # every row of cases.jsonl
    python benchmarks/recall/score.py --quick         # the fixed quick subset (QUICK_PROJECTS)
    python benchmarks/recall/score.py --project NAME  # one project
    python benchmarks/recall/score.py --only ID,ID    # some cases / ok sites
    python benchmarks/recall/score.py --validate      # check the rows against the schema, run nothing

`cases.jsonl` (next to this script) holds rows of three kinds: `project` (how to download a project and the
`--platform-device` entries its users set), `case` (a real upstream fix: the buggy and the fixed release, the
path and line of the device expression and that line's text) and `ok` (correct code devlint must leave
alone). The fields are described in README.md.

For each release the rows need, the scorer downloads the distribution once (`pip download --no-deps`) into a
cache folder outside the repository, extracts its `.py` files, verifies every row's line text against the
released file, and runs devlint once over the release (`--output-format json --no-cache`, working directory
at the folder holding the module), twice when the project has platform-device entries: with the defaults
and with the project's configuration. It then scores, per project and overall:

* recall: cases with a finding on the lines of the statement holding the device expression;
* twins: fixed releases still flagged on the lines of the fixed statement;
* false positives: ok sites with a finding on their statement's lines;
* precision: findings on case statements / (those + findings on ok statements + findings on flagged twins);
* fix equality: devlint's fix applied to the buggy statement, compared with the upstream fixed statement.

Standard library only. Exit status 0 when it ran (whatever the figures), 1 when --validate found bad rows,
2 on a usage error.
"""

from __future__ import annotations

import argparse
import ast
import enum
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import tokenize
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Iterable, Iterator

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE / "cases.jsonl"
DEFAULT_MISSES = HERE / "misses.json"
DEFAULT_CACHE = Path.home() / ".cache" / "devlint-recall"
TRIGGERS = frozenset({"meta-init", "non-cuda", "multi-gpu", "offload", "cpu", "unknown"})
# Findings of these codes say nothing about the code's devices (DL100: an unused suppression comment).
IGNORED_CODES = frozenset({"DL100"})
# --quick: for each of these projects, only its release pair with the most cases (and the ok sites in those
# two releases). Chosen for small packages so that a warm run stays well under 3 minutes (README has the time).
QUICK_PROJECTS: tuple[str, ...] = ("auto-gptq", "bitsandbytes", "gptqmodel", "liger-kernel", "megatron-core", "mmcv",
                                   "timm", "unsloth")


class Config(str, enum.Enum):
    """Which devlint run a figure comes from."""

    DEFAULT = "default"  # devlint's own platform-device table
    PROJECT = "project"  # plus the project's `platform_devices` (the same run when it has none)


class Role(str, enum.Enum):
    """What a labelled site is."""

    CASE = "case"  # a case's buggy statement, in the buggy release
    TWIN = "twin"  # a case's fixed statement, in the fixed release
    OK = "ok"  # correct code


class FixVerdict(str, enum.Enum):
    """devlint's fix of a caught case against the upstream fix."""

    SAME = "same"
    SAME_SIBLING = "same sibling"
    DIFFERENT = "different"
    NO_FIX = "no fix"
    NO_TWIN = "no twin"  # the fixed statement could not be read: nothing to compare with




class UsageError(Exception):
    """A mistake in the command line or the cases file, worded for the user."""


# ---------------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Project:
    project: str
    package: str
    module: str
    dist: str = "sdist"
    platform_devices: tuple[str, ...] = ()
    config_note: str = ""
    wheel_tag: str = ""
    python: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    project: str
    buggy: str
    fixed: str
    path: str
    line: int
    text: str
    fixed_path: str
    fixed_line: int
    fixed_text: str
    fix: str = ""
    sibling: str = ""
    trigger: str = "unknown"
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class OkSite:
    id: str
    project: str
    version: str
    path: str
    line: int
    text: str
    reason: str = ""


@dataclass
class Rows:
    projects: dict[str, Project] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    oks: list[OkSite] = field(default_factory=list)


# field name -> (type, required)
ROW_FIELDS: dict[str, dict[str, tuple[type, bool]]] = {
    "project": {"project": (str, True), "package": (str, True), "module": (str, True), "dist": (str, True),
                "platform_devices": (list, True), "config_note": (str, False), "wheel_tag": (str, False),
                "python": (str, False)},
    "case": {"id": (str, True), "project": (str, True), "buggy": (str, True), "fixed": (str, True),
             "path": (str, True), "line": (int, True), "text": (str, True), "fixed_path": (str, True),
             "fixed_line": (int, True), "fixed_text": (str, True), "fix": (str, True), "sibling": (str, True),
             "trigger": (str, True), "source": (str, True), "note": (str, False)},
    "ok": {"id": (str, True), "project": (str, True), "version": (str, True), "path": (str, True),
           "line": (int, True), "text": (str, True), "reason": (str, True)},
}


def row_problems(row: Any) -> list[str]:
    """What is wrong with one row on its own (types, required fields, allowed values); empty when valid."""
    if not isinstance(row, dict):
        return ["not a JSON object"]
    kind = row.get("kind")
    if kind not in ROW_FIELDS:
        return [f"unknown kind {kind!r} (expected project, case or ok)"]
    problems = []
    spec = ROW_FIELDS[kind]
    for name, (kind_type, required) in spec.items():
        if name not in row:
            if required:
                problems.append(f"missing field {name!r}")
            continue
        value = row[name]
        if not isinstance(value, kind_type) or (kind_type is int and isinstance(value, bool)):
            problems.append(f"field {name!r} must be {kind_type.__name__}, not {type(value).__name__}")
    unknown = sorted(set(row) - set(spec) - {"kind"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    if problems:
        return problems
    if kind == "project":
        if row["dist"] not in ("sdist", "wheel"):
            problems.append(f"dist must be 'sdist' or 'wheel', not {row['dist']!r}")
        if not all(isinstance(e, str) and e for e in row["platform_devices"]):
            problems.append("platform_devices must be a list of non-empty strings")
    else:
        lines = [("line", "path")] + ([("fixed_line", "fixed_path")] if kind == "case" else [])
        for line_key, path_key in lines:
            if row[line_key] < 1:
                problems.append(f"{line_key} must be >= 1")
            path = row[path_key]
            if path.startswith("/") or ".." in path.split("/") or not path.endswith(".py"):
                problems.append(f"{path_key} must be a relative path to a .py file")
        if kind == "case" and row["trigger"] not in TRIGGERS:
            problems.append(f"trigger must be one of {', '.join(sorted(TRIGGERS))}, not {row['trigger']!r}")
    return problems


def read_rows(path: Path) -> tuple[Rows, list[str]]:
    """The valid rows of a cases file, and one message per problem (bad rows are left out, never guessed)."""
    rows, problems = Rows(), []
    seen_ids: set[str] = set()
    raw: list[tuple[int, dict]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{number}: not JSON: {exc.msg}")
            continue
        found = row_problems(row)
        if found:
            label = row.get("id") or row.get("project") if isinstance(row, dict) else None
            problems += [f"{path.name}:{number}: {label or 'row'}: {p}" for p in found]
            continue
        raw.append((number, row))
    for number, row in raw:
        if row["kind"] == "project":
            if row["project"] in rows.projects:
                problems.append(f"{path.name}:{number}: project {row['project']!r} defined twice")
                continue
            values = {**row, "platform_devices": tuple(row["platform_devices"])}
            del values["kind"]
            rows.projects[row["project"]] = Project(**values)
    twin_at = {(r["project"], r["fixed"], r["fixed_path"], r["fixed_line"]): r["id"] for _, r in raw
               if r["kind"] == "case"}
    bug_at = {(r["project"], r["buggy"], r["path"], r["line"]): r["id"] for _, r in raw if r["kind"] == "case"}
    for number, row in raw:
        if row["kind"] == "project":
            continue
        if row["id"] in seen_ids:
            problems.append(f"{path.name}:{number}: id {row['id']!r} used twice")
            continue
        if row["project"] not in rows.projects:
            problems.append(f"{path.name}:{number}: {row['id']}: project {row['project']!r} has no project row")
            continue
        if row["kind"] == "ok" and (twin := twin_at.get((row["project"], row["version"], row["path"], row["line"]))):
            problems.append(f"{path.name}:{number}: {row['id']}: is the fixed twin of {twin} (scored as its twin "
                            "already; an ok site must be another line)")
            continue
        if row["kind"] == "ok" and (case := bug_at.get((row["project"], row["version"], row["path"], row["line"]))):
            problems.append(f"{path.name}:{number}: {row['id']}: is the buggy line of {case}")
            continue
        seen_ids.add(row["id"])
        values = {k: v for k, v in row.items() if k != "kind"}
        if row["kind"] == "case":
            rows.cases.append(Case(**values))
        else:
            rows.oks.append(OkSite(**values))
    rows.cases.sort(key=lambda c: c.id)
    rows.oks.sort(key=lambda o: o.id)
    return rows, problems


def select_rows(rows: Rows, *, only: set[str] | None, project: str | None, quick: bool) -> Rows:
    """The rows a run scores: --only ids, --project, or the --quick subset."""
    cases, oks = rows.cases, rows.oks
    if project is not None:
        if project not in rows.projects:
            raise UsageError(f"unknown project {project!r} (known: {', '.join(sorted(rows.projects))})")
        cases = [c for c in cases if c.project == project]
        oks = [o for o in oks if o.project == project]
    if only is not None:
        unknown = only - {c.id for c in rows.cases} - {o.id for o in rows.oks}
        if unknown:
            raise UsageError(f"unknown id(s): {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c.id in only]
        oks = [o for o in oks if o.id in only]
    if quick:
        cases, oks = quick_subset(cases, oks, QUICK_PROJECTS or tuple(sorted(rows.projects))[:8])
    used = {c.project for c in cases} | {o.project for o in oks}
    return Rows({n: p for n, p in rows.projects.items() if n in used}, cases, oks)


def quick_subset(cases: list[Case], oks: list[OkSite], projects: Iterable[str]) -> tuple[list[Case], list[OkSite]]:
    """Per project, the (buggy, fixed) pair with the most cases (ties: the first by id), and ok sites there."""
    chosen_cases: list[Case] = []
    chosen_oks: list[OkSite] = []
    for name in projects:
        mine = [c for c in cases if c.project == name]
        if not mine:
            continue
        pairs = Counter((c.buggy, c.fixed) for c in mine)
        best = max(pairs.values())
        pair = next((c.buggy, c.fixed) for c in mine if pairs[(c.buggy, c.fixed)] == best)
        chosen_cases += [c for c in mine if (c.buggy, c.fixed) == pair]
        chosen_oks += [o for o in oks if o.project == name and o.version in pair]
    return chosen_cases, chosen_oks


# ---------------------------------------------------------------------------------------------------------------
# Releases: download once, extract the .py files
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    project: Project
    version: str

    @property
    def key(self) -> str:
        return f"{self.project.package}-{self.version}"


class ReleaseError(Exception):
    """A release that cannot be had (download failed, not cached with --offline, module not in it)."""


def releases_needed(rows: Rows) -> list[Release]:
    keys: dict[tuple[str, str], Release] = {}
    for case in rows.cases:
        for version in (case.buggy, case.fixed):
            keys.setdefault((case.project, version), Release(rows.projects[case.project], version))
    for ok in rows.oks:
        keys.setdefault((ok.project, ok.version), Release(rows.projects[ok.project], ok.version))
    return [keys[k] for k in sorted(keys)]


def pip_download_command(release: Release, dest: Path) -> list[str]:
    project = release.project
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
               "-d", str(dest), f"{project.package}=={release.version}"]
    if project.dist == "sdist":
        command += ["--no-binary", ":all:"]
    else:
        command += ["--only-binary", ":all:"]
        if project.wheel_tag:
            command += ["--platform", project.wheel_tag]
        if project.python:
            command += ["--python-version", project.python.removeprefix("cp"), "--implementation", "cp"]
    return command


def archive_in(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip", ".tgz", ".tar.bz2")))
    return found[0] if found else None


def download(release: Release, cache: Path, *, offline: bool) -> Path:
    """The release's archive in the cache, downloaded the first time it is needed.

    pip builds an sdist's metadata before it saves the file, which fails for projects whose setup.py needs
    torch or a compiler; then the sdist is fetched by the URL and SHA-256 that PyPI's JSON API lists for it."""
    folder = cache / "dl" / release.key / release.project.dist
    if folder.is_dir() and (found := archive_in(folder)):
        return found
    if offline:
        raise ReleaseError("not in the cache and --offline was given")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(pip_download_command(release, folder), capture_output=True, text=True)
    found = archive_in(folder)
    if done.returncode == 0 and found is not None:
        return found
    reason = pip_failure(done.stderr or done.stdout, done.returncode)
    if release.project.dist == "sdist":
        try:
            return download_sdist_from_pypi(release, folder)
        except ReleaseError as exc:
            raise ReleaseError(f"pip download failed ({reason}); {exc}") from None
    raise ReleaseError(f"pip download failed: {reason}")


def pip_failure(output: str, returncode: int) -> str:
    """The most telling line of pip's complaint (`ERROR: ...` over the generic notes that follow it)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("ERROR:", "×", "error:"):
        found = [line for line in lines if line.startswith(marker)]
        if found:
            return found[0]
    return lines[-1] if lines else f"exit {returncode}"


SIMPLE_INDEX = "https://pypi.org/simple/"


def download_sdist_from_pypi(release: Release, folder: Path) -> Path:
    """The sdist's URL and SHA-256 from PyPI's simple index (its JSON form, PEP 691), then the file."""
    import hashlib
    import re
    import urllib.error
    import urllib.request

    name = re.sub(r"[-_.]+", "-", release.project.package).lower()
    request = urllib.request.Request(SIMPLE_INDEX + name + "/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.load(response)
        sdists = [f for f in listing.get("files", []) if sdist_version(f.get("filename", "")) == release.version]
        if not sdists:
            raise ReleaseError(f"PyPI lists no sdist of {release.key}")
        chosen = sdists[0]
        with urllib.request.urlopen(chosen["url"], timeout=300) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ReleaseError(f"PyPI download failed: {exc}") from None
    expected = chosen.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ReleaseError(f"{chosen['filename']}: SHA-256 differs from PyPI's")
    target = folder / Path(chosen["filename"]).name
    target.write_bytes(data)
    return target


def sdist_version(filename: str) -> str | None:
    """`1.7.3` for `gptqmodel-1.7.3.tar.gz`; None for a wheel or anything else."""
    for suffix in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None


def archive_members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every `.py` file in a wheel, zip or tarball."""
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as handle:
            for name in handle.namelist():
                if name.endswith(".py"):
                    yield name, handle.read(name)
    else:
        with tarfile.open(archive) as handle:
            for member in handle:
                if member.isfile() and member.name.endswith(".py"):
                    extracted = handle.extractfile(member)
                    if extracted is not None:
                        yield member.name, extracted.read()


def module_prefix(names: Iterable[str], module: str) -> str | None:
    """The archive folder that holds `module/` (e.g. `pkg-1.0/src/`, or `` for a wheel), or None.

    The shallowest folder wins, preferring one whose `module/__init__.py` exists (a regular package)."""
    candidates: dict[str, bool] = {}
    for name in names:
        parts = name.split("/")
        for index, part in enumerate(parts[:-1]):
            if part == module:
                prefix = "/".join(parts[:index]) + ("/" if index else "")
                is_init = index == len(parts) - 2 and parts[-1] == "__init__.py"
                candidates[prefix] = candidates.get(prefix, False) or is_init
                break
    if not candidates:
        return None
    return min(candidates, key=lambda p: (not candidates[p], p.count("/"), p))


def extract(release: Release, archive: Path, cache: Path, extra_roots: Iterable[str] = ()) -> Path:
    """`<cache>/src/<package>-<version>/`, holding `<module>/...` (and any other top folder a row points into)."""
    root = cache / "src" / release.key
    marker = root.with_name(root.name + ".complete")  # beside the folder: it holds nothing but the release
    roots = {release.project.module, *extra_roots}
    if marker.is_file() and set(marker.read_text().split()) >= roots:
        return root
    if root.exists():
        shutil.rmtree(root)
    members = list(archive_members(archive))
    prefix = module_prefix((n for n, _ in members), release.project.module)
    if prefix is None:
        raise ReleaseError(f"{archive.name} has no folder {release.project.module}/")
    written = 0
    for name, data in members:
        if not name.startswith(prefix):
            continue
        relative = name[len(prefix):]
        if relative.split("/")[0] not in roots or ".." in relative.split("/"):
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    if not written:
        raise ReleaseError(f"{archive.name} has no .py files under {release.project.module}/")
    marker.write_text("\n".join(sorted(roots)) + "\n")
    return root


# ---------------------------------------------------------------------------------------------------------------
# Source facts: line verification and statement extents
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """First and last 1-based line of a statement (inclusive)."""

    first: int
    last: int

    def overlaps(self, first: int, last: int) -> bool:
        return first <= self.last and last >= self.first


def line_matches(source: str, line: int, text: str) -> bool:
    """Whether line `line` (1-based) of `source`, stripped, equals `text` stripped."""
    lines = source.splitlines()
    return 1 <= line <= len(lines) and lines[line - 1].strip() == text.strip()


def _header_end(statement: ast.stmt) -> int:
    """The last line of a compound statement's header (the line before its first body statement)."""
    body = getattr(statement, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return max(statement.lineno, body[0].lineno - 1)
    return statement.lineno


def _statement_first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", [])
    return min([statement.lineno] + [d.lineno for d in decorators])


def _innermost_statement(tree: ast.AST, line: int) -> ast.stmt | None:
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and _statement_first_line(node) <= line <= (node.end_lineno or node.lineno):
            # the latest start, then the earliest end; on a tie the node walked later (the inner one) wins
            if best is None or (node.lineno, -(node.end_lineno or 0)) >= (best.lineno, -(best.end_lineno or 0)):
                best = node
    return best


def _innermost_call(nodes: Iterable[ast.AST], line: int) -> ast.Call | None:
    best: ast.Call | None = None
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and node.lineno <= line <= (node.end_lineno or node.lineno):
                if best is None or (node.end_lineno or 0) - node.lineno < (best.end_lineno or 0) - best.lineno:
                    best = node
    return best


COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
            ast.With, ast.AsyncWith, ast.Try, ast.Match) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def statement_span(source: str, line: int) -> Span:
    """The lines a finding must touch to count for the device expression on `line`.

    * In a simple statement (an assignment, an expression, a return, ...): all of that statement's lines.
    * In the header of a compound statement (`if`/`for`/`while`/`with` condition, `def` signature): the
      smallest call holding the line, else the header's lines (the body is never part of it).
    * A line that holds no statement (a blank line, outside the module): just that line.
    Raises SyntaxError when the file does not parse.
    """
    tree = ast.parse(source)
    statement = _innermost_statement(tree, line)
    if statement is None:
        return Span(line, line)
    if not isinstance(statement, COMPOUND):
        return Span(_statement_first_line(statement), statement.end_lineno or statement.lineno)
    header = Span(_statement_first_line(statement), _header_end(statement))
    header_nodes = [n for n in ast.iter_child_nodes(statement) if not isinstance(n, (ast.stmt, ast.excepthandler))
                    and getattr(n, "lineno", 0) <= header.last]
    call = _innermost_call(header_nodes, line)
    if call is not None:
        return Span(call.lineno, call.end_lineno or call.lineno)
    return header


# ---------------------------------------------------------------------------------------------------------------
# Findings and fixes
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FixEdit:
    content: str
    start: tuple[int, int]  # 1-based row, 1-based column
    end: tuple[int, int]


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    path: str  # relative to the release folder, with `/`
    first: int
    last: int
    edits: tuple[FixEdit, ...] = ()
    applicability: str = ""

    def on(self, span: Span) -> bool:
        return span.overlaps(self.first, self.last)


def parse_devlint_json(text: str) -> tuple[list[Finding], list[Finding]]:
    """devlint's `--output-format json` as (findings, file errors E902/E999)."""
    findings, errors = [], []
    for item in json.loads(text or "[]"):
        fix = item.get("fix") or {}
        edits = tuple(FixEdit(e["content"], (e["location"]["row"], e["location"]["column"]),
                              (e["end_location"]["row"], e["end_location"]["column"])) for e in fix.get("edits", []))
        finding = Finding(item["code"], item["message"], item["filename"].replace(os.sep, "/").removeprefix("./"),
                          item["location"]["row"], item["end_location"]["row"], edits, fix.get("applicability", ""))
        if finding.code.startswith("E"):
            errors.append(finding)
        elif finding.code not in IGNORED_CODES:
            findings.append(finding)
    return findings, errors


def apply_edits(text: str, first_line: int, edits: Iterable[FixEdit]) -> str | None:
    """`text` (which starts at line `first_line` of its file) with the edits applied; None if one falls outside
    or two overlap."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(row: int, column: int) -> int | None:
        index = row - first_line
        if index < 0 or index > len(lines) or (index == len(lines) and column != 1):
            return None
        if index < len(lines) and column - 1 > len(lines[index].rstrip("\r\n")):
            return None
        return starts[index] + column - 1

    spans = []
    for edit in edits:
        start, end = offset(*edit.start), offset(*edit.end)
        if start is None or end is None or end < start:
            return None
        spans.append((start, end, edit.content))
    spans.sort()
    for (_, end, _), (start, _, _) in pairwise(spans):
        if start < end:
            return None
    for start, end, content in reversed(spans):
        text = text[:start] + content + text[end:]
    return text


def normalised_code(text: str) -> str:
    """Code compared token by token: no whitespace, comments or line breaks; string literals in one quoting
    style; no trailing comma before a closing bracket. Falls back to removing whitespace if it does not
    tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "".join(text.replace("'", '"').split())
    kept: list[str] = []
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for token in tokens:
        if token.type in skip:
            continue
        value = token.string
        if token.type == tokenize.STRING:
            try:
                value = repr(ast.literal_eval(value))
            except (ValueError, SyntaxError):
                pass
        if value in (")", "]", "}") and kept and kept[-1] == ",":
            kept.pop()
        kept.append(value)
    return " ".join(kept)


def fixed_by_devlint(buggy_statement: str, first_line: int, fixes: list[Finding]) -> str | None:
    """The buggy statement with the edits of devlint's fixes applied; None without edits (or if they clash)."""
    edits = [e for f in fixes for e in f.edits]
    return apply_edits(buggy_statement, first_line, edits) if edits else None


def fix_verdict(buggy_statement: str, first_line: int, fixes: list[Finding], upstream_statement: str,
                sibling: str = "") -> FixVerdict:
    """devlint's fix on the buggy statement against the upstream statement: SAME (equal once normalised),
    SAME_SIBLING (not equal, but devlint's edits follow the case's sibling: `sibling.device` where upstream
    wrote a local `device = sibling.device`), DIFFERENT, or NO_FIX."""
    if not any(f.edits for f in fixes):
        return FixVerdict.NO_FIX
    fixed = fixed_by_devlint(buggy_statement, first_line, fixes)
    if fixed is not None and normalised_code(fixed) == normalised_code(upstream_statement):
        return FixVerdict.SAME
    contents = " ".join(e.content for f in fixes for e in f.edits)
    if sibling and re.search(rf"(?<![\w.]){re.escape(sibling)}\.device\b", contents):
        return FixVerdict.SAME_SIBLING
    return FixVerdict.DIFFERENT


# ---------------------------------------------------------------------------------------------------------------
# Running devlint
# ---------------------------------------------------------------------------------------------------------------

def default_devlint() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("devlint") is not None:
        return [sys.executable, "-m", "devlint"]
    found = shutil.which("devlint")
    if found:
        return [found]
    raise UsageError("devlint is neither importable by this Python nor on PATH; install it or pass --devlint CMD")


def devlint_version(command: list[str]) -> str:
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise UsageError(f"cannot run devlint ({shlex.join(command)}): {exc.strerror}") from None
    if done.returncode != 0:
        raise UsageError(f"`{shlex.join(command)} --version` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout.strip()


@dataclass
class DevlintRun:
    findings: list[Finding]
    errors: list[Finding]
    seconds: float


def run_devlint(command: list[str], root: Path, targets: list[str], platform_devices: Iterable[str],
                jobs: int | None, config: Path) -> DevlintRun:
    """devlint once over `targets` (folders inside `root`), with `root` as the working directory.

    `--config` names an empty configuration so that no pyproject.toml above the cache can change the run."""
    args = [*command, "check", *targets, "--output-format", "json", "--no-cache", "--exit-zero",
            "--config", str(config)]
    for entry in platform_devices:
        args += ["--platform-device", entry]
    if jobs:
        args += ["-j", str(jobs)]
    started = time.monotonic()
    done = subprocess.run(args, cwd=root, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ReleaseError(f"devlint exited {done.returncode}: {lines[-1] if lines else '(no message)'}")
    findings, errors = parse_devlint_json(done.stdout)
    return DevlintRun(findings, errors, seconds)


# ---------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class SiteResult:
    """One labelled site (a case's buggy statement, its fixed twin, or an ok site) under one configuration."""

    id: str
    project: str
    role: Role
    release: str
    path: str
    line: int
    text: str
    span: tuple[int, int] | None = None
    verified: bool = False
    problem: str = ""  # why it could not be scored (release missing, text mismatch, ...)
    findings: list[dict] = field(default_factory=list)
    fix: FixVerdict | None = None  # for caught cases
    fixed_by_devlint: str = ""  # the buggy statement with devlint's fix applied (whitespace collapsed)
    fixed_upstream: str = ""  # the upstream fixed statement (whitespace collapsed)

    @property
    def scored(self) -> bool:
        return self.span is not None and not self.problem

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


@dataclass
class ReleaseState:
    release: Release
    root: Path | None = None
    problem: str = ""
    runs: dict[Config, DevlintRun] = field(default_factory=dict)
    sources: dict[str, str | None] = field(default_factory=dict)

    def source(self, path: str) -> str | None:
        if path not in self.sources:
            file = self.root / path if self.root else None
            try:
                self.sources[path] = file.read_text(encoding="utf-8", errors="replace") if file else None
            except OSError:
                self.sources[path] = None
        return self.sources[path]


def locate(state: ReleaseState | None, path: str, line: int, text: str) -> tuple[Span | None, bool, str]:
    """(statement span, text verified, problem) for a labelled line in a release."""
    if state is None or state.problem:
        return None, False, f"release unavailable: {state.problem if state else 'not prepared'}"
    source = state.source(path)
    if source is None:
        return None, False, f"{path} is not in {state.release.key}"
    if not line_matches(source, line, text):
        lines = source.splitlines()
        actual = lines[line - 1].strip() if 1 <= line <= len(lines) else "(past the end of the file)"
        return None, False, f"text differs at {path}:{line}: file has {actual!r}"
    try:
        return statement_span(source, line), True, ""
    except SyntaxError as exc:
        return None, True, f"{path} does not parse with this Python: {exc.msg}"


def findings_on(run: DevlintRun | None, path: str, span: Span) -> list[Finding]:
    if run is None:
        return []
    return [f for f in run.findings if f.path == path and f.on(span)]


def finding_dict(f: Finding) -> dict:
    return {"code": f.code, "message": f.message, "line": f.first, "fix": bool(f.edits),
            "applicability": f.applicability}


def score_sites(rows: Rows, states: dict[tuple[str, str], ReleaseState], config: Config) -> list[SiteResult]:
    """Every labelled site under one configuration ("default" or "project")."""
    results: list[SiteResult] = []

    def site(id_: str, project: str, role: Role, version: str, path: str, line: int, text: str) -> SiteResult:
        state = states.get((project, version))
        span, verified, problem = locate(state, path, line, text)
        result = SiteResult(id_, project, role, f"{rows.projects[project].package}-{version}", path, line, text,
                            (span.first, span.last) if span else None, verified, problem)
        if span is not None and not problem and state is not None:
            run = state.runs.get(config) or state.runs.get(Config.DEFAULT)
            result.findings = [finding_dict(f) for f in findings_on(run, path, span)]
        return result

    for case in rows.cases:
        buggy = site(case.id, case.project, Role.CASE, case.buggy, case.path, case.line, case.text)
        twin = site(case.id, case.project, Role.TWIN, case.fixed, case.fixed_path, case.fixed_line, case.fixed_text)
        if buggy.scored and buggy.flagged:
            buggy.fix = case_fix_verdict(case, buggy, twin, states, config)
        results += [buggy, twin]
    for ok in rows.oks:
        results.append(site(ok.id, ok.project, Role.OK, ok.version, ok.path, ok.line, ok.text))
    return results


def case_fix_verdict(case: Case, buggy: SiteResult, twin: SiteResult, states: dict[tuple[str, str], ReleaseState],
                     config: Config) -> FixVerdict:
    """The verdict on devlint's fix; also records both fixed statements on `buggy` for the report."""
    state = states[(case.project, case.buggy)]
    twin_state = states.get((case.project, case.fixed))
    if twin.span is None or twin_state is None or twin.problem:
        return FixVerdict.NO_TWIN
    run = state.runs.get(config) or state.runs.get(Config.DEFAULT)
    span = Span(*buggy.span)  # type: ignore[misc]
    fixes = [f for f in findings_on(run, case.path, span) if f.edits]
    source_lines = (state.source(case.path) or "").splitlines(keepends=True)
    statement = "".join(source_lines[span.first - 1:span.last])
    twin_lines = (twin_state.source(case.fixed_path) or "").splitlines(keepends=True)
    upstream = "".join(twin_lines[twin.span[0] - 1:twin.span[1]])
    mine = fixed_by_devlint(statement, span.first, fixes)
    buggy.fixed_by_devlint = " ".join(mine.split()) if mine is not None else ""
    buggy.fixed_upstream = " ".join(upstream.split())
    return fix_verdict(statement, span.first, fixes, upstream, case.sibling)


@dataclass
class Tally:
    """The figures of one project (or all) under one configuration."""

    cases: int = 0
    caught: int = 0
    twins: int = 0
    twins_flagged: int = 0
    oks: int = 0
    oks_flagged: int = 0
    unscored: int = 0
    findings_on_cases: int = 0
    findings_on_oks: int = 0
    findings_on_twins: int = 0
    fix_same: int = 0
    fix_same_sibling: int = 0
    fix_different: int = 0
    fix_none: int = 0

    def add(self, site: SiteResult) -> None:
        if not site.scored:
            self.unscored += 1
            return
        count = len(site.findings)
        if site.role is Role.CASE:
            self.cases += 1
            self.caught += site.flagged
            self.findings_on_cases += count
            self.fix_same += site.fix == FixVerdict.SAME
            self.fix_same_sibling += site.fix == FixVerdict.SAME_SIBLING
            self.fix_different += site.fix == FixVerdict.DIFFERENT
            self.fix_none += site.fix == FixVerdict.NO_FIX
        elif site.role is Role.TWIN:
            self.twins += 1
            self.twins_flagged += site.flagged
            self.findings_on_twins += count
        else:
            self.oks += 1
            self.oks_flagged += site.flagged
            self.findings_on_oks += count

    @property
    def recall(self) -> float | None:
        return self.caught / self.cases if self.cases else None

    @property
    def precision(self) -> float | None:
        wrong = self.findings_on_oks + self.findings_on_twins
        total = self.findings_on_cases + wrong
        return self.findings_on_cases / total if total else None


def tally(sites: Iterable[SiteResult]) -> dict[str, Tally]:
    """Per project, plus "(all)"; a case whose buggy line did not verify does not count its twin either."""
    sites = list(sites)
    unverified_cases = {s.id for s in sites if s.role is Role.CASE and not s.scored}
    tallies: dict[str, Tally] = defaultdict(Tally)
    for s in sites:
        if s.role is Role.TWIN and s.id in unverified_cases:
            continue
        tallies[s.project].add(s)
        tallies["(all)"].add(s)
    return dict(tallies)


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------

def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table(by_config: dict[Config, dict[str, Tally]], projects: list[str]) -> str:
    header = ("| project | cases | caught (default) | caught (project config) | recall default / config | "
              "twins flagged | ok sites flagged | precision (config) | fix same / same sibling / different / none |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in [*projects, "(all)"]:
        d = by_config[Config.DEFAULT].get(name, Tally())
        p = by_config[Config.PROJECT].get(name, Tally())
        label = "**all**" if name == "(all)" else name
        lines.append(f"| {label} | {p.cases} | {d.caught} | {p.caught} | {percent(d.recall)} / {percent(p.recall)} | "
                     f"{p.twins_flagged} of {p.twins} | {p.oks_flagged} of {p.oks} | {percent(p.precision)} | "
                     f"{p.fix_same} / {p.fix_same_sibling} / {p.fix_different} / {p.fix_none} |")
    return "\n".join(lines)


def precision_parts(t: Tally) -> str:
    return (f"precision = findings on case statements {t.findings_on_cases} / ({t.findings_on_cases} + findings on "
            f"ok statements {t.findings_on_oks} + findings on flagged twins {t.findings_on_twins}) = "
            f"{percent(t.precision)}")


def load_misses(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


@dataclass
class Outcome:
    """Everything one run found: what the report prints and `--json` writes."""

    devlint: str
    rows: Rows
    by_config: dict[Config, list[SiteResult]]  # every labelled site, per run
    misses: dict[str, str]  # case id -> root cause
    release_problems: list[str]
    verification: tuple[int, int]  # labelled lines verified, labelled lines
    unlabelled: dict[Config, int]  # per run: findings on no labelled statement
    wall: float = 0.0


def unlabelled_findings(states: dict[tuple[str, str], ReleaseState], sites: list[SiteResult], config: Config) -> int:
    """Findings (of the given configuration's runs) that lie on no labelled statement: counted in no figure."""
    spans: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for site in sites:
        if site.span is not None:
            spans[(site.release, site.path)].append(Span(*site.span))
    count = 0
    for state in states.values():
        run = state.runs.get(config) or state.runs.get(Config.DEFAULT)
        if run is None:
            continue
        for finding in run.findings:
            if not any(finding.on(span) for span in spans.get((state.release.key, finding.path), ())):
                count += 1
    return count


def report(outcome: Outcome) -> str:
    rows, by_config, misses = outcome.rows, outcome.by_config, outcome.misses
    release_problems, verification = outcome.release_problems, outcome.verification
    tallies = {config: tally(sites) for config, sites in by_config.items()}
    projects = sorted(rows.projects)
    out = [table(tallies, projects), ""]
    all_p, all_d = tallies[Config.PROJECT].get("(all)", Tally()), tallies[Config.DEFAULT].get("(all)", Tally())
    out.append(f"recall: {all_d.caught} of {all_d.cases} ({percent(all_d.recall)}) with the defaults, "
               f"{all_p.caught} of {all_p.cases} ({percent(all_p.recall)}) with each project's platform devices")
    out.append(f"twins still flagged: {all_p.twins_flagged} of {all_p.twins}; ok sites flagged: "
               f"{all_p.oks_flagged} of {all_p.oks} (project config)")
    out.append(precision_parts(all_p) + " (project config)")
    out.append(precision_parts(all_d) + " (defaults)")
    out.append(f"fix of caught cases: {all_p.fix_same} same as upstream, {all_p.fix_same_sibling} following the same "
               f"sibling, {all_p.fix_different} different, {all_p.fix_none} without a fix (project config)")
    out.append(f"verified by script: {verification[0]} of {verification[1]} labelled lines")
    out.append(f"findings on no labelled line (in no figure): {outcome.unlabelled.get(Config.DEFAULT, 0)} with the "
               f"defaults, {outcome.unlabelled.get(Config.PROJECT, 0)} with the project config")
    sites = by_config[Config.PROJECT]
    missed = [s for s in sites if s.role is Role.CASE and s.scored and not s.flagged]
    out += ["", f"missed cases ({len(missed)}), grouped by root cause (misses.json):"]
    groups: dict[str, list[SiteResult]] = defaultdict(list)
    for s in missed:
        groups[misses.get(s.id, "(not yet analysed)")].append(s)
    for cause in sorted(groups, key=lambda c: (-len(groups[c]), c)):
        out.append(f"  {cause} ({len(groups[cause])})")
        out += [f"    {s.id}  {s.release}/{s.path}:{s.line}  {s.text}" for s in groups[cause]]
    caught = [s for s in sites if s.role is Role.CASE and s.scored and s.flagged]
    out += ["", f"fixes of caught cases ({len(caught)}):"]
    for s in caught:
        out.append(f"  {s.id}  {s.fix.value if s.fix else '-'}")
        if s.fix in (FixVerdict.DIFFERENT, FixVerdict.SAME_SIBLING):
            out += [f"    devlint:  {s.fixed_by_devlint}", f"    upstream: {s.fixed_upstream}"]
    wrong = [s for s in sites if s.role in (Role.TWIN, Role.OK) and s.scored and s.flagged]
    out += ["", f"false positives ({len(wrong)}: flagged twins and ok sites):"]
    for s in wrong:
        for f in s.findings:
            out.append(f"  {s.id} ({s.role.value})  {s.release}/{s.path}:{f['line']}  {f['code']} {f['message']}")
    unscored = [s for s in sites if not s.scored]
    if unscored or release_problems:
        out += ["", f"not scored ({len(unscored)} sites):"]
        out += [f"  release {p}" for p in release_problems]
        out += [f"  {s.id} ({s.role.value}) {s.release}: {s.problem}" for s in unscored]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------

def prepare(release: Release, rows: Rows, cache: Path, offline: bool) -> ReleaseState:
    state = ReleaseState(release)
    extra = {p.split("/")[0] for p in paths_in(release, rows)}
    try:
        archive = download(release, cache, offline=offline)
        state.root = extract(release, archive, cache, extra)
    except ReleaseError as exc:
        state.problem = str(exc)
    return state


def paths_in(release: Release, rows: Rows) -> set[str]:
    name, version = release.project.project, release.version
    paths = {c.path for c in rows.cases if c.project == name and c.buggy == version}
    paths |= {c.fixed_path for c in rows.cases if c.project == name and c.fixed == version}
    paths |= {o.path for o in rows.oks if o.project == name and o.version == version}
    return paths


def lint(state: ReleaseState, rows: Rows, command: list[str], jobs: int | None, config_file: Path) -> None:
    """devlint over the release's module (and any other top folder a row points into), with every labelled file
    also named on its own: devlint checks a named file even where its folder walk would skip it (`build/`, a
    `.gitignore`), and checks a file named twice once."""
    if state.root is None:
        return
    labelled = paths_in(state.release, rows)
    folders = sorted({state.release.project.module, *(p.split("/")[0] for p in labelled)})
    targets = [t for t in [*folders, *sorted(labelled)] if (state.root / t).exists()]
    devices = state.release.project.platform_devices
    try:
        state.runs[Config.DEFAULT] = run_devlint(command, state.root, targets, (), jobs, config_file)
        if devices:
            state.runs[Config.PROJECT] = run_devlint(command, state.root, targets, devices, jobs, config_file)
    except ReleaseError as exc:
        state.problem = str(exc)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="See benchmarks/recall/README.md for the definitions.")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="the rows (default: %(default)s)")
    parser.add_argument("--misses", type=Path, default=DEFAULT_MISSES,
                        help="case id -> root cause of the miss (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="downloads and extracted releases "
                        "(default: %(default)s)")
    parser.add_argument("--devlint", default=None, metavar="CMD",
                        help="the devlint command to run (default: `python -m devlint` if importable, else "
                             "`devlint` on PATH), e.g. '/other/venv/bin/devlint'")
    parser.add_argument("--only", default=None, metavar="ID[,ID]", help="only these case / ok ids")
    parser.add_argument("--project", default=None, metavar="NAME", help="only this project's rows")
    parser.add_argument("--quick", action="store_true", help="the quick subset (README: which, how long)")
    parser.add_argument("--offline", action="store_true", help="download nothing; a release not cached is "
                        "reported and skipped")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="passed to devlint's -j")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write every result here")
    parser.add_argument("--validate", action="store_true", help="check the rows against the schema and stop")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except UsageError as exc:
        print(f"score.py: error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    all_rows, problems = read_rows(args.cases)
    for problem in problems:
        print(f"invalid row: {problem}", file=sys.stderr)
    if args.validate:
        print(f"{len(all_rows.projects)} projects, {len(all_rows.cases)} cases, {len(all_rows.oks)} ok sites valid; "
              f"{len(problems)} problem(s)")
        return 1 if problems else 0
    only = {i.strip() for i in args.only.split(",") if i.strip()} if args.only else None
    rows = select_rows(all_rows, only=only, project=args.project, quick=args.quick)
    command = shlex.split(args.devlint) if args.devlint else default_devlint()
    if os.sep in command[0] and not os.path.isabs(command[0]):
        command[0] = os.path.abspath(command[0])  # devlint runs inside each release's folder
    if shutil.which(command[0]) is None:
        raise UsageError(f"--devlint: {command[0]!r} is not an executable command")
    version = devlint_version(command)
    print(f"{version} ({shlex.join(command)}); {len(rows.cases)} cases, {len(rows.oks)} ok sites, "
          f"{len(rows.projects)} projects", file=sys.stderr)
    cache = args.cache.expanduser().resolve()
    cache.mkdir(parents=True, exist_ok=True)
    config_file = cache / "devlint-empty.toml"
    config_file.write_text("# an empty devlint configuration: the scorer's runs read no pyproject.toml\n")
    states: dict[tuple[str, str], ReleaseState] = {}
    release_problems: list[str] = []
    lint_seconds = 0.0
    for release in releases_needed(rows):
        state = prepare(release, rows, cache, args.offline)
        lint(state, rows, command, args.jobs, config_file)
        lint_seconds += sum(r.seconds for r in state.runs.values())
        if state.problem:
            release_problems.append(f"{release.key}: {state.problem}")
            print(f"release {release.key}: {state.problem}", file=sys.stderr)
        else:
            runs = (f"{c.value}: {len(r.findings)} finding{'s' if len(r.findings) != 1 else ''} in {r.seconds:.1f}s"
                    for c, r in state.runs.items())
            print(f"release {release.key}: " + ", ".join(runs), file=sys.stderr)
        states[(release.project.project, release.version)] = state
    by_config = {config: score_sites(rows, states, config) for config in (Config.DEFAULT, Config.PROJECT)}
    labelled = [s for s in by_config[Config.DEFAULT]]
    verification = (sum(s.verified for s in labelled), len(labelled))
    unlabelled = {config: unlabelled_findings(states, sites, config) for config, sites in by_config.items()}
    outcome = Outcome(version, rows, by_config, load_misses(args.misses), release_problems, verification, unlabelled)
    print(report(outcome))
    outcome.wall = time.monotonic() - started
    print(f"\nwall time {outcome.wall:.0f}s (devlint {lint_seconds:.0f}s) over {len(states)} releases")
    if args.json:
        write_json(args.json, outcome)
    return 0


def write_json(path: Path, outcome: Outcome) -> None:
    misses = outcome.misses
    tallies = {config: {name: {**asdict(t), "recall": t.recall, "precision": t.precision}
                        for name, t in tally(sites).items()} for config, sites in outcome.by_config.items()}
    sites = {config: [{**asdict(s), "root_cause": misses.get(s.id) if s.role is Role.CASE and s.scored
                       and not s.flagged else None} for s in found] for config, found in outcome.by_config.items()}
    document = {"devlint": outcome.devlint, "projects": sorted(outcome.rows.projects), "tallies": tallies,
                "sites": sites, "release_problems": outcome.release_problems, "verified": outcome.verification[0],
                "labelled": outcome.verification[1], "unlabelled_findings": outcome.unlabelled,
                "wall_seconds": round(outcome.wall, 1)}
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
