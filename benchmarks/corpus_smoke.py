"""Real corpora end to end: lint every file without a traceback, fix a copy, and check what the fixes did.

    python benchmarks/corpus_smoke.py            # vLLM 0.33.0, SGLang 0.5.23, transformers 5.23.0

For each wheel (`pip download --no-deps`, `.py` files unzipped into the work folder, never the repo):

1. `devlint check` the package: count files, findings per rule and unreadable/unparsable files; fail on any
   internal error (E001) or traceback. For vLLM, check the canonical case too: 0.22.1's
   `deepseek_scaling_rope.py` line 254 is DL001 with the fix `inv_freq.device` (what PR #43926 merged), and
   0.33.0's copy of that file has no DL001.
2. On a fresh copy, `devlint check --fix --unsafe-fixes`: every changed file must still compile, and a
   second `--fix --unsafe-fixes` run must change nothing (a fixed point).

Exit status 0 only if every check holds. `tests/test_corpus_smoke.py` (marked slow) runs this script.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

CORPORA = {  # name: (requirement, package folder inside the wheel)
    "vllm": ("vllm==0.33.0", "vllm"),
    "vllm-0.22.1": ("vllm==0.22.1", "vllm"),
    "sglang": ("sglang==0.5.23", "sglang/srt"),
    "transformers": ("transformers==5.23.0", "transformers"),
}

CANONICAL_FILE = "vllm/model_executor/layers/rotary_embedding/deepseek_scaling_rope.py"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def unpack(work: Path, name: str, requirement: str) -> Path:
    tree = work / "corpus" / name
    if tree.is_dir():
        return tree
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    project, version = requirement.split("==")
    if not list(wheels.glob(f"{project}-{version}-*.whl")):
        log(f"downloading {requirement} ...")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", requirement, "-d", str(wheels)],
                       check=True)
    [wheel] = wheels.glob(f"{project}-{version}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith(".py"):
                archive.extract(member, tree)
    return tree


def devlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devlint", "check", "--no-cache", "--exit-zero", *args], cwd=cwd,
                          capture_output=True, text=True)


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*.py")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "devlint-bench")
    parser.add_argument("--only", nargs="*", choices=list(CORPORA), default=list(CORPORA))
    args = parser.parse_args()
    failures: list[str] = []
    print("| corpus | files | findings (by rule) | E902 / E999 | lines edited by fixes (+/-) | files changed | "
          "compile failures | fixed point |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for name in args.only:
        requirement, package = CORPORA[name]
        tree = unpack(args.work.resolve(), name, requirement)
        target = tree / package
        files = sum(1 for _ in target.rglob("*.py"))
        linted = devlint("--output-format", "json", package, cwd=tree)
        if "Traceback" in linted.stderr or linted.returncode != 0:
            failures.append(f"{name}: lint run failed: {linted.stderr[-2000:]}")
            continue
        found = json.loads(linted.stdout)
        codes = Counter(item["code"] for item in found)
        if codes.get("E001"):
            failures.append(f"{name}: {codes['E001']} internal errors")
        canonical = [item for item in found if item["filename"].endswith(CANONICAL_FILE) and item["code"] == "DL001"]
        if name == "vllm-0.22.1" and not any(
                item["location"]["row"] == 254 and item["fix"]
                and [e["content"] for e in item["fix"]["edits"]] == ["inv_freq.device"] for item in canonical):
            failures.append(f"{name}: the PR #43926 line was not reported with the fix inv_freq.device: {canonical}")
        if name == "vllm" and canonical:
            failures.append(f"{name}: the fixed deepseek_scaling_rope.py is still reported: {canonical}")
        by_rule = ", ".join(f"{code} {count}" for code, count in sorted(codes.items()) if code.startswith("DL")) or "none"

        copy = args.work.resolve() / "fixcopy" / name
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(tree, copy)
        before = snapshot(copy / package)
        fixing = devlint("--fix", "--unsafe-fixes", "--statistics", package, cwd=copy)
        if "Traceback" in fixing.stderr:
            failures.append(f"{name}: fix run crashed: {fixing.stderr[-2000:]}")
        after = snapshot(copy / package)
        changed = [p for p in after if after[p] != before.get(p)]
        broken = []
        for path in changed:
            try:
                compile(after[path], str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                broken.append(f"{path}: {exc}")
        edited = sum(1 for p in changed for line in difflib.unified_diff(
            before[p].decode("utf-8", "replace").splitlines(), after[p].decode("utf-8", "replace").splitlines(),
            lineterm="", n=0) if line[:1] in "+-" and not line.startswith(("+++", "---")))
        second = devlint("--diff", "--unsafe-fixes", package, cwd=copy)
        fixed_point = second.stdout.strip() == ""
        if broken:
            failures.append(f"{name}: {len(broken)} fixed files no longer compile: {broken[:3]}")
        if not fixed_point:
            failures.append(f"{name}: a second fix run still changes files:\n{second.stdout[:2000]}")
        print(f"| {requirement} (`{package}/`) | {files} | {len(found) - codes['E902'] - codes['E999']} "
              f"({by_rule}) | {codes['E902']} / {codes['E999']} | {edited} | {len(changed)} | {len(broken)} | "
              f"{'yes' if fixed_point else 'NO'} |")
    for failure in failures:
        log("FAIL " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
