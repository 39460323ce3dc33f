"""How fast is `devlint check vllm/`? Side-by-side timings against the floor and other linters.

    python benchmarks/lint_speed.py                    # downloads vLLM 0.33.0 and the tools, then times
    python benchmarks/lint_speed.py --rounds 7 --skip torchfix semgrep

What it does, in one run so the ratios are fair on a shared, noisy machine:

1. `pip download --no-deps vllm==0.33.0` and unzip its `.py` files into the work folder (never the repo).
2. Installs each comparison tool into its own virtual environment there: ruff; TorchFix (it pins an older
   LibCST); semgrep (with a one-rule equivalent of DL001's most common shape).
3. Runs every command `--rounds` times, **alternating** between them, and reports medians of wall time and
   CPU time (user + system of the process and its children), the peak resident memory, and ratios.
   Slow, one-off references (parsing every file with LibCST, TorchFix, semgrep) run `--slow-rounds` times.
4. Checks that devlint's findings are identical cold and warm, serial and parallel, with and without the
   prefilter, over the whole tree.

The devlint under test is the one importable by this Python (`pip install .`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE_FILE = "vllm/model_executor/layers/rotary_embedding/deepseek_scaling_rope.py"
SEMGREP_RULE = """\
rules:
  - id: platform-device-factory
    message: tensor factory on the platform device
    languages: [python]
    severity: ERROR
    pattern-either:
      - pattern: torch.$F(..., device=current_platform.device_type, ...)
      - pattern: torch.$F(..., device="cuda", ...)
"""
PARSE_ALL = """\
import sys, pathlib
kind, root = sys.argv[1], pathlib.Path(sys.argv[2])
if kind == "ast":
    import ast
    parse = ast.parse
else:
    import libcst
    parse = libcst.parse_module
