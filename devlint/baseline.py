"""Baselines: record today's findings, report only new ones.

A finding is matched by file, code and a fingerprint that survives unrelated edits: the enclosing function,
the whitespace-normalised source of the flagged construct, and its occurrence index among identical ones in
the file. Line numbers are never used, so inserting code above a finding does not make it "new".
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter

from devlint import __version__
from devlint.types import Diagnostic

FORMAT = "devlint-baseline/1"


class BaselineError(Exception):
    pass


def _keys(diagnostics: list[Diagnostic], root: str) -> list[tuple[str, str, str]]:
    seen: Counter[tuple[str, str, str, str]] = Counter()
    keys = []
    for d in sorted(diagnostics, key=lambda d: d.sort_key):
        path = os.path.relpath(os.path.abspath(d.path), root).replace(os.sep, "/")
        base = (path, d.code, d.context_function or "", d.snippet)
        occurrence = seen[base]
        seen[base] += 1
        digest = hashlib.sha256("\x1f".join([*base[2:], str(occurrence)]).encode()).hexdigest()[:20]
        keys.append((path, d.code, digest))
    return keys


def write_baseline(path: str, diagnostics: list[Diagnostic]) -> int:
    root = os.path.dirname(os.path.abspath(path))
    entries = [{"file": f, "code": c, "fingerprint": h} for f, c, h in _keys(diagnostics, root)]
    document = {"format": FORMAT, "devlint": __version__, "findings": entries}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    return len(entries)


def filter_new(path: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics not recorded in the baseline at `path`."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(f"{path} is not a devlint baseline (expected format {FORMAT!r}); write one with "
                            "--write-baseline")
    known = Counter((e["file"], e["code"], e["fingerprint"]) for e in document.get("findings", []))
    root = os.path.dirname(os.path.abspath(path))
    ordered = sorted(diagnostics, key=lambda d: d.sort_key)
    return [d for d, key in zip(ordered, _keys(ordered, root), strict=True) if not known[key]]
