"""The rule pages under docs/rules/: for every code, the text `devlint rule CODE` prints, and an index.

    python -m devlint.docs            # (re)write docs/rules/ from the rule classes
    python -m devlint.docs --check    # exit 1, naming the pages that differ, when they are stale

The text comes from one renderer, `rule_text`, which `devlint rule` prints too: a page cannot say what the
command does not. Run from the repository root (or give the folder).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devlint.rules.file_errors import Explained

DEFAULT_FOLDER = os.path.join("docs", "rules")
REGENERATE = "python -m devlint.docs"


def rule_text(item: Explained) -> str:
    """A rule or file-error code explained: title, fix availability, then its documentation (What it does /
    Why is this bad? / Example / Fix safety). What `devlint rule CODE` prints and what its page holds."""
    runtime = " Reported only by a watched build (devlint.runtime)." if getattr(item, "runtime_only", False) else ""
    return f"# {item.name} ({item.code})\n\n{item.fix_availability.sentence}{runtime}\n\n{item.documentation()}\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(items: Iterable[Explained], default: str | None) -> list[str]:
    from devlint.types import Settings

    rows = ["| Code | Name | Default | Fix | Summary |", "|---|---|---|---|---|"]
    for item in items:
        on = default if default is not None else ("error" if Settings().enabled(item.code) else
                                                  "opt-in" if getattr(item, "opt_in", False) else "off")
        rows.append(f"| [{item.code}]({item.code}.md) | {item.name} | {on} | {item.fix_availability.value} "
                    f"| {_cell(item.summary)} |")
    return rows


def index_text() -> str:
    """docs/rules/index.md: every code with its name, default, fix availability and one-line summary."""
    from devlint.rules import ALL_RULES, RUNTIME_RULES
    from devlint.rules.file_errors import FILE_ERRORS

    lines = [
        "# devlint rules",
        "",
        f"Generated from the rule classes by `{REGENERATE}`; each page is what `devlint rule CODE` prints.",
        "devlint has one severity: a finding is an error (exit 1, `::error` in the `github` format, level `error`",
        "in SARIF). *Default* says whether the rule is on without configuration (`select = [\"DL\"]`); an *opt-in*",
        "rule is on only where `select` or `extend-select` names its own code (a prefix leaves it off); *Fix* is",
        "whether `--fix` (or `--unsafe-fixes`) can fix its findings.",
        "",
        "## Static rules",
        "",
        *_table(ALL_RULES, None),
        "",
        "## Runtime rules",
        "",
        "Reported only by a watched build (`devlint.runtime`), joined by `devlint check --runtime-evidence`.",
        "",
        *_table(RUNTIME_RULES, None),
        "",
        "## Files that cannot be checked",
        "",
        "Not rules: each is one line of the report and the run goes on.",
        "",
        *_table(FILE_ERRORS.values(), "error"),
        "",
    ]
    return "\n".join(lines)


def rule_pages() -> dict[str, str]:
    """{file name: text} for docs/rules/: a page for every code, and index.md."""
    from devlint.rules import ALL_RULES, RUNTIME_RULES
    from devlint.rules.file_errors import FILE_ERRORS

    explained: list[Explained] = [*ALL_RULES, *RUNTIME_RULES, *FILE_ERRORS.values()]
    pages = {f"{item.code}.md": rule_text(item) for item in explained}
    pages["index.md"] = index_text()
    return pages


def stale_pages(folder: str) -> list[str]:
    """The pages of `folder` that differ from `rule_pages()`, are missing, or name no code any more."""
    pages = rule_pages()
    present = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    stale = []
    for name, text in pages.items():
        path = os.path.join(folder, name)
        if name not in present or _read(path) != text:
            stale.append(name)
    stale.extend(sorted(name for name in present if name.endswith(".md") and name not in pages))
    return stale


def write_pages(folder: str) -> list[str]:
    """Bring `folder` up to date; the names written or removed."""
    pages = rule_pages()
    changed = stale_pages(folder)
    os.makedirs(folder, exist_ok=True)
    for name in changed:
        path = os.path.join(folder, name)
        if name in pages:
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(pages[name])
        else:
            os.remove(path)
    return changed


def _read(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devlint.docs", description="Write the rule pages of docs/rules/.")
    parser.add_argument("folder", nargs="?", default=DEFAULT_FOLDER, help=f"default: {DEFAULT_FOLDER}")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages(args.folder)
        for name in stale:
            print(f"{os.path.join(args.folder, name)} is stale; run `{REGENERATE}`", file=sys.stderr)
        return 1 if stale else 0
    changed = write_pages(args.folder)
    print(f"Updated {len(changed)} page(s) in {args.folder}." if changed else f"{args.folder} is up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