for path in sorted(root.rglob("*.py")):
    try:
        parse(path.read_text(encoding="utf-8"))
    except Exception:
        pass
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_tree(work: Path, version: str) -> Path:
    tree = work / f"vllm-{version}"
    if (tree / "vllm").is_dir():
        return tree
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob(f"vllm-{version}-*.whl")):
        log(f"downloading vllm=={version} ...")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"vllm=={version}", "-d",
                        str(wheels)], check=True)
    [wheel] = wheels.glob(f"vllm-{version}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("vllm/") and name.endswith(".py"):
                archive.extract(name, tree)
    return tree


def tool(work: Path, name: str, package: str) -> Path:
    venv = work / f"venv-{name}"
    executable = venv / "bin" / name
    if not executable.exists():
        log(f"installing {package} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=True)
    return executable


def measure(command: list[str], cwd: Path, timeout: float) -> dict:
    """Wall and CPU seconds and peak RSS (MiB) of one run, from the child's own rusage."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:
        process.kill()
        raise
    wall = time.perf_counter() - start
    if wall > timeout:
        log(f"  (took {wall:.0f}s, over the {timeout:.0f}s budget)")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "status": os.waitstatus_to_exitcode(status)}


def devlint_findings(args: list[str], cwd: Path) -> list:
    done = subprocess.run([sys.executable, "-m", "devlint", "check", "--output-format", "json", "--exit-zero", *args],
                          cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "devlint-bench")
    parser.add_argument("--vllm-version", default="0.33.0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slow-rounds", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], choices=["torchfix", "semgrep", "libcst-parse"])
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()

    work = args.work.resolve()
    tree = prepare_tree(work, args.vllm_version)
    files = sum(1 for _ in (tree / "vllm").rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in (tree / "vllm").rglob("*.py"))
    ruff = tool(work, "ruff", "ruff")
    cache_dir, ruff_cache = work / "devlint-cache", work / "ruff-cache"
    (work / "parse_all.py").write_text(PARSE_ALL)
    devlint = [sys.executable, "-m", "devlint", "check", "--exit-zero"]
    ruff_check = [str(ruff), "check", "--select", "E9,F63,F7,F82", "--exit-zero", "-q"]

    fast = {
        "devlint cold (no cache)": devlint + ["--no-cache", "vllm"],
        "devlint warm (cache)": devlint + ["--cache-dir", str(cache_dir), "vllm"],
        "devlint one file": devlint + ["--no-cache", ONE_FILE],
        "python -c 'import libcst'": [sys.executable, "-c", "import libcst"],
        "ruff E9,F63,F7,F82 cold": ruff_check + ["--no-cache", "vllm"],
        "ruff E9,F63,F7,F82 warm": ruff_check + ["--cache-dir", str(ruff_cache), "vllm"],
        "ast.parse every file (1 process)": [sys.executable, str(work / "parse_all.py"), "ast", "vllm"],
    }
    slow: dict[str, list[str]] = {}
    if "libcst-parse" not in args.skip:
        slow["libcst.parse_module every file (1 process)"] = [sys.executable, str(work / "parse_all.py"), "libcst", "vllm"]
    if "torchfix" not in args.skip:
        slow["TorchFix (all rules)"] = [str(tool(work, "torchfix", "torchfix")), "vllm"]
    if "semgrep" not in args.skip:
        rule = work / "semgrep-rule.yaml"
        rule.write_text(SEMGREP_RULE)
        slow["semgrep (one rule)"] = [str(tool(work, "semgrep", "semgrep")), "scan", "--config", str(rule),
                                      "--metrics=off", "--quiet", "--disable-version-check", "-j", str(os.cpu_count() or 1),
                                      "vllm"]

    log("priming caches ...")
    measure(fast["devlint warm (cache)"], tree, 600)
    measure(fast["ruff E9,F63,F7,F82 warm"], tree, 600)
    samples: dict[str, list[dict]] = {name: [] for name in [*fast, *slow]}
    for round_number in range(args.rounds):
        log(f"round {round_number + 1}/{args.rounds}")
        for name, command in fast.items():
            samples[name].append(measure(command, tree, 600))
    for _ in range(args.slow_rounds):
        for name, command in slow.items():
            log(f"{name} ...")
            samples[name].append(measure(command, tree, 1800))

    log("checking that speed changes no result ...")
    reference = devlint_findings(["--no-cache", "-j", "1", "vllm"], tree)
    variants = {
        "parallel": devlint_findings(["--no-cache", "vllm"], tree),
        "warm cache": devlint_findings(["--cache-dir", str(cache_dir), "vllm"], tree),
        "no prefilter": devlint_findings(["--no-cache", "--no-prefilter", "vllm"], tree),
    }
    identical = {name: found == reference for name, found in variants.items()}

    medians = {name: {key: statistics.median(s[key] for s in runs) for key in ("wall", "cpu", "rss")}
               for name, runs in samples.items() if runs}
    ruff_cold, ruff_warm = medians["ruff E9,F63,F7,F82 cold"], medians["ruff E9,F63,F7,F82 warm"]
    print(f"vLLM {args.vllm_version}: {files} files, {lines:,} lines; {os.cpu_count()} cores; "
          f"{args.rounds} alternating rounds (slow tools: {args.slow_rounds}); medians\n")
    print("| command | wall (s) | CPU (s) | peak RSS (MiB) | wall vs ruff cold | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in medians.items():
        print(f"| {name} | {m['wall']:.3f} | {m['cpu']:.2f} | {m['rss']:.0f} | {m['wall'] / ruff_cold['wall']:.1f}x "
              f"| {len(samples[name])} |")
    cold, warm, one = medians["devlint cold (no cache)"], medians["devlint warm (cache)"], medians["devlint one file"]
    libcst_import = medians["python -c 'import libcst'"]
    print("\n| target | measured | met |")
    print("|---|---|---|")
    targets = [
        ("cold <= 3x ruff cold (wall)", cold["wall"] / ruff_cold["wall"], 3),
        ("warm <= 5x ruff warm (wall)", warm["wall"] / ruff_warm["wall"], 5),
        ("one file <= 3x `import libcst`", one["wall"] / libcst_import["wall"], 3),
    ]
    for label, ratio, limit in targets:
        print(f"| {label} | {ratio:.1f}x | {'yes' if ratio <= limit else 'no'} |")
    peak = max(m["rss"] for name, m in medians.items() if name.startswith("devlint"))
    print(f"| peak memory <= 500 MiB (largest devlint process) | {peak:.0f} MiB | {'yes' if peak <= 500 else 'no'} |")
    print("\nidentical findings (" + str(len(reference)) + " on the tree): " +
          ", ".join(f"{name}: {'yes' if same else 'NO'}" for name, same in identical.items()))
    if args.json:
        args.json.write_text(json.dumps({"samples": samples, "medians": medians, "identical": identical}, indent=2))
    if not all(identical.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
