"""The `devlint` command: options in, a call into `devlint.api`, text out. Nothing else lives here.

Heavy modules (LibCST, the analysis) are imported inside the commands so that `devlint --help` and
`devlint --version` start instantly.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import click

from devlint import __version__
from devlint.report import FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str | None) -> frozenset[str]:
    return frozenset(c.strip().upper() for c in (value or "").split(",") if c.strip())


def _fail(message: str) -> None:
    click.echo(f"devlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="devlint")
def main() -> None:
    """devlint: find tensors built on the platform's device where a sibling tensor's device belongs."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes and write the files.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (with --fix) or show fixes marked unsafe.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix changed a file, even if nothing is left.")
@click.option("--select", default=None, help="Rule codes or prefixes to enable, comma-separated (replaces `select`).")
@click.option("--extend-select", default=None, help="Rule codes or prefixes to enable on top of `select`.")
@click.option("--ignore", default=None, help="Rule codes or prefixes to disable, comma-separated (adds to `ignore`).")
@click.option("--platform-device", "platform_devices", multiple=True, metavar="ENTRY",
              help="Also treat ENTRY as a platform device: a device word (`privateuseone`), a dotted name "
                   "(`my_pkg.DEVICE`) or a call (`get_device()`, `get_accelerator().current_device_name()`). "
                   "Repeatable.")
