"""The `devlint` command: options in, a call into `devlint.api`, text out. Nothing else lives here.

Every command-line value is validated as the configuration file is (unknown rule codes, malformed
`--platform-device` entries, contradictory flags: exit 2 with one line naming the value). What is checked,
written, filtered and counted, and the exit code, are `devlint.api`'s: a Python caller gets the same.

Heavy modules (LibCST, the analysis) are imported inside the commands so that `devlint --help` and
`devlint --version` start instantly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click

from devlint import __version__
from devlint.report import FORMATS
from devlint.report.statistics import FORMATS as STATISTICS_FORMATS

if TYPE_CHECKING:
    from devlint.api import CheckOptions
    from devlint.cache import ResultCache
    from devlint.config import Overrides
    from devlint.rules.file_errors import Explained
    from devlint.types import RunResult

EXIT_ERROR = 2

# Flags that contradict each other: CheckOptions.CONFLICTS (what is done) and these (what is shown), as in
# ruff where ruff has the flag. `stdin` stands for `-` or --stdin-filename.
DISPLAY_CONFLICTS = (
    ("diff", "statistics"), ("show_settings", "show_files"), ("show_settings", "statistics"),
    ("show_settings", "add_noqa"), ("show_settings", "stdin"), ("show_files", "statistics"),
    ("show_files", "add_noqa"), ("show_files", "stdin"), ("statistics", "add_noqa"), ("add_noqa", "stdin"),
    ("quiet", "silent"),
)


def _fail(message: str) -> NoReturn:
    click.echo(f"devlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


START_UP_OBJECTS = 100_000
"""The collector's first-generation threshold in the `devlint` command's process: more than the objects that
live from start-up to exit (LibCST's node classes and grammar, click's and devlint's modules: ~60,000), so
that they are not scanned for cycles over and over as they arrive (the default, 700, makes ~90 collections
before a one-file check ends). Collections still run, less often: a long run's garbage cycles are collected
after every 100,000 new objects instead of 700 (mypy does the same)."""


def run() -> None:
    """The `devlint` console script and `python -m devlint`: `main` in a process of its own, which may set
    the collector for itself (a Python caller of `main` keeps its own settings)."""
    gc.set_threshold(START_UP_OBJECTS)
    try:
        main()
    finally:
        # The process is exiting: its memory goes back whole. Left in the collector's care, the objects would
        # be scanned again by the collections Python runs while it tears modules down (~30 ms after a
        # one-file check, as much as checking the file).
        gc.freeze()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="devlint")
def main() -> None:
    """devlint: find tensors built on the platform's device where a sibling tensor's device belongs."""


@dataclass(frozen=True)
class Display:
    """Where text goes and how much of it: -q prints findings only, --silent nothing but the diff;
    colour by --color, NO_COLOR and FORCE_COLOR."""

    quiet: bool
    silent: bool
    color: bool

    @classmethod
    def resolve(cls, quiet: bool, silent: bool, color: str, output_file: str | None) -> Display:
        return cls(quiet=quiet or silent, silent=silent, color=use_color(color, output_file is None))

    def note(self, message: str) -> None:
        """A message about the run (counts, warnings), on stderr; -q and --silent drop it."""
        if not self.quiet:
            click.echo(message, err=True, color=self.color)

    def error(self, message: str) -> None:
        click.echo(f"devlint: error: {message}", err=True)

    def out(self, text: str, *, err: bool = False) -> None:
        if text and not self.silent:
            click.echo(text, nl=False, err=err, color=self.color)


def use_color(choice: str, to_terminal: bool) -> bool:
    """`--color always|never` wins; with `auto`, a non-empty NO_COLOR turns colour off and a non-empty
    FORCE_COLOR on (https://no-color.org, https://force-color.org); else colour only on a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return to_terminal and sys.stdout.isatty()


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in (value or "").split(",") if c.strip())


def _overrides(params: dict[str, Any]) -> Overrides:
    """Command-line settings, validated by the same functions as `[tool.devlint]` (ConfigError if bad)."""
    from devlint.config import Overrides, check_platform_devices, check_selectors, parse_per_file_ignore

    select = check_selectors(_codes(params["select"]), "--select") if params["select"] is not None else None
    per_file = params["per_file_ignores"]
    return Overrides(
        select=select or None,
        extend_select=check_selectors(_codes(params["extend_select"]), "--extend-select"),
        ignore=check_selectors(_codes(params["ignore"]), "--ignore"),
        per_file_ignores=tuple(parse_per_file_ignore(v) for v in per_file) if per_file else None,
        platform_devices=check_platform_devices(params["platform_devices"], "--platform-device"),
        extend_exclude=params["extend_exclude"], prefilter=not params["no_prefilter"])


def _reject_conflicts(ctx: click.Context, given: dict[str, Any]) -> None:
    from devlint.api import CheckOptions

    flags = {p.name: max(p.opts, key=len) for p in ctx.command.params if p.name}
    flags["stdin"] = "-` or `--stdin-filename"
    for a, b in (*CheckOptions.CONFLICTS, *DISPLAY_CONFLICTS):
        if given.get(a) and given.get(b):
            raise click.UsageError(f"`{flags[a]}` cannot be used with `{flags[b]}`", ctx)
    if given["statistics"] and given["output_format"] not in STATISTICS_FORMATS:
        raise click.UsageError(f"`--statistics` prints text or JSON: use --output-format with one of "
                               f"{', '.join(STATISTICS_FORMATS)}, not {given['output_format']!r}", ctx)


def _stdin_targets(ctx: click.Context, paths: tuple[str, ...], stdin_filename: str | None,
                   display: Display) -> tuple[list[str], bool]:
    """The paths to check, and whether standard input is read instead (ruff's rules: `-` alone, or
    --stdin-filename, which wins over other paths with a warning; `-` among other paths is an error)."""
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be mixed with other paths", ctx)
    if paths == ("-",):
        return [], True
    if stdin_filename is not None:
        for path in paths:
            display.note(f"warning: Ignoring file {path} in favor of standard input.")
        return [], True
    return list(paths) or ["."], False


_PATH_OPTION = click.Path(dir_okay=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes and write the files.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (with --fix) or show fixes marked unsafe.")
@click.option("--diff", "diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix changed a file, even if nothing is left.")
@click.option("--select", default=None, help="Rule codes or prefixes to enable, comma-separated (replaces `select`).")
@click.option("--extend-select", default=None, help="Rule codes or prefixes to enable on top of `select`.")
@click.option("--ignore", default=None, help="Rule codes or prefixes to disable, comma-separated (adds to `ignore`).")
@click.option("--per-file-ignores", "per_file_ignores", multiple=True, metavar="GLOB:CODES",
              help="Disable CODES (comma-separated) in files matching GLOB (relative to the working folder); "
                   "replaces `per-file-ignores`. Repeatable.")
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
@click.option("--show-files", is_flag=True, help="Print the files that would be checked and exit.")
@click.option("--output-format", default="concise", show_default=True, type=click.Choice(list(FORMATS)),
              help="How to print findings.")
@click.option("-o", "--output-file", type=_PATH_OPTION,
              help="Write the report here (its folder is created).")
@click.option("--statistics", is_flag=True, help="Print a count of findings per rule instead of the findings "
              "(as JSON with --output-format json).")
@click.option("--stdin-filename", default=None,
              help="Read the code from standard input and check it as this path (PATH `-` does too).")
@click.option("--diff-base", default=None, metavar="REV",
              help="Report only findings on lines added or changed since `git merge-base REV HEAD` "
                   "(uncommitted changes included).")
@click.option("--baseline", "baseline", type=_PATH_OPTION, default=None,
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=_PATH_OPTION, default=None,
              help="Record the current findings in this baseline file (its folder is created) and exit 0.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments for every current finding.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False),
              help="Where to keep the result cache (default: .devlint_cache in the current folder).")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings, but nothing else (no summary).")
@click.option("-s", "--silent", is_flag=True, help="Print nothing (the exit code still tells).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the output: auto (on a terminal, unless NO_COLOR is set or FORCE_COLOR is), "
                   "always or never.")
@click.option("--runtime-evidence", "runtime_evidence", type=_PATH_OPTION, default=None, metavar="FILE",
              help="Join a watched build's evidence (devlint.runtime's JSON): mark each finding confirmed / "
                   "exercised / not exercised and add the findings only the build saw.")
@click.option("--no-prefilter", is_flag=True, hidden=True,
              help="Parse every file completely (to show that the prefilter changes nothing).")
@click.pass_context
def check(ctx: click.Context, /, **params: Any) -> None:
    """Check PATHS (files or folders; default: the current folder; `-` reads standard input)."""
    from devlint import api

    params["stdin"] = "-" in params["paths"] or params["stdin_filename"] is not None
    _reject_conflicts(ctx, params)
    display = Display.resolve(params["quiet"], params["silent"], params["color"], params["output_file"])
    options = api.CheckOptions(**{f.name: params[f.name] for f in dataclasses.fields(api.CheckOptions)})
    targets, from_stdin = _stdin_targets(ctx, params["paths"], params["stdin_filename"], display)
    with _user_errors():
        overrides = _overrides(params)
        if params["show_settings"] or params["show_files"]:
            _show(targets, params, overrides)
            return
        stdin = sys.stdin.buffer.read() if from_stdin else None
        run = api.check(targets, options, stdin=stdin, stdin_filename=params["stdin_filename"],
                        overrides=overrides, config_file=params["config_file"],
                        force_exclude=params["force_exclude"], cache=_cache(params), jobs=params["jobs"],
                        progress=None if display.quiet else _progress_bar())
        _print_run(run, options, display, params, stdin)
    sys.exit(api.exit_code(run, options))


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Errors worded for the user become one line on stderr and exit 2, never a traceback."""
    from devlint.discovery import PathNotFound

    try:
        yield
    except PathNotFound as exc:
        _fail(f"path does not exist: {exc}")
    except _user_error_types() as exc:
        _fail(str(exc))


_USER_ERRORS = (("devlint.api", "UsageError"), ("devlint.config", "ConfigError"), ("devlint.gitdiff", "GitError"),
                ("devlint.baseline", "BaselineError"), ("devlint.evidence", "EvidenceError"))


def _user_error_types() -> tuple[type[Exception], ...]:
    """The user-error classes of the modules this run loaded (evaluated only when an exception is on its way:
    a module never imported raised nothing, and a plain run need not import --diff's or --baseline's)."""
    return tuple(getattr(sys.modules[module], name) for module, name in _USER_ERRORS if module in sys.modules)


def _cache(params: dict[str, Any]) -> ResultCache | None:
    if params["no_cache"]:
        return None
    from devlint.cache import DEFAULT_DIRECTORY, ResultCache

    return ResultCache(params["cache_dir"] or DEFAULT_DIRECTORY)


def _show(targets: list[str], params: dict[str, Any], overrides: Overrides) -> None:
    """--show-settings (JSON, per path) and --show-files (one absolute path a line)."""
    from devlint import api

    config_file = params["config_file"]
    if params["show_settings"]:
        click.echo(json.dumps([api.effective_settings(p, overrides=overrides, config_file=config_file)
                               for p in targets], indent=2))
        return
    for path in api.files_to_check(targets, overrides=overrides, config_file=config_file,
                                   force_exclude=params["force_exclude"]):
        click.echo(path)


def _print_run(run: RunResult, options: CheckOptions, display: Display, params: dict[str, Any],
               stdin: bytes | None) -> None:
    for error in (*run.internal_errors, *run.write_errors):
        display.error(f"{error.path}: {error.reason}")
    if options.diff:
        _print_diff(run, display)
    elif options.write_baseline is not None:
        display.note(f"Wrote {_plural(len(run.diagnostics), 'finding')} to {options.write_baseline}.")
    elif options.add_noqa:
        display.note(f"Added noqa comments for {_plural(len(run.diagnostics), 'finding')} in "
                     f"{_plural(len(run.written), 'file')}.")
    else:
        _print_report(run, options, display, params, stdin)


def _print_diff(run: RunResult, display: Display) -> None:
    from devlint.fix import unified_diff

    click.echo("".join(unified_diff(f.path, f.original_source or "", f.fixed_source)
                       for f in run.files if f.fixed_source is not None), nl=False)
    fixes = run.fixes_applied
    display.note(f"Would fix {_plural(fixes, 'finding')}." if fixes else "No fixes to apply.")


def _print_report(run: RunResult, options: CheckOptions, display: Display, params: dict[str, Any],
                  stdin: bytes | None) -> None:
    from devlint import api

    if not run.files:
        display.note("warning: No Python files found under the given path(s)")
    to_stderr = stdin is not None and options.fix
    if to_stderr:
        # ruff's convention: with --fix, source in, fixed source out; the report goes to stderr.
        fixed = run.files[0].fixed_source
        sys.stdout.buffer.write(fixed.encode() if fixed is not None else stdin or b"")
        sys.stdout.flush()
    if params["statistics"]:
        from devlint.report.statistics import render_statistics

        text = render_statistics(api.statistics(run, options.report_fix_mode), params["output_format"],
                                 _summary_line(run, options, display))
    else:
        from devlint.report import reporter_class

        reporter = reporter_class(params["output_format"])(fix_mode=options.report_fix_mode, color=display.color,
                                                           summary=not display.quiet)
        text = reporter.render(run)
    if params["output_file"] is not None:
        api.write_report(params["output_file"], text)
    else:
        display.out(text, err=to_stderr)


def _summary_line(run: RunResult, options: CheckOptions, display: Display) -> str:
    if display.quiet:
        return ""
    from devlint.report.base import Summary
    from devlint.report.concise import ConciseReporter

    return ConciseReporter.summary_line(Summary.of(run, options.report_fix_mode))


def _progress_bar() -> Callable[[int, int], None] | None:
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


@main.command()
def server() -> None:
    """Run the language server over standard input and output (for editors; needs `devlint[server]`)."""
    from devlint.server import INSTALL_HINT, SERVER_PACKAGES

    try:
        from devlint.server.lsp import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SERVER_PACKAGES:
            raise
        _fail(INSTALL_HINT)
    serve()


@main.command()
@click.option("--cache-dir", default=None, type=click.Path(file_okay=False), help="The cache folder to remove.")
def clean(cache_dir: str | None) -> None:
    """Remove the result cache."""
    from devlint.cache import DEFAULT_DIRECTORY, clean as remove

    directory = cache_dir or DEFAULT_DIRECTORY
    click.echo(f"Removed {directory}." if remove(directory) else f"No cache at {directory}.")


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Explain every rule (and the file-error codes).")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Text, or JSON objects shaped like ruff's.")
def rule(code: str | None, show_all: bool, output_format: str) -> None:
    """Explain a rule or a file-error code (E001, E902, E999): what it does, why it matters, an example and
    how safe its fix is."""
    from devlint.rules import ALL_RULES, KNOWN_CODES, RULES_BY_CODE, RUNTIME_RULES
    from devlint.rules.file_errors import FILE_ERRORS

    explained: list[Explained]
    if show_all:
        explained = [*ALL_RULES, *RUNTIME_RULES, *FILE_ERRORS.values()]
    elif code:
        found = RULES_BY_CODE.get(code.upper()) or FILE_ERRORS.get(code.upper())
        if found is None:
            _fail(f"unknown rule {code!r}; known codes: {', '.join(KNOWN_CODES)}")
        explained = [found]
    else:
        _fail("give a rule code (e.g. `devlint rule DL001`) or --all")
    if output_format == "json":
        documents = [_rule_json(item) for item in explained]
        click.echo(json.dumps(documents if show_all else documents[0], indent=2))
    else:
        from devlint.docs import rule_text  # the text of docs/rules/CODE.md too

        click.echo("\n".join(rule_text(item) for item in explained), nl=False)


def _rule_json(item: Explained) -> dict[str, Any]:
    return {"name": item.name, "code": item.code, "linter": "devlint", "summary": item.summary,
            "fix": item.fix_availability.sentence, "fix_availability": item.fix_availability.value,
            "explanation": item.documentation() + "\n", "preview": False}
