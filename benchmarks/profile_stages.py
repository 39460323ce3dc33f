"""Where a cold run's CPU goes, by stage: one process (`-j1`), no cache, every stage timed in CPU seconds.

    python benchmarks/profile_stages.py                      # vLLM and diffusers
    python benchmarks/profile_stages.py --corpus deepspeed --runs 3
    PYTHONPATH=/path/to/other/devlint python benchmarks/profile_stages.py   # profile another checkout

The corpora are those of `lint_speed.py` (same download cache and work folder). Each stage is a function of
the pipeline wrapped with a CPU-time counter (cheap next to the work it measures, unlike a tracing
profiler); a stage absent from the devlint under test shows no time. Stages nest as shown by indentation;
"rest" is what no stage covers (the pipeline itself, configuration, results). The collector is set as
the `devlint` command sets it (`devlint.cli.run`), where the checkout has that. The median run of `--runs`
is shown. Results go to `--results` as `profile_<corpus>.txt` unless `--name` says otherwise.
"""

from __future__ import annotations

import argparse
import collections
import gc
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lint_speed  # noqa: E402  (same folder: the corpora and where they live)

# (label, module, attribute, depth): depth 1 stages nest in the depth 0 stage above them. A label may
# name two functions (one checkout has the one, another the other).
STAGES = [
    ("discovery and settings", "devlint.api", "discover", 0),
    ("read and decode", "devlint.engine", "read_source", 0),
    ("token test (every file)", "devlint.engine", "might_hold_finding", 0),
    ("imported device names (every file of a package)", "devlint.engine", "imported_device_names", 0),
    ("string/comment scan (files with a token)", "devlint.engine", "code_mentions", 0),
    ("CPython parse", "devlint.prefilter", "quiet_parse", 0),
    ("nesting guard", "devlint.prefilter", "_depth_and_place", 0),
    ("device placement (ast: which token occurrences can be a device)", "devlint.engine", "device_mentions", 0),
    ("statement reduction", "devlint.engine", "reduce_source", 0),
    ("statement reduction", "devlint.engine", "relevant_source", 0),  # before the candidate test
    ("candidate test (ast: can a device slot read a platform value)", "devlint.prefilter", "_Candidates.any_in", 1),
    ("LibCST parse", "libcst", "parse_module", 0),
    ("facts (module analysis)", "devlint.analysis", "analyse_module", 0),
    ("rules", None, "check", 0),
    ("positions (LibCST code generation)", "devlint.analysis.positions", "NodePositions.range_of", 1),
    ("fix clean-up (unused names a fix leaves)", "devlint.fixes.cleanup", "with_cleanup", 0),
    ("suppression comments", "devlint.engine", "read_directives", 0),
    ("suppression hint (every file)", "devlint.engine", "may_hold_devlint_directive", 0),
]


def instrument(spent: collections.Counter, calls: collections.Counter) -> None:
    from devlint.rules import ALL_RULES

    def wrap(owner, name: str, label: str) -> None:
        function = getattr(owner, name, None)
        if function is None:
            return

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - start
                calls[label] += 1

        setattr(owner, name, timed)

    for label, module, attribute, _ in STAGES:
        if module is None:
            for rule in ALL_RULES:
                wrap(rule, attribute, label)
            continue
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part, None)  # a class absent from the devlint under test: no time
        if owner is not None:
            wrap(owner, name, label)


def profile_once(root: str) -> tuple[float, float, dict, dict, int, int]:
    spent: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    instrument(spent, calls)
    from devlint import api, cli

    # The garbage collector as the `devlint` command sets it for its process (`cli.run`), where the
    # checkout under test does; a library caller keeps Python's default.
    threshold = getattr(cli, "START_UP_OBJECTS", None)
    if threshold is not None:
        gc.set_threshold(threshold)

    start_wall, start_cpu = time.perf_counter(), time.process_time()
    run = api.lint_paths([root], jobs=1)
    return (time.perf_counter() - start_wall, time.process_time() - start_cpu, dict(spent), dict(calls),
            len(run.files), len(run.diagnostics))


def render(name: str, runs: list[tuple], label: str) -> str:
    cpus = [run[1] for run in runs]
    wall, cpu, spent, calls, files, findings = sorted(runs, key=lambda run: run[1])[len(runs) // 2]
    import devlint

    out = [f"{label}: {files} files, {findings} findings; one process, cold; CPU {cpu:.2f} s "
           f"(wall {wall:.2f} s; runs: {', '.join(f'{c:.2f}' for c in cpus)}); devlint from "
           f"{Path(devlint.__file__).parent}", "",
           "| stage | CPU (s) | share | calls |", "|---|---:|---:|---:|"]
    covered = 0.0
    shown: set[str] = set()
    for stage, _, _, depth in STAGES:
        if stage in shown:
            continue  # one stage timed under either of two names (old and new checkouts)
        shown.add(stage)
        seconds = spent.get(stage, 0.0)
        if depth == 0:
            covered += seconds
        indent = "&nbsp;&nbsp;of which " if depth else ""
        out.append(f"| {indent}{stage} | {seconds:.2f} | {100 * seconds / cpu:.0f}% | {calls.get(stage, 0)} |")
    out.append(f"| rest (pipeline, configuration, results) | {cpu - covered:.2f} | {100 * (cpu - covered) / cpu:.0f}% | |")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=sorted(lint_speed.CORPORA), default=["vllm", "diffusers"])
    parser.add_argument("--runs", type=int, default=1, help="separate processes per corpus; the median is shown")
    parser.add_argument("--work", type=Path, default=lint_speed.default_work())
    parser.add_argument("--downloads", type=Path, default=lint_speed.default_downloads())
    parser.add_argument("--results", type=Path, default=lint_speed.HERE / "results")
    parser.add_argument("--name", default="", help="suffix of the result files (e.g. `_before`)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: profile this corpus in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(profile_once(args.one)))
        return
    args.results.mkdir(parents=True, exist_ok=True)
    for name in args.corpus:
        corpus = lint_speed.CORPORA[name]
        tree = lint_speed.prepare(corpus, args.downloads.resolve(), args.work.resolve())
        runs = []
        for _ in range(args.runs):
            done = subprocess.run([sys.executable, __file__, "--one", corpus.root], cwd=tree, capture_output=True,
                                  text=True, check=True)
            runs.append(tuple(json.loads(done.stdout.strip().splitlines()[-1])))
        text = render(name, runs, corpus.label)
        print(text)
        (args.results / f"profile_{name}{args.name}.txt").write_text(text)


if __name__ == "__main__":
    main()
