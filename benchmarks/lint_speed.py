"""How fast is devlint on whole repositories? Side-by-side timings against ruff, on four real corpora.

    python benchmarks/lint_speed.py                          # all four corpora, 5 alternating rounds
    python benchmarks/lint_speed.py --corpus vllm diffusers --rounds 7
    python benchmarks/lint_speed.py --quick                  # 1 round, vLLM only, no slow checks

What it does, in one run so the ratios are fair on a shared, noisy machine:

1. Fetches each corpus with `pip download --no-deps` into `--downloads` (a cache outside the repository,
   reused when the file is already there) and unpacks its `.py` files under `--work`:
   vLLM 0.33.0 `vllm/`, SGLang 0.5.23 `sglang/srt/`, diffusers 0.42.0 `diffusers/` (wheels) and DeepSpeed
   0.19.8 `deepspeed/` (its sdist). Installs ruff 0.17 into its own virtual environment there.
2. Per corpus, runs every command `--rounds` times, **alternating** between them, and reports medians of
   wall time and CPU time (user + system of the process and its workers), the peak resident memory (the
   largest single process), and ratios:
   devlint cold (`--no-cache`) and warm (a primed cache) against ruff cold and warm
   (`check --isolated --select E9,F63,F7,F82`); one file with findings and one file no rule can apply to
   (which must not import LibCST at all) against `python -c "import libcst"`; `--diff --unsafe-fixes`
   (every fix computed to a fixed point, nothing written) against a check of the same files (those with
   findings). For vLLM also a cold run over two copies of the tree (cost linear in the candidate text:
   files per second should not drop), and `ast.parse` of every file in one process (the floor of any
   linter built on a Python parser).
3. Checks that the full JSON findings are identical cold and warm, with `-j1` and `-j2`, and with the
   prefilter on and off (`--no-prefilter`: every file parsed whole), on every corpus.

Results go to `--results` (default `benchmarks/results/`): `lint_speed.md` (what is printed) and
`lint_speed.json` (every sample); `--quick` writes `lint_speed_quick.*` instead. Exit status 1 when a speed
switch changed a finding.

The devlint under test is this checkout **installed from a wheel**, as users install it (`--devlint wheel`,
the default): the wheel is built afresh (`pip wheel --no-build-isolation`) and installed into its own
virtual environment, `--work`/venv-devlint, whose other packages (LibCST, click) are this Python's, so
`import libcst` is timed with the same LibCST. An editable install (`pip install -e .`, what a developer of
devlint has) pays its import hook at every start (5-10 ms here) and is no user's case; `--devlint
environment` times the devlint importable by this Python instead (how results before this option were
measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
RUFF = "ruff>=0.17,<0.18"
RUFF_SELECT = ["check", "--isolated", "--select", "E9,F63,F7,F82", "--exit-zero", "-q"]
PROBE_NO_RULE = """\
import runpy, sys
sys.argv = ["devlint", "check", "--no-cache", "--exit-zero", sys.argv[1]]
try:
    runpy.run_module("devlint", run_name="__main__")
except SystemExit:
    pass
print("libcst" in sys.modules)
"""
PARSE_ALL = """\
import ast, pathlib, sys, warnings
warnings.simplefilter("ignore")
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    try:
        ast.parse(path.read_bytes())
    except Exception:
        pass
