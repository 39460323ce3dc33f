"""The `devlint` command: options in, a call into `devlint.api`, text out. Nothing else lives here.

Heavy modules (LibCST, the analysis) are imported inside the commands so that `devlint --help` and
`devlint --version` start instantly.
"""

from __future__ import annotations

import sys

import click

from devlint import __version__

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
@click.option("--select", default=None, help="Comma-separated rule codes or prefixes to enable (default: DL).")
@click.option("--ignore", default=None, help="Comma-separated rule codes or prefixes to disable.")
@click.option("--platform-device", "platform_devices", multiple=True, metavar="ENTRY",
              help="Also treat ENTRY as a platform device: a device word (`privateuseone`), a dotted name "
                   "(`my_pkg.DEVICE`) or a call (`get_device()`, `get_accelerator().current_device_name()`). "
                   "Repeatable.")
@click.option("--output-format", default="concise", show_default=True,
              type=click.Choice(["concise"]), help="How to print findings.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
def check(paths: tuple[str, ...], fix: bool, unsafe_fixes: bool, show_diff: bool, exit_zero: bool,
          exit_non_zero_on_fix: bool, select: str | None, ignore: str | None, platform_devices: tuple[str, ...],
          output_format: str, jobs: int | None) -> None:
    """Check PATHS (files or folders; default: the current folder)."""
    from devlint import api
    from devlint.discovery import PathNotFound
    from devlint.fix import unified_diff
    from devlint.report import REPORTERS
    from devlint.types import FixMode, Settings

    settings = Settings(select=_codes(select) or frozenset({"DL"}), ignore=_codes(ignore),
                        platform_devices=platform_devices)
    if fix or show_diff:
        fix_mode = FixMode.UNSAFE if unsafe_fixes else FixMode.SAFE
    else:
        fix_mode = FixMode.NONE
    try:
        run = api.lint_paths(list(paths) or ["."], settings, fix_mode, jobs)
    except PathNotFound as exc:
        _fail(f"path does not exist: {exc}")
        return

    internal = [e for e in run.errors if e.is_internal]
    for error in internal:
        click.echo(f"devlint: error: {error.path}: {error.reason}", err=True)

    if show_diff:
        diffs = [unified_diff(f.path, f.original_source or "", f.fixed_source)
                 for f in run.files if f.fixed_source is not None]
        click.echo("".join(diffs), nl=False)
        fixes = sum(f.applied_fixes for f in run.files)
        click.echo(f"Would fix {fixes} finding{'s' if fixes != 1 else ''}." if fixes else "No fixes to apply.", err=True)
        sys.exit(EXIT_ERROR if internal else (EXIT_FINDINGS if fixes and not exit_zero else EXIT_CLEAN))

    written = 0
    if fix:
        report = api.write_fixes(run)
        written = len(report.written)
        for error in report.errors:
            click.echo(f"devlint: error: {error.path}: {error.reason}", err=True)
        if report.errors:
            internal.extend(report.errors)
    else:
        for result in run.files:
            result.applied_fixes = 0

    reporter = REPORTERS[output_format](fix_mode=FixMode.UNSAFE if unsafe_fixes else FixMode.NONE,
                                        color=sys.stdout.isatty())
    click.echo(reporter.render(run), nl=False)

    if internal:
        sys.exit(EXIT_ERROR)
    if exit_zero:
        sys.exit(EXIT_CLEAN)
    if run.diagnostics or run.errors:
        sys.exit(EXIT_FINDINGS)
    if written and exit_non_zero_on_fix:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Explain every rule.")
def rule(code: str | None, show_all: bool) -> None:
    """Explain a rule: what it does, why it matters, an example and how safe its fix is."""
    from devlint.rules import ALL_RULES, RULES_BY_CODE

    if show_all:
        chosen = list(ALL_RULES)
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
        texts.append(f"# {current.name} ({current.code})\n\nFix is {current.fix_availability.lower()} available."
                     f"\n\n{current.documentation()}\n")
    click.echo("\n".join(texts), nl=False)
