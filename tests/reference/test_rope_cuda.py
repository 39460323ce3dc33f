"""Spec §4 rows 22–28 on a CUDA device. Skipped without a GPU (CI has none); run with `python -m pytest -m cuda`."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from reference_impl import DeepseekV4ScalingRotaryEmbedding as V4  # noqa: E402

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

SMALL = dict(head_size=10, rotary_dim=8, max_position_embeddings=16, base=10000, is_neox_style=False,
             scaling_factor=4, dtype=torch.float32, mscale=1, mscale_all_dim=0)
COMPRESS = dict(head_size=512, rotary_dim=64, max_position_embeddings=65536, base=160000, is_neox_style=False,
                scaling_factor=16, dtype=torch.bfloat16, mscale=0, mscale_all_dim=0)


def report(name: str, value: float) -> None:
    print(f"[measured] {name}: {value:.3e}")


def build_on(device: str, config: dict):
    with torch.device(device):
        return V4(**config)


def test_build_on_cuda():
    module = build_on("cuda", COMPRESS)
    assert module.cos_sin_cache.device == torch.device("cuda", 0)
    assert module.cos_sin_cache.dtype == torch.float32 and module.cos_sin_cache.shape == (1048576, 64)


def test_cuda_vs_cpu_inv_freq():
    cpu = build_on("meta", COMPRESS)._compute_inv_freq(16)
    with torch.device("cuda"):
        gpu = build_on("meta", COMPRESS)._compute_inv_freq(16)
    report("inv_freq max rel diff", ((gpu.cpu() - cpu).abs() / cpu.abs()).max().item())
    torch.testing.assert_close(gpu.cpu(), cpu, atol=0, rtol=1e-6)


def test_cuda_vs_cpu_cache_same_inv_freq():
    inv_freq = build_on("meta", COMPRESS)._compute_inv_freq(16)  # CPU
    module = build_on("cpu", COMPRESS)
    t = torch.arange(1048576, dtype=torch.float32, device="cuda")
    freqs = torch.outer(t, inv_freq.cuda())
    gpu = torch.cat((freqs.cos(), freqs.sin()), dim=-1)
    diff = (gpu.cpu() - module.cos_sin_cache).abs().max().item()
    report("cache, same inv_freq, max abs diff", diff)
    torch.testing.assert_close(gpu.cpu(), module.cos_sin_cache, atol=2.5e-7, rtol=0)


def test_cuda_vs_cpu_cache_independent_builds():
    small_cpu, small_gpu = build_on("cpu", SMALL).cos_sin_cache, build_on("cuda", SMALL).cos_sin_cache.cpu()
    report("small cache, independent builds, max abs diff", (small_cpu - small_gpu).abs().max().item())
    torch.testing.assert_close(small_gpu, small_cpu, atol=1e-6, rtol=0)
    cpu, gpu = build_on("cpu", COMPRESS).cos_sin_cache, build_on("cuda", COMPRESS).cos_sin_cache.cpu()
    report("full cache, first 2048 rows, max abs diff", (cpu[:2048] - gpu[:2048]).abs().max().item())
    report("full cache, all rows, max abs diff", (cpu - gpu).abs().max().item())
    torch.testing.assert_close(gpu[:2048], cpu[:2048], atol=2e-5, rtol=0)
    torch.testing.assert_close(gpu, cpu, atol=5e-3, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_vs_cpu_forward_same_cache(dtype):
    cpu_module = build_on("cpu", COMPRESS)
    gpu_module = build_on("meta", COMPRESS)
    gpu_module.to_empty(device="cuda")
    gpu_module.cos_sin_cache = cpu_module.cos_sin_cache.cuda()
    g = torch.Generator().manual_seed(0)
    positions = torch.randint(0, 1048576, (256,), generator=g)
    q = torch.randn(256, 64, 512, generator=g).to(dtype)
    out_cpu, _ = cpu_module(positions, q)
    out_gpu, _ = gpu_module(positions.cuda(), q.cuda())
    report(f"forward {dtype}, same cache, max abs diff", (out_gpu.cpu().float() - out_cpu.float()).abs().max().item())
    assert torch.equal(out_gpu.cpu(), out_cpu)


def test_cuda_vs_cpu_forward_own_caches():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(512, 8, 512, generator=g)
    cpu_module, gpu_module = build_on("cpu", COMPRESS), build_on("cuda", COMPRESS)
    for name, high, atol in [("positions < 2048", 2048, 2e-4), ("positions up to 1M", 1048576, 2e-2)]:
        positions = torch.randint(0, high, (512,), generator=g)
        out_cpu, _ = cpu_module(positions, q)
        out_gpu, _ = gpu_module(positions.cuda(), q.cuda())
        report(f"forward fp32, own caches, {name}, max abs diff", (out_gpu.cpu() - out_cpu).abs().max().item())
        torch.testing.assert_close(out_gpu.cpu(), out_cpu, atol=atol, rtol=0)
    small_cpu, small_gpu = build_on("cpu", SMALL), build_on("cuda", SMALL)
    positions = torch.randint(0, 64, (32,), generator=g)
    x = torch.randn(32, 4, 10, generator=g)
    out_cpu, _ = small_cpu(positions, x)
    out_gpu, _ = small_gpu(positions.cuda(), x.cuda())
    report("forward fp32, own tiny caches, max abs diff", (out_gpu.cpu() - out_cpu).abs().max().item())
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, atol=2e-6, rtol=0)
    out_cpu_bf, _ = small_cpu(positions, x.bfloat16())
    out_gpu_bf, _ = small_gpu(positions.cuda(), x.bfloat16().cuda())
    torch.testing.assert_close(out_gpu_bf.cpu().float(), out_cpu_bf.float(), atol=1.6e-2, rtol=1.6e-2)


def test_meta_to_cuda_materialisation_is_bitwise():
    with torch.device("meta"):
        module = V4(**COMPRESS)
    module.to_empty(device="cuda")
    module.reset_cache()
    direct = build_on("cuda", COMPRESS)
    assert module.cos_sin_cache.device.type == "cuda"
    assert torch.equal(module.cos_sin_cache, direct.cos_sin_cache)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-6), (torch.bfloat16, 1.6e-2)])
def test_torch_compile_matches_eager(dtype, tol):
    module = build_on("cuda", COMPRESS)
    g = torch.Generator(device="cuda").manual_seed(2)
    positions = torch.randint(0, 1048576, (1024,), device="cuda", generator=g)
    q = torch.randn(1024, 64, 512, device="cuda", generator=g).to(dtype)
    eager, _ = module(positions, q)
    compiled = torch.compile(module.forward_native)
    out, _ = compiled(positions, q)
    report(f"torch.compile vs eager {dtype}, max abs diff", (out.float() - eager.float()).abs().max().item())
    torch.testing.assert_close(out, eager, atol=tol, rtol=tol if dtype is torch.bfloat16 else 0)
