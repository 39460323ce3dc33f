"""What would any checker written in Python pay, whatever its analysis? Lower bounds against ruff, measured.

    python benchmarks/floor.py                       # all four corpora of lint_speed.py, 5 alternating rounds
    python benchmarks/floor.py --corpus deepspeed --rounds 3

The speed targets (issue #14) are ratios to ruff. This script times, side by side with ruff in alternating
rounds (medians, CPU seconds: user + system), what a checker built on CPython cannot avoid, so that a ratio
devlint does not reach can be told apart from one no Python design reaches:

- `interpreter`: `python -I -S -c pass`, the interpreter's start alone (no site-packages);
- `interpreter + click`: `python -c "import click"`, the start of any click command (the design card's CLI);
- `read every file`: one process that reads and decodes every `.py` file of the corpus (a cold run must
  look at each file at least once, to know it holds nothing);
- `read every file, ast.parse the files with findings`: the same, plus CPython's `ast.parse` of only the
  files where devlint reports a finding. This is an oracle's cost: a checker that knew in advance, for free,
  which files hold a bug and parsed nothing else would still pay it, because it must parse a file to
  report on its syntax tree.

ruff is timed as lint_speed.py times it (`check --isolated --select E9,F63,F7,F82`, cold: `--no-cache`;
warm: its cache primed). Every Python command runs lint_speed.py's interpreter: the virtual environment
holding a wheel of this checkout, as users install it (an editable install's import hook, loaded by every
start of that environment's Python, would inflate the start-up columns); the files with findings come from
one run of that devlint (`--no-cache`, JSON). Corpora, downloads and ruff are shared with lint_speed.py (`--work`, `--downloads`).
Results go to `--results`/floor.md and floor.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lint_speed  # noqa: E402  (this folder's benchmark: corpora, ruff, timing)

READ_AND_PARSE = """\
import ast, pathlib, sys, warnings
warnings.simplefilter("ignore")
parse = set(pathlib.Path(sys.argv[2]).read_text().split("\\n")) - {""}
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    text = path.read_bytes().decode("utf-8", "replace")
    if str(path) in parse:
        ast.parse(text)
"""


def bench(corpus: lint_speed.Corpus, tree: Path, work: Path, ruff: Path, python: str, rounds: int) -> dict:
    root = (tree / corpus.root).resolve()
    found = lint_speed.devlint_json([python, "-m", "devlint", "check"], ["--no-cache", "--exit-zero", corpus.root], tree)
    findings = sorted({str((tree / finding["filename"]).resolve()) for finding in found})
    listing = work / f"floor-{corpus.name}-files.txt"
    listing.write_text("\n".join(findings) + "\n")
    ruff_cache = work / "cache" / f"floor-ruff-{corpus.name}"
    shutil.rmtree(ruff_cache, ignore_errors=True)
    ruff_check = [str(ruff), *lint_speed.RUFF_SELECT, str(root)]
    subprocess.run([*ruff_check, "--cache-dir", str(ruff_cache)], check=True, stdout=subprocess.DEVNULL)
    commands = {
        "ruff cold": [*ruff_check, "--no-cache"],
        "ruff warm": [*ruff_check, "--cache-dir", str(ruff_cache)],
        "interpreter": [python, "-I", "-S", "-c", "pass"],
        "interpreter + click": [python, "-c", "import click"],
        "read every file": [python, "-c", READ_AND_PARSE, str(root), "/dev/null"],
        "read every file, ast.parse the files with findings": [python, "-c", READ_AND_PARSE, str(root), str(listing)],
    }
    samples: dict[str, list[dict]] = {name: [] for name in commands}
    for number in range(rounds):
        lint_speed.log(f"{corpus.name}: round {number + 1}/{rounds}")
        for name, command in commands.items():
            samples[name].append(lint_speed.measure(command, cwd=tree))
    return {"files": len(lint_speed.python_files(root)), "files_with_findings": len(findings),
            "medians": {name: lint_speed.medians(runs) for name, runs in samples.items()}, "samples": samples}


def report(results: dict[str, dict], rounds: int) -> str:
    lines = [f"{rounds} alternating rounds, medians; CPU seconds (user + system); ratio = CPU / ruff's CPU: the start-up "
             "columns against ruff warm, the reading columns against ruff cold.", "",
             "| corpus (files; with findings) | ruff cold | ruff warm | interpreter | interpreter + click | "
             "read every file | + `ast.parse` of the files with findings |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, result in results.items():
        m = {key: value["cpu"] for key, value in result["medians"].items()}
        cold, warm = m["ruff cold"], m["ruff warm"]
        read, oracle = m["read every file"], m["read every file, ast.parse the files with findings"]
        lines.append(
            f"| {lint_speed.CORPORA[name].label} ({result['files']:,}; {result['files_with_findings']}) "
            f"| {cold:.3f} s | {warm:.3f} s "
            f"| {m['interpreter']:.3f} s ({m['interpreter'] / warm:.1f}× warm) "
            f"| {m['interpreter + click']:.3f} s ({m['interpreter + click'] / warm:.1f}× warm) "
            f"| {read:.3f} s ({read / cold:.1f}× cold) | {oracle:.3f} s ({oracle / cold:.1f}× cold) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=sorted(lint_speed.CORPORA))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=lint_speed.default_work())
    parser.add_argument("--downloads", type=Path, default=lint_speed.default_downloads())
    parser.add_argument("--results", type=Path, default=lint_speed.HERE / "results")
    args = parser.parse_args()
    work = args.work.resolve()
    ruff = lint_speed.ruff_executable(work)
    python = str(lint_speed.installed_python(work))
    results = {}
    for name in args.corpus or list(lint_speed.CORPORA):
        corpus = lint_speed.CORPORA[name]
        results[name] = bench(corpus, lint_speed.prepare(corpus, args.downloads.resolve(), work), work, ruff,
                              python, args.rounds)
    command = " ".join(["python benchmarks/floor.py", *sys.argv[1:]])
    text = f"`{command}`\n\n"
    text += report(results, args.rounds)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "floor.md").write_text(text)
    (args.results / "floor.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
