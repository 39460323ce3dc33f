"""What watching a meta build costs: a model of about 1,000 parameters built under `torch.device("meta")`,
with and without `devlint.runtime.watch_devices`, alternating, medians of wall and of process CPU time (the CPU
time is the steadier figure on a shared machine).

    python benchmarks/runtime_overhead.py [--rounds 31] [--layers 250]

The model is `--layers` blocks of Linear + LayerNorm (4 parameters each: 250 blocks = 1,000 parameter
tensors), each block also computing a RoPE-style cache buffer from two factories and an einsum, so the
watch sees factories, ops, parameters and buffers as in a real decoder. The target is a ratio ≤ 1.5×.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from devlint.runtime import watch_devices


class Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        inv_freq = 1.0 / 10000 ** (torch.arange(0, width, 2, dtype=torch.float32) / width)
        t = torch.arange(16, dtype=torch.float32)
        self.register_buffer("cache", torch.einsum("i,j->ij", t, inv_freq).cos(), persistent=False)


class Model(nn.Module):
    def __init__(self, layers: int, width: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(width) for _ in range(layers))


def build(layers: int, width: int, watched: bool) -> tuple[float, float]:
    begin, begin_cpu = time.perf_counter(), time.process_time()
    if watched:
        with watch_devices(expect="meta") as report, torch.device("meta"):
            model = Model(layers, width)
        assert not report.findings
    else:
        with torch.device("meta"):
            model = Model(layers, width)
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - begin_cpu
    assert sum(1 for _ in model.parameters()) == 4 * layers
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--layers", type=int, default=250)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args()
    for watched in (False, True):  # warm-up: imports, caches
        build(args.layers, args.width, watched)
    plain, watched = [], []
    for _ in range(args.rounds):
        plain.append(build(args.layers, args.width, False))
        watched.append(build(args.layers, args.width, True))
    print(f"torch {torch.__version__}; {4 * args.layers} parameter tensors, {args.layers} buffers; "
          f"{args.rounds} rounds alternating, medians (wall; CPU time of this process)")
    for index, label in ((0, "wall"), (1, "CPU ")):
        base = statistics.median(p[index] for p in plain)
        watch = statistics.median(w[index] for w in watched)
        print(f"{label}: unwatched {base * 1e3:8.2f} ms, watched {watch * 1e3:8.2f} ms, ratio {watch / base:.2f}x "
              "(target <= 1.5x)")


if __name__ == "__main__":
    main()
