"""Throughput of the reference DeepSeek V4 RoPE forward for DeepSeek V4 shapes.

    python benchmarks/rope_forward.py                 # CPU, and CUDA when present
    python benchmarks/rope_forward.py --device cuda --tokens 1 128 4096

Shapes: T tokens x 64 heads x 512 head dim (the attention heads; rotary on the last 64 channels) and
T x 64 heads x 128 (the indexer heads sharing the module), bf16 activations, the 1M-row float32 cache of the
compressed-attention layers. Each case runs eager and under `torch.compile`.

The forward is memory-bound: it must read the query and write the output (the pass-through channels are
copied too, since the native forward is out-of-place) plus one cache row and one position per token. That
byte count over the measured time is the achieved bandwidth, printed against the H200's ~4.8 TB/s peak.
Times are medians (CUDA events on the GPU, perf_counter on the CPU) after warm-up. Each configuration is
compiled afresh (`torch._dynamo.reset()`) and timed under `set_stance("fail_on_recompile")`, so a compiled
row can never silently be an eager fallback.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import torch

from reference_impl import DeepseekV4ScalingRotaryEmbedding

H200_PEAK_BYTES_PER_S = 4.8e12
COMPRESS = dict(rotary_dim=64, max_position_embeddings=65536, base=160000, is_neox_style=False,
                scaling_factor=16, mscale=0, mscale_all_dim=0)


def minimum_bytes(tokens: int, heads: int, head_dim: int, dtype: torch.dtype, rotary_dim: int) -> int:
    element = torch.finfo(dtype).bits // 8
    return 2 * tokens * heads * head_dim * element + tokens * (rotary_dim * 4 + 8)


def time_call(fn, device: str, warmup: int, reps: int) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    if device == "cuda":
        torch.cuda.synchronize()
        for _ in range(reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(reps):
            begin = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - begin)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], nargs="+",
                        default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--tokens", type=int, nargs="+", default=[1, 128, 4096])
    parser.add_argument("--heads", type=int, default=64)
    parser.add_argument("--no-compile", action="store_true", help="eager only")
    args = parser.parse_args()

    print(f"torch {torch.__version__}" + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print(f"{'device':6} {'mode':8} {'head':>4} {'tokens':>6} {'time (us)':>10} {'tokens/s':>12} {'GB/s':>8} {'% H200 peak':>11}")
    for device in args.device:
        with torch.device(device):
            module = DeepseekV4ScalingRotaryEmbedding(head_size=512, dtype=torch.bfloat16, **COMPRESS)
        warmup, reps = (10, 50) if device == "cuda" else (2, 5)
        for head_dim in (512, 128):
            for tokens in args.tokens:
                generator = torch.Generator(device=device).manual_seed(0)
                positions = torch.randint(0, module.cos_sin_cache.shape[0], (tokens,), device=device, generator=generator)
                query = torch.randn(tokens, args.heads, head_dim, device=device, generator=generator).to(torch.bfloat16)
                modes = [("eager", module.forward_native)]
                if not args.no_compile:
                    # A fresh compile per configuration: one compiled function for every shape in one process
                    # hits Dynamo's recompile limit and silently falls back to eager for the later rows.
                    torch._dynamo.reset()
                    modes.append(("compile", torch.compile(module.forward_native, dynamic=False)))
                for mode, forward in modes:
                    if mode == "compile":
                        forward(positions, query)  # compile outside the timed region...
                        with torch.compiler.set_stance("fail_on_recompile"):  # ...and never time eager by mistake
                            seconds = time_call(functools.partial(forward, positions, query), device, warmup, reps)
                    else:
                        seconds = time_call(functools.partial(forward, positions, query), device, warmup, reps)
                    moved = minimum_bytes(tokens, args.heads, head_dim, torch.bfloat16, module.rotary_dim)
                    bandwidth = moved / seconds
                    print(f"{device:6} {mode:8} {head_dim:>4} {tokens:>6} {seconds * 1e6:>10.1f} "
                          f"{tokens / seconds:>12.3e} {bandwidth / 1e9:>8.1f} {100 * bandwidth / H200_PEAK_BYTES_PER_S:>10.1f}%")


if __name__ == "__main__":
    main()
