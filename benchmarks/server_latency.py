"""How long an editor waits on `devlint server`: start-up, and each answer for one file (wall-clock seconds).

    python benchmarks/server_latency.py                       # examples/dsv4_attention.py
    python benchmarks/server_latency.py path/to/model.py --runs 5

Spoken to as the tests speak to it (tests/server_client.py: a subprocess, JSON-RPC over its stdin/stdout).
`didChange` is timed from the change to its diagnostics, so it includes the debounce pause
(devlint.server.lsp.DEBOUNCE_SECONDS). The median of `--runs` fresh servers is shown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from server_client import LspClient  # noqa: E402  (the tests' client)


def one_run(text: str, name: str) -> dict[str, float]:
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        uri = (root / name).as_uri()
        started = time.perf_counter()
        client = LspClient(root)
        try:
            client.initialize(root)
            times["start + initialize"] = time.perf_counter() - started
            started = time.perf_counter()
            client.open(uri, text)
            found = client.diagnostics(uri, 1)
            times["didOpen -> diagnostics"] = time.perf_counter() - started
            position = found[0]["range"]["start"] if found else {"line": 0, "character": 0}
            started = time.perf_counter()
            client.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                                       "range": {"start": position, "end": position},
                                                       "context": {"diagnostics": [], "only": ["quickfix"]}})
            times["codeAction (quick fixes)"] = time.perf_counter() - started
            started = time.perf_counter()
            client.request("textDocument/codeAction", {"textDocument": {"uri": uri},
                                                       "range": {"start": position, "end": position},
                                                       "context": {"diagnostics": [], "only": ["source.fixAll"]}})
            times["codeAction (fix all)"] = time.perf_counter() - started
            started = time.perf_counter()
            client.change(uri, text + "\n", version=2)
            client.diagnostics(uri, 2)
            times["didChange -> diagnostics"] = time.perf_counter() - started
            times["findings"] = len(found)
        finally:
            client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(ROOT / "examples" / "dsv4_attention.py"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = Path(args.path)
    text = path.read_text(encoding="utf-8")
    runs = [one_run(text, path.name) for _ in range(args.runs)]
    print(f"{path.name}: {len(text.splitlines())} lines, {int(runs[0]['findings'])} findings; "
          f"median of {args.runs} runs (seconds)")
    for key in runs[0]:
        if key != "findings":
            print(f"  {key:<28} {statistics.median(run[key] for run in runs):.3f}")


if __name__ == "__main__":
    main()
