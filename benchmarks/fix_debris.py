"""Do devlint's fixes leave debris? ruff's unused-import (F401) and unused-variable (F841) counts on real
corpora, before and after `devlint check --fix --unsafe-fixes` (and undefined names, F821: an import removed
while still used).

    python benchmarks/fix_debris.py --work /tmp/debris [--devlint PATH] [--ruff PATH]

Each corpus is downloaded with `pip download --no-deps` (DeepSpeed as its sdist), unpacked into the work
folder (never the repository), copied, fixed, and counted with `ruff check --select F401,F841
--statistics --no-cache --isolated`. The counts after must not exceed those before. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

# name: (requirement, pip download extra arguments, folder to check inside the unpacked tree, devlint arguments)
DEEPSPEED_HELPERS = ["--platform-device", "deepspeed.accelerator.get_accelerator().current_device_name()",
                     "--platform-device", "deepspeed.accelerator.get_accelerator().device_name()"]
CORPORA = {
    "deepspeed": ("deepspeed==0.19.8", ["--no-binary", ":all:"], "deepspeed-0.19.8/deepspeed", DEEPSPEED_HELPERS),
    "lmdeploy": ("lmdeploy==0.18.0", [], "lmdeploy", []),
    "vllm": ("vllm==0.33.0", [], "vllm", []),
    "sglang": ("sglang==0.5.23", [], "sglang", []),
    "diffusers": ("diffusers==0.42.1", [], "diffusers", []),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def unpack(work: Path, requirement: str, extra: list[str]) -> Path:
    tree = work / "corpus" / requirement
    if tree.is_dir():
        return tree
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    project, version = requirement.split("==")
    found = [p for p in downloads.iterdir() if p.name.lower().startswith(f"{project.lower()}-{version}")]
    if not found:
        log(f"downloading {requirement} ...")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *extra, requirement,
                        "-d", str(downloads)], check=True)
        found = [p for p in downloads.iterdir() if p.name.lower().startswith(f"{project.lower()}-{version}")]
    archive = found[0]
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            for member in wheel.namelist():
                if member.endswith(".py"):
                    wheel.extract(member, tree)
    else:
        with tarfile.open(archive) as sdist:
            sdist.extractall(tree, filter="data")
    return tree


def ruff_counts(ruff: str, folder: Path) -> dict[str, int]:
    done = subprocess.run([ruff, "check", "--isolated", "--no-cache", "--select", "F401,F841,F821",
                           "--output-format", "json", "--exit-zero", str(folder)], capture_output=True, text=True, check=False)
    counts = {"F401": 0, "F841": 0, "F821": 0}
    for item in json.loads(done.stdout or "[]"):
        counts[item["code"]] = counts.get(item["code"], 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--devlint", default="devlint")
    parser.add_argument("--ruff", default="ruff")
    parser.add_argument("--only", nargs="*", default=list(CORPORA))
    args = parser.parse_args()
    rows = []
    grew = False
    for name in args.only:
        requirement, extra, inner, devlint_args = CORPORA[name]
        tree = unpack(args.work, requirement, extra)
        source = tree / inner
        copy = args.work / "fixed" / name
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(source, copy)
        before = ruff_counts(args.ruff, copy)
        done = subprocess.run([args.devlint, "check", "--no-cache", "--fix", "--unsafe-fixes", "--exit-zero",
                               *devlint_args, str(copy)], capture_output=True, text=True, check=False)
        fixed = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        after = ruff_counts(args.ruff, copy)
        grew |= any(after[c] > before[c] for c in before)
        rows.append(f"| {requirement} (`{inner.split('/', 1)[-1] if '/' in inner else inner}/`) | {before['F401']} | "
                    f"{after['F401']} | {before['F841']} | {after['F841']} | {before['F821']} | {after['F821']} | {fixed} |")
    print("| corpus | F401 before | F401 after | F841 before | F841 after | F821 before | F821 after | devlint --fix |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    return 1 if grew else 0


if __name__ == "__main__":
    sys.exit(main())