@click.option("--extend-exclude", "extend_exclude", multiple=True, metavar="GLOB", help="More path globs to skip.")
@click.option("--force-exclude", is_flag=True, help="Apply exclude/include to files named on the command line too "
              "(for pre-commit, which names every staged file).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="Use this pyproject.toml (its [tool.devlint]) for every file instead of the closest one.")
@click.option("--show-settings", is_flag=True, help="Print the effective settings for each PATH and exit.")
@click.option("--output-format", default="concise", show_default=True, type=click.Choice(list(FORMATS)),
              help="How to print findings.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True), help="Write the report here.")
@click.option("--statistics", is_flag=True, help="Print a count of findings per rule instead of the findings.")
@click.option("--stdin-filename", default=None, help="The path of the code read from standard input (PATH `-`).")
@click.option("--diff-base", default=None, metavar="REV",
              help="Report only findings on lines added or changed since `git merge-base REV HEAD` "
                   "(uncommitted changes included).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), default=None,
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline_file", type=click.Path(dir_okay=False), default=None,
              help="Record the current findings in this baseline file and exit 0.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments for every current finding.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="Where to keep the result cache (default: .devlint_cache in the current folder).")
@click.option("--runtime-evidence", "runtime_evidence", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Join a watched build's evidence (devlint.runtime's JSON): mark each finding confirmed / "
                   "exercised / not exercised and add the findings only the build saw.")
@click.option("--no-prefilter", is_flag=True, hidden=True,
              help="Parse every file completely (to show that the prefilter changes nothing).")
def check(paths: tuple[str, ...], fix: bool, unsafe_fixes: bool, show_diff: bool, exit_zero: bool,
          exit_non_zero_on_fix: bool, select: str | None, extend_select: str | None, ignore: str | None,
          platform_devices: tuple[str, ...], extend_exclude: tuple[str, ...], force_exclude: bool,
          config_file: str | None, show_settings: bool, output_format: str, output_file: str | None,
          statistics: bool, stdin_filename: str | None, diff_base: str | None, baseline_file: str | None,
          write_baseline_file: str | None, add_noqa: bool, jobs: int | None, no_cache: bool,
          cache_dir: str | None, no_prefilter: bool, runtime_evidence: str | None) -> None:
    """Check PATHS (files or folders; default: the current folder; `-` reads standard input)."""
    from devlint import api
    from devlint.baseline import BaselineError, filter_new, write_baseline
    from devlint.config import ConfigError, Overrides
    from devlint.discovery import PathNotFound
    from devlint.evidence import EvidenceError
    from devlint.gitdiff import GitError, changed_lines
    from devlint.types import FixMode, RunResult

    from devlint.cache import DEFAULT_DIRECTORY, ResultCache

    overrides = Overrides(select=_codes(select) or None, extend_select=_codes(extend_select), ignore=_codes(ignore),
                          platform_devices=platform_devices, extend_exclude=extend_exclude,
                          prefilter=not no_prefilter)
    cache = None if no_cache else ResultCache(cache_dir or DEFAULT_DIRECTORY)
    targets = list(paths) or ["."]
    if fix or show_diff:
        fix_mode = FixMode.UNSAFE if unsafe_fixes else FixMode.SAFE
    else:
        fix_mode = FixMode.NONE

    try:
        if show_settings:
            click.echo(json.dumps([api.effective_settings(p, overrides=overrides, config_file=config_file)
                                   for p in targets], indent=2))
            return
        if targets == ["-"]:
            data = sys.stdin.buffer.read()
            result = api.lint_stdin(data, stdin_filename, fix_mode, overrides=overrides, config_file=config_file,
                                    runtime_evidence=runtime_evidence)
            if fix and not show_diff:
                # ruff's convention: with --fix, source in, fixed source out; the report goes to stderr.
                sys.stdout.buffer.write(result.fixed_source.encode() if result.fixed_source is not None else data)
                sys.stdout.flush()
            run = RunResult(files=[result])
        else:
            run = api.lint_paths(targets, None, fix_mode, jobs, overrides=overrides, config_file=config_file,
                                 force_exclude=force_exclude, cache=cache, progress=_progress_bar(),
                                 runtime_evidence=runtime_evidence)
    except PathNotFound as exc:
        _fail(f"path does not exist: {exc}")
        return
    except (ConfigError, EvidenceError) as exc:
        _fail(str(exc))
        return

    internal = [e for e in run.errors if e.is_internal]
    for error in internal:
        click.echo(f"devlint: error: {error.path}: {error.reason}", err=True)

    if show_diff:
        from devlint.fix import unified_diff

        diffs = [unified_diff(f.path, f.original_source or "", f.fixed_source)
                 for f in run.files if f.fixed_source is not None]
        click.echo("".join(diffs), nl=False)
        fixes = sum(f.applied_fixes for f in run.files)
        click.echo(f"Would fix {fixes} finding{'s' if fixes != 1 else ''}." if fixes else "No fixes to apply.", err=True)
        sys.exit(EXIT_ERROR if internal else (EXIT_FINDINGS if fixes and not exit_zero else EXIT_CLEAN))

    written = 0
    if fix and targets != ["-"]:
        report = api.write_fixes(run)
        written = len(report.written)
        for error in report.errors:
            click.echo(f"devlint: error: {error.path}: {error.reason}", err=True)
        internal.extend(report.errors)
    elif not fix:
        for result in run.files:
            result.applied_fixes = 0

    # Filters that decide what is reported (not what exists): changed lines, then the baseline.
    try:
        if diff_base is not None:
            _keep_changed_lines(run, changed_lines(diff_base))
        if write_baseline_file is not None:
            count = write_baseline(write_baseline_file, run.diagnostics)
            click.echo(f"Wrote {count} finding{'s' if count != 1 else ''} to {write_baseline_file}.", err=True)
            sys.exit(EXIT_ERROR if internal else EXIT_CLEAN)
        if baseline_file is not None:
            keep = {id(d) for d in filter_new(baseline_file, run.diagnostics)}
            for result in run.files:
                result.diagnostics = [d for d in result.diagnostics if id(d) in keep]
    except (GitError, BaselineError) as exc:
        _fail(str(exc))

    if add_noqa:
        report = api.add_noqa(run.diagnostics)
        for error in report.errors:
            click.echo(f"devlint: error: {error.path}: {error.reason}", err=True)
        count = len(run.diagnostics)
        click.echo(f"Added noqa comments for {count} finding{'s' if count != 1 else ''} in "
                   f"{len(report.written)} file{'s' if len(report.written) != 1 else ''}.", err=True)
        sys.exit(EXIT_ERROR if internal or report.errors else EXIT_CLEAN)

    out_fix_mode = FixMode.UNSAFE if unsafe_fixes else FixMode.NONE
    if statistics:
        text = _statistics(run, out_fix_mode)
    else:
        from devlint.report import reporter_class

        text = reporter_class(output_format)(fix_mode=out_fix_mode,
                                        color=output_file is None and sys.stdout.isatty()).render(run)
    if output_file is not None:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    elif fix and targets == ["-"]:
        click.echo(text, nl=False, err=True)
    else:
        click.echo(text, nl=False)

    if internal:
        sys.exit(EXIT_ERROR)
    if exit_zero:
        sys.exit(EXIT_CLEAN)
    if run.diagnostics or run.errors:
        sys.exit(EXIT_FINDINGS)
    if written and exit_non_zero_on_fix:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


def _progress_bar():
    """A one-line counter on stderr for long runs, only when a person is watching (stderr is a terminal)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 200:
            return
        sys.stderr.write(f"\rdevlint: checked {done}/{total} files")
        if done == total:
            sys.stderr.write("\r" + " " * 50 + "\r")
        sys.stderr.flush()

    return show


def _keep_changed_lines(run, changed: dict) -> None:
    import os

    for result in run.files:
        rows = changed.get(os.path.abspath(result.path), set())
        if rows is None:
            continue  # a new file: every line is new
        result.diagnostics = [d for d in result.diagnostics
                              if rows.intersection(range((d.cover or (d.start.row,))[0],
                                                         (d.cover or (0, d.end.row))[1] + 1))]
        if result.error is not None and os.path.abspath(result.path) not in changed:
            result.error = None


def _statistics(run, fix_mode) -> str:
    from devlint.report.base import Reporter
    from devlint.rules import RULES_BY_CODE

    counts = Counter(d.code for d in run.diagnostics)
    counts.update(e.code for e in run.errors if not e.is_internal)
    fixable = Counter(d.code for d in run.diagnostics if Reporter.marks_fixable(d, fix_mode))
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = RULES_BY_CODE.get(code)
        name = rule.name if rule else {"E902": "io-error", "E999": "syntax-error"}.get(code, "")
        mark = "[*]" if fixable[code] == count and count else "[-]" if fixable[code] else "   "
        lines.append(f"{count:>5}\t{code}\t{mark} {name}")
    return "".join(line + "\n" for line in lines)


@main.command()
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False), help="The cache folder to remove.")
def clean(cache_dir: str | None) -> None:
    """Remove the result cache."""
    from devlint.cache import DEFAULT_DIRECTORY, clean as remove

    directory = cache_dir or DEFAULT_DIRECTORY
    click.echo(f"Removed {directory}." if remove(directory) else f"No cache at {directory}.")


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Explain every rule.")
def rule(code: str | None, show_all: bool) -> None:
    """Explain a rule: what it does, why it matters, an example and how safe its fix is."""
    from devlint.rules import RULES_BY_CODE

    if show_all:
        chosen = list(RULES_BY_CODE.values())
    elif code:
        found = RULES_BY_CODE.get(code.upper())
        if found is None:
            _fail(f"unknown rule {code!r}; known rules: {', '.join(RULES_BY_CODE)}")
        chosen = [found]
    else:
        _fail("give a rule code (e.g. `devlint rule DL001`) or --all")
        return
    texts = []
    for current in chosen:
        runtime = " Reported only by a watched build (devlint.runtime)." if current.runtime_only else ""
        texts.append(f"# {current.name} ({current.code})\n\nFix is {current.fix_availability.lower()} available."
                     f"{runtime}\n\n{current.documentation()}\n")
    click.echo("\n".join(texts), nl=False)