"""


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    version: str
    root: str  # the folder linted, relative to the unpacked distribution
    sdist: bool = False
    one_file: str | None = None  # a file with findings for the one-file (pre-commit) case; else the median

    @property
    def label(self) -> str:
        return f"{self.package} {self.version} `{self.root}/`"


CORPORA = {
    "vllm": Corpus("vllm", "vllm", "0.33.0", "vllm",
                   one_file="vllm/model_executor/layers/rotary_embedding/deepseek_scaling_rope.py"),
    "sglang": Corpus("sglang", "sglang", "0.5.23", "sglang/srt"),
    "diffusers": Corpus("diffusers", "diffusers", "0.42.0", "diffusers"),
    "deepspeed": Corpus("deepspeed", "deepspeed", "0.19.8", "deepspeed", sdist=True),
}


def default_work() -> Path:
    return Path(tempfile.gettempdir()) / "devlint-bench"


def default_downloads() -> Path:
    return Path(os.environ.get("DEVLINT_BENCH_DOWNLOADS", Path.home() / ".cache" / "devlint-bench"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def download(corpus: Corpus, downloads: Path) -> Path:
    """The wheel or sdist of `corpus` in `downloads`, fetched with pip unless already there."""
    stem = f"{corpus.package}-{corpus.version}"
    pattern = f"{stem}.tar.gz" if corpus.sdist else f"{stem}-*.whl"
    found = sorted(downloads.glob(pattern))
    if not found:
        downloads.mkdir(parents=True, exist_ok=True)
        log(f"downloading {corpus.package}=={corpus.version} into {downloads} ...")
        kind = ["--no-binary", ":all:"] if corpus.sdist else ["--only-binary", ":all:"]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *kind,
                        f"{corpus.package}=={corpus.version}", "-d", str(downloads)], check=True)
        found = sorted(downloads.glob(pattern))
    if not found:
        sys.exit(f"pip did not leave {pattern} in {downloads}")
    return found[0]


def prepare(corpus: Corpus, downloads: Path, work: Path) -> Path:
    """The unpacked corpus: `work/corpora/<package>-<version>/` holding `corpus.root`, fetched if missing."""
    tree = work / "corpora" / f"{corpus.package}-{corpus.version}"
    return tree if (tree / corpus.root).is_dir() else unpack(corpus, download(corpus, downloads), tree)


def unpack(corpus: Corpus, archive: Path, tree: Path) -> Path:
    """The `.py` files of `corpus.root` from `archive`, under `tree`."""
    partial = tree.with_name(tree.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    prefix = corpus.root + "/"
    if corpus.sdist:
        with tarfile.open(archive) as bundle:
            for member in bundle.getmembers():
                inner = member.name.split("/", 1)[-1]
                if member.isfile() and inner.startswith(prefix) and inner.endswith(".py"):
                    target = partial / inner
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with bundle.extractfile(member) as source:  # type: ignore[union-attr]
                        target.write_bytes(source.read())
    else:
        with zipfile.ZipFile(archive) as bundle:
            for name in bundle.namelist():
                if name.startswith(prefix) and name.endswith(".py"):
                    bundle.extract(name, partial)
    partial.rename(tree)
    return tree


def doubled(tree: Path, corpus: Corpus, work: Path) -> Path:
    """Two copies of the corpus side by side (`a/<root>`, `b/<root>`): twice the text to check."""
    target = work / "corpora" / f"{corpus.package}-{corpus.version}-x2"
    if not target.is_dir():
        for copy in ("a", "b"):
            shutil.copytree(tree / corpus.root, target / copy / corpus.root)
    return target


def ruff_executable(work: Path) -> Path:
    venv = work / "venv-ruff"
    executable = venv / "bin" / "ruff"
    if not executable.exists():
        log(f"installing {RUFF} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", RUFF], check=True)
    return executable


def installed_python(work: Path) -> Path:
    """The Python of a virtual environment holding this checkout as a user has it: built into a wheel and
    installed (its modules byte-compiled, no editable-install import hook). Its other packages are found in
    this Python's site-packages (a `.pth` file), so nothing is downloaded and LibCST is the same one."""
    import sysconfig

    venv, wheels = work / "venv-devlint", work / "wheel"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    source = work / "devlint-source"  # a fresh copy: a `build/` folder left in the checkout may hold old modules
    for folder in (source, wheels):
        shutil.rmtree(folder, ignore_errors=True)
    for package in ("devlint", "reference_impl"):
        shutil.copytree(CHECKOUT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, source / name)
    log("building and installing a wheel of this checkout ...")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(source)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                    *map(str, wheels.glob("devlint-*.whl"))], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (Path(site) / "devlint_bench_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return python


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Wall and CPU seconds and peak RSS (MiB, the largest process) of one run, from the child's rusage."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:
        process.kill()
        raise
    wall = time.perf_counter() - start
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    process.stderr and process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(command)} exited {code}:\n{error[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def devlint_json(devlint: list[str], args: list[str], cwd: Path) -> list:
    done = subprocess.run([*devlint, "--output-format", "json", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"devlint {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def no_rule_file(tree: Path, corpus: Corpus) -> str:
    """A mid-sized file of the corpus without any platform-device token: no rule can apply to it."""
    from devlint.analysis.platform import DEFAULT_TABLE  # the tokens of the devlint under test

    tokens = DEFAULT_TABLE.prefilter_tokens
    candidates = sorted((p.stat().st_size, str(p.relative_to(tree))) for p in python_files(tree / corpus.root)
                        if not any(t in p.read_text(encoding="utf-8", errors="replace") for t in tokens))
    return candidates[len(candidates) // 2][1]


def medians(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu", "rss")}


def bench_corpus(corpus: Corpus, tree: Path, work: Path, ruff: Path, args: argparse.Namespace) -> dict:
    root = corpus.root
    files = python_files(tree / root)
    size = sum(p.stat().st_size for p in files)
    python = str(args.python)
    devlint = [python, "-m", "devlint", "check", "--exit-zero", *(["-j", str(args.jobs)] if args.jobs else [])]
    cache_dir = work / "cache" / f"devlint-{corpus.name}"
    ruff_cache = work / "cache" / f"ruff-{corpus.name}"
    shutil.rmtree(cache_dir, ignore_errors=True)

    log(f"[{corpus.name}] identity checks (full JSON findings) ...")
    reference = devlint_json(devlint, ["--no-cache", "-j", "1", root], tree)
    variants = {
        "-j2": ["--no-cache", "-j", "2", root],
        "cache, first run": ["--cache-dir", str(cache_dir), root],
        "cache, warm": ["--cache-dir", str(cache_dir), root],
    }
    if not args.quick:
        variants["prefilter off"] = ["--no-cache", "--no-prefilter", root]
    identical = {name: devlint_json(devlint, extra, tree) == reference for name, extra in variants.items()}
    with_findings = sorted({finding["filename"] for finding in reference})
    by_size = sorted(with_findings, key=lambda name: (tree / name).stat().st_size)
    one_file = corpus.one_file if corpus.one_file in with_findings else (
        by_size[len(by_size) // 2] if by_size else None)  # a typical file with findings, as pre-commit sees
    untouched = no_rule_file(tree, corpus)
    probe = work / "probe_no_rule.py"
    probe.write_text(PROBE_NO_RULE)
    imports_libcst = subprocess.run([python, str(probe), untouched], cwd=tree, capture_output=True,
                                    text=True, check=True).stdout.strip().splitlines()[-1] == "True"

    commands = {
        "devlint cold": [*devlint, "--no-cache", root],
        "devlint warm": [*devlint, "--cache-dir", str(cache_dir), root],
        "ruff cold": [str(ruff), *RUFF_SELECT, "--no-cache", root],
        "ruff warm": [str(ruff), *RUFF_SELECT, "--cache-dir", str(ruff_cache), root],
        "devlint one file, no rule applies": [*devlint, "--no-cache", untouched],
        "python -c 'import libcst'": [python, "-c", "import libcst"],
    }
    if one_file:
        commands["devlint one file with findings"] = [*devlint, "--no-cache", one_file]
        commands["devlint check, files with findings"] = [*devlint, "--no-cache", *with_findings]
        commands["devlint --diff, same files"] = [*devlint, "--no-cache", "--diff", "--unsafe-fixes", *with_findings]
    twice: Path | None = None
    if corpus.name == "vllm" and not args.quick:
        twice = doubled(tree, corpus, work)
        commands["devlint cold, two copies"] = [*devlint, "--no-cache", "a", "b"]
    slow = {}
    if not args.quick:
        (work / "parse_all.py").write_text(PARSE_ALL)
        slow["ast.parse every file (1 process)"] = [sys.executable, str(work / "parse_all.py"), root]

    environments: dict[str, dict[str, str]] = {}
    if args.compare_with:  # the same devlint commands with another checkout first on the path, alternating too
        path = os.pathsep.join(filter(None, [str(args.compare_with.resolve()), os.environ.get("PYTHONPATH")]))
        other = dict(os.environ, PYTHONPATH=path)
        other_cache = work / "cache" / f"devlint-{corpus.name}-compared"
        shutil.rmtree(other_cache, ignore_errors=True)
        for name in [n for n in commands if n.startswith("devlint")]:
            command = [str(other_cache) if part == str(cache_dir) else part for part in commands[name]]
            commands["compared " + name], environments["compared " + name] = command, other
        measure(commands["compared devlint warm"], tree, other)  # prime its cache
    measure(commands["ruff warm"], tree)  # prime ruff's cache (devlint's is primed by the identity checks)
    samples: dict[str, list[dict]] = {name: [] for name in [*commands, *slow]}
    for round_number in range(args.rounds):
        log(f"[{corpus.name}] round {round_number + 1}/{args.rounds}")
        for name, command in commands.items():
            where = twice if name.endswith("two copies") and twice else tree
            samples[name].append(measure(command, where, environments.get(name)))
    for name, command in slow.items():
        log(f"[{corpus.name}] {name} ...")
        samples[name].append(measure(command, tree))
    return {
        "corpus": corpus.label, "files": len(files), "bytes": size,
        "lines": sum(p.read_bytes().count(b"\n") for p in files), "findings": len(reference),
        "files_with_findings": len(with_findings), "one_file": one_file, "no_rule_file": untouched,
        "no_rule_file_imports_libcst": imports_libcst, "identical": identical,
        "samples": samples, "medians": {name: medians(runs) for name, runs in samples.items() if runs},
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def report(results: dict[str, dict], args: argparse.Namespace, ruff_version: str) -> str:
    workers = f"devlint -j {args.jobs}" if args.jobs else "devlint with its default worker count (one per core)"
    installed = ("devlint installed from a wheel of this checkout" if args.devlint == "wheel"
                 else f"devlint as importable by {sys.executable}")
    out = [f"{os.cpu_count()} cores; {args.rounds} alternating rounds per corpus, medians; {ruff_version}; {workers}; "
           f"{installed}", ""]
    out += ["| corpus | files | devlint cold wall / CPU | ruff cold wall / CPU | cold ratio (wall, CPU) "
            "| devlint warm | ruff warm | warm ratio | peak RSS | findings | identical (j2, cache, prefilter off) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for result in results.values():
        m = result["medians"]
        cold, rcold, warm, rwarm = m["devlint cold"], m["ruff cold"], m["devlint warm"], m["ruff warm"]
        rss = max(v["rss"] for k, v in m.items() if k.startswith("devlint"))
        same = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in result["identical"].items())
        out.append(f"| {result['corpus']} | {result['files']} | {cold['wall']:.2f} s / {cold['cpu']:.1f} s "
                   f"| {rcold['wall']:.2f} s / {rcold['cpu']:.2f} s | {ratio(cold['wall'], rcold['wall'])}, "
                   f"{ratio(cold['cpu'], rcold['cpu'])} | {warm['wall']:.3f} s | {rwarm['wall']:.3f} s "
                   f"| {ratio(warm['wall'], rwarm['wall'])} | {rss:.0f} MiB | {result['findings']} | {same} |")
    out += ["", "| corpus | one file with findings vs `import libcst` | one file no rule applies (LibCST imported?) "
            "| `--diff` vs check, files with findings | files per CPU-second, cold |", "|---|---:|---:|---:|---:|"]
    for result in results.values():
        m = result["medians"]
        libcst = m["python -c 'import libcst'"]
        one = m.get("devlint one file with findings")
        diff, check = m.get("devlint --diff, same files"), m.get("devlint check, files with findings")
        rate = f"{result['files'] / m['devlint cold']['cpu']:.0f}"
        if "devlint cold, two copies" in m:
            rate += f" (two copies: {2 * result['files'] / m['devlint cold, two copies']['cpu']:.0f})"
        none = m["devlint one file, no rule applies"]
        one_text = f"{one['wall']:.3f} s, {ratio(one['wall'], libcst['wall'])}" if one else "n/a"
        diff_text = (f"{diff['wall']:.2f} s vs {check['wall']:.2f} s, {ratio(diff['wall'], check['wall'])}"
                     if diff and check else "n/a")
        imported = "yes" if result["no_rule_file_imports_libcst"] else "no"
        out.append(f"| {result['corpus']} | {one_text} | {none['wall']:.3f} s ({imported}) | {diff_text} | {rate} |")
    if args.compare_with:
        out += ["", f"Side by side with `{args.compare_with}` (\"compared\"), same rounds:", "",
                "| corpus | compared cold wall / CPU | devlint cold wall / CPU | cold vs ruff: compared → devlint "
                "| compared warm | devlint warm | one file with findings: compared → devlint |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for result in results.values():
            m = result["medians"]
            old, new, rcold = m["compared devlint cold"], m["devlint cold"], m["ruff cold"]
            one_old, one_new = m.get("compared devlint one file with findings"), m.get("devlint one file with findings")
            one_text = f"{one_old['wall']:.3f} s → {one_new['wall']:.3f} s" if one_old and one_new else "n/a"
            out.append(f"| {result['corpus']} | {old['wall']:.2f} s / {old['cpu']:.1f} s | {new['wall']:.2f} s / "
                       f"{new['cpu']:.1f} s | {ratio(old['wall'], rcold['wall'])} → {ratio(new['wall'], rcold['wall'])} "
                       f"(CPU {ratio(old['cpu'], rcold['cpu'])} → {ratio(new['cpu'], rcold['cpu'])}) "
                       f"| {m['compared devlint warm']['wall']:.3f} s | {m['devlint warm']['wall']:.3f} s | {one_text} |")
    out += ["", "All commands, medians:", "",
            "| corpus | command | wall (s) | CPU (s) | peak RSS (MiB) | runs |", "|---|---|---:|---:|---:|---:|"]
    for name, result in results.items():
        for command, m in result["medians"].items():
            out.append(f"| {name} | {command} | {m['wall']:.3f} | {m['cpu']:.2f} | {m['rss']:.0f} "
                       f"| {len(result['samples'][command])} |")
    out += ["", "Files: " + "; ".join(f"{name}: {r['files']} files, {r['lines']:,} lines, {r['bytes'] / 1e6:.1f} MB, "
                                      f"one file `{r['one_file']}`, no-rule file `{r['no_rule_file']}`"
                                      for name, r in results.items())]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), help="default: all four (vllm with --quick)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="one round, vLLM unless --corpus says otherwise, no prefilter-off identity check, "
                             "no two-copies or ast.parse runs")
    parser.add_argument("--work", type=Path, default=default_work(), help="unpacked corpora, caches, ruff")
    parser.add_argument("--downloads", type=Path, default=default_downloads(),
                        help="wheels and sdists (default: $DEVLINT_BENCH_DOWNLOADS or ~/.cache/devlint-bench)")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--jobs", type=int, help="devlint's -j for every timed run (default: its own, one per core)")
    parser.add_argument("--devlint", choices=["wheel", "environment"], default="wheel",
                        help="wheel (default): this checkout built and installed into its own virtual environment, as "
                             "users run it; environment: the devlint this Python imports (an editable install pays "
                             "its import hook at every start)")
    parser.add_argument("--compare-with", type=Path, metavar="DIR",
                        help="also time every devlint command with the devlint package found in DIR (e.g. an "
                             "unpacked older commit: `git archive REV devlint | tar -x -C DIR`), alternating")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1 if "--rounds" not in sys.argv else args.rounds
    names = args.corpus or (["vllm"] if args.quick else list(CORPORA))

    work = args.work.resolve()
    args.python = installed_python(work) if args.devlint == "wheel" else Path(sys.executable)
    ruff = ruff_executable(work)
    ruff_version = subprocess.run([str(ruff), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    results = {}
    for name in names:
        corpus = CORPORA[name]
        tree = prepare(corpus, args.downloads.resolve(), work)
        results[name] = bench_corpus(corpus, tree, work, ruff, args)
    text = report(results, args, ruff_version)
    command = "python benchmarks/lint_speed.py " + " ".join(sys.argv[1:])
    text = f"`{command.strip()}`\n\n" + text
    print(text)
    stem = "lint_speed_quick" if args.quick else "lint_speed"
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{stem}.md").write_text(text)
    (args.results / f"{stem}.json").write_text(json.dumps(results, indent=1))
    if not all(all(r["identical"].values()) for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
