"""The reference DeepSeek V3/V4 RoPE against the spec (`shared/docs/dsv4_rope_spec.md`): §4 rows 1–21 and the
§5 golden values, on CPU and the meta device. Tolerances are the spec's."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from reference_impl import (  # noqa: E402
    DeepseekScalingRotaryEmbedding as V3,
    DeepseekV4ScalingRotaryEmbedding as V4,
    yarn_find_correction_range,
    yarn_get_mscale,
    yarn_linear_ramp_mask,
)

# §5 configs: (head_size, rotary_dim, L, base, neox, s, dtype, mscale kwargs)
A = dict(head_size=10, rotary_dim=8, max_position_embeddings=16, base=10000, is_neox_style=False,
         scaling_factor=4, dtype=torch.float32, mscale=1, mscale_all_dim=1)
B = {**A, "mscale_all_dim": 0}
C = {**A, "max_position_embeddings": 6, "scaling_factor": 2}


def build(cls=V4, **overrides):
    return cls(**{**A, **overrides})


def close(actual, expected, atol, rtol=0.0):
    torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- row 1: correction range ------------------------------------------------------------------------------

@pytest.mark.parametrize(("d", "b", "L", "expected"), [
    (8, 10000, 16, (0, 1)),            # A
    (8, 10000, 6, (0, 0)),             # C: guard case
    (64, 10000, 4096, (10, 23)),       # DeepSeek V3
    (64, 160000, 65536, (15, 25)),     # V4 compress
    (64, 10000, 1048576, (29, 42)),    # V4 SWA-only: high > n-1 because the clamp is d-1
    (64, 10000, 2, (0, -3)),           # negative-high edge, unguarded
])
def test_correction_range(d, b, L, expected):
    assert yarn_find_correction_range(32, 1, d, b, L) == expected


# -- row 2: ramp and guard --------------------------------------------------------------------------------

def test_ramp_and_guard():
    close(yarn_linear_ramp_mask(0, 1, 4), torch.tensor([0.0, 1, 1, 1]), atol=1e-7)
    close(yarn_linear_ramp_mask(0, 0, 4), torch.tensor([0.0, 1, 1, 1]), atol=1e-7)  # high bumped to 0.001
    v3 = yarn_linear_ramp_mask(10, 23, 32)
    close(v3, ((torch.arange(32.0) - 10) / 13).clamp(0, 1), atol=1e-7)
    close(v3[9:25], torch.tensor([0, 0, 0.076923, 0.153846, 0.230769, 0.307692, 0.384615, 0.461538, 0.538462,
                                  0.615385, 0.692308, 0.769231, 0.846154, 0.923077, 1, 1]), atol=1e-6)
    v4 = yarn_linear_ramp_mask(15, 25, 32)
    assert torch.all(v4[:16] == 0) and torch.all(v4[25:] == 1)
    close(v4[16:25], torch.arange(1, 10, dtype=torch.float32) / 10, atol=1e-7)
    assert torch.equal(yarn_linear_ramp_mask(0, -3, 32), torch.zeros(32))


# -- row 3: mscale ----------------------------------------------------------------------------------------

def test_mscale():
    assert yarn_get_mscale(4, 1) == 1.138629436111989
    assert yarn_get_mscale(40, 1) == 1.3688879454113936
    assert yarn_get_mscale(16, 1) == 1.2772588722239782
    assert yarn_get_mscale(1, 3) == yarn_get_mscale(0.5, 3) == 1.0
    assert yarn_get_mscale(7, 0) == 1.0
    assert yarn_get_mscale(40, 1) ** 2 == pytest.approx(1.8738542070926265, rel=1e-15)
    assert build(**A).mscale == 1.0
    assert build(**B).mscale == 1.138629436111989
    assert isinstance(build(**B).mscale, float)


# -- row 4: inv_freq ----------------------------------------------------------------------------------------

def test_inv_freq_config_a_is_bitwise():
    assert torch.equal(build()._compute_inv_freq(4), torch.tensor([1, 0.025, 0.0025, 0.00025], dtype=torch.float32))


def test_inv_freq_without_scaling_is_plain_rope():
    d, b = 64, 10000
    module = build(rotary_dim=d, head_size=d, scaling_factor=1.0, max_position_embeddings=32)
    plain = 1.0 / (b ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    close(module._compute_inv_freq(1.0), plain, atol=0, rtol=1e-6)


V4_COMPRESS_INV_FREQ = [
    1, 0.687656045, 0.472870797, 0.325172454, 0.223606795, 0.153764561, 0.10573712, 0.0727107748, 0.0500000007,
    0.0343828015, 0.0236435402, 0.0162586235, 0.0111803403, 0.00768822804, 0.00528685655, 0.00363553851,
    0.00226562493, 0.00139680132, 0.000849689706, 0.000508081983, 0.000296977785, 0.000168179977,
    9.08678412e-05, 4.54442306e-05, 1.95312532e-05, 5.37231244e-06, 3.69430336e-06, 2.5404097e-06,
    1.74692821e-06, 1.20128561e-06, 8.260713e-07, 5.6805294e-07]
V3_INV_FREQ = [
    1, 0.749894202, 0.562341332, 0.421696514, 0.316227764, 0.237137362, 0.177827939, 0.133352146, 0.100000001,
    0.0749894157, 0.0562341288, 0.0390069261, 0.0268793609, 0.0183781441, 0.012447956, 0.0083345091,
    0.00550000044, 0.00356199732, 0.00224936521, 0.00137051346, 0.000790569407, 0.000414990413, 0.00017782794,
    3.3338034e-05, 2.49999994e-05, 1.87473543e-05, 1.40585325e-05, 1.05424124e-05, 7.90569447e-06,
    5.92843435e-06, 4.44569832e-06, 3.33380353e-06]


@pytest.mark.parametrize(("b", "L", "s", "expected"), [(160000, 65536, 16, V4_COMPRESS_INV_FREQ),
                                                      (10000, 4096, 40, V3_INV_FREQ)])
def test_inv_freq_real_configs(b, L, s, expected):
    # Build on meta: the 1M-row table is not needed to check inv_freq.
    with torch.device("meta"):
        module = build(rotary_dim=64, head_size=64, base=b, max_position_embeddings=L, scaling_factor=s)
    inv_freq = module._compute_inv_freq(s)
    close(inv_freq, torch.tensor(expected, dtype=torch.float32), atol=0, rtol=1e-6)


def test_inv_freq_blend_order():
    module = build(rotary_dim=64, head_size=64, base=10000, max_position_embeddings=4096, scaling_factor=40)
    pos = 10000 ** (torch.arange(0, 64, 2, dtype=torch.float32) / 64)
    mask = 1 - yarn_linear_ramp_mask(10, 23, 32)
    expected = (1.0 / (40 * pos)) * (1 - mask) + (1.0 / pos) * mask
    assert torch.equal(module._compute_inv_freq(40), expected)


# -- rows 5-7: the cache ------------------------------------------------------------------------------------

def test_cache_layout():
    module = build(**B)
    cache = module.cos_sin_cache
    assert cache.shape == (64, 8) and cache.dtype == torch.float32
    assert torch.equal(cache[0], torch.tensor([module.mscale] * 4 + [0.0] * 4))
    cos, sin = cache.chunk(2, dim=-1)
    close(cos**2 + sin**2, torch.full_like(cos, module.mscale**2), atol=1e-6)
    assert build(max_position_embeddings=10, scaling_factor=1.25).cos_sin_cache.shape == (13, 8)
    assert dict(module.named_buffers()).keys() == {"cos_sin_cache"} and module.state_dict() == {}


GOLDEN_A = {
    0: [1, 1, 1, 1, 0, 0, 0, 0],
    1: [0.540302, 0.999687, 0.999997, 1.000000, 0.841471, 0.024997, 0.002500, 0.000250],
    2: [-0.416147, 0.998750, 0.999987, 1.000000, 0.909297, 0.049979, 0.005000, 0.000500],
    5: [0.283662, 0.992198, 0.999922, 0.999999, -0.958924, 0.124675, 0.012500, 0.001250],
    17: [-0.275163, 0.911039, 0.999097, 0.999991, -0.961397, 0.412321, 0.042487, 0.004250],
    63: [0.985897, -0.004204, 0.987622, 0.999876, 0.167356, 0.999991, 0.156850, 0.015749],
}
GOLDEN_B = {
    0: [1.138629, 1.138629, 1.138629, 1.138629, 0, 0, 0, 0],
    1: [0.615204, 1.138274, 1.138626, 1.138629, 0.958124, 0.028463, 0.002847, 0.000285],
    5: [0.322986, 1.129745, 1.138541, 1.138629, -1.091859, 0.141958, 0.014232, 0.001423],
    63: [1.122571, -0.004786, 1.124536, 1.138488, 0.190556, 1.138619, 0.178594, 0.017933],
}
GOLDEN_C = {
    1: [0.540302, 0.998750, 0.999987, 1.000000, 0.841471, 0.049979, 0.005000, 0.000500],
    11: [0.004426, 0.852525, 0.998488, 0.999985, -0.999990, 0.522687, 0.054972, 0.005500],
}


@pytest.mark.parametrize(("config", "rows", "shape"), [(A, GOLDEN_A, (64, 8)), (B, GOLDEN_B, (64, 8)),
                                                      (C, GOLDEN_C, (12, 8))], ids=["A", "B", "C"])
@pytest.mark.parametrize("cls", [V3, V4], ids=["V3", "V4"])
def test_golden_rows(cls, config, rows, shape):
    cache = cls(**config).cos_sin_cache
    assert cache.shape == shape
    for row, values in rows.items():
        close(cache[row], torch.tensor(values, dtype=torch.float32), atol=1e-6)


def test_config_c_uses_the_guard():
    assert yarn_find_correction_range(32, 1, 8, 10000, 6) == (0, 0)
    assert torch.equal(build(**C)._compute_inv_freq(2), torch.tensor([1, 0.05, 0.005, 0.0005], dtype=torch.float32))


@pytest.mark.parametrize("config", [A, B, {**A, "rotary_dim": 64, "head_size": 64, "max_position_embeddings": 4096,
                                           "scaling_factor": 40}], ids=["A", "B", "V3-full"])
def test_cache_against_float64_of_the_float32_angles(config):
    module = V4(**config)
    inv_freq = module._compute_inv_freq(module.scaling_factor)
    t = torch.arange(module.cos_sin_cache.shape[0], dtype=torch.float32)
    angles = (t[:, None] * inv_freq[None, :]).double()  # rounded as float32, then widened
    expected = torch.cat((angles.cos(), angles.sin()), dim=-1) * module.mscale
    close(module.cos_sin_cache.double(), expected, atol=2e-7)


def test_small_cache_against_fully_float64_angles():
    module = build(**B)
    inv_freq = module._compute_inv_freq(4).double()
    angles = torch.arange(64, dtype=torch.float64)[:, None] * inv_freq[None, :]
    expected = torch.cat((angles.cos(), angles.sin()), dim=-1) * module.mscale
    close(module.cos_sin_cache.double(), expected, atol=1e-6)


# -- rows 8-16: the forward ---------------------------------------------------------------------------------

def complex_reference(module, positions, x, *, leading: bool, inverse: bool = False):
    """z = a + ib per pair, times mscale * e^{±iθ}, in float64, from inv_freq; pass-through unchanged."""
    d = module.rotary_dim
    inv_freq = module._compute_inv_freq(module.scaling_factor).double()
    theta = positions.double()[..., None] * inv_freq  # [..., n]
    theta = theta.unsqueeze(-2)  # heads axis
    rot = x[..., :d] if leading else x[..., -d:]
    rot = rot.double()
    if module.is_neox_style:
        a, b = rot[..., : d // 2], rot[..., d // 2:]
    else:
        a, b = rot[..., ::2], rot[..., 1::2]
    z = torch.complex(a, b) * torch.exp((-1j if inverse else 1j) * theta) * module.mscale
    if module.is_neox_style:
        out = torch.cat((z.real, z.imag), dim=-1)
    else:
        out = torch.stack((z.real, z.imag), dim=-1).flatten(-2)
    passthrough = x[..., d:] if leading else x[..., :-d]
    return torch.cat((out, passthrough.double()), -1) if leading else torch.cat((passthrough.double(), out), -1)


@pytest.mark.parametrize("neox", [False, True], ids=["gptj", "neox"])
@pytest.mark.parametrize("head", [8, 12], ids=["d==head", "d<head"])
@pytest.mark.parametrize("inverse", [False, True], ids=["fwd", "inv"])
def test_v4_forward_against_complex_float64(neox, head, inverse):
    module = build(**{**B, "is_neox_style": neox, "head_size": head})
    positions = torch.randint(0, 64, (5,), generator=gen(1))
    q = torch.randn(5, 3, head, generator=gen(2))
    k = torch.randn(5, 1, head, generator=gen(3))
    q_out, k_out = module(positions, q, k, inverse=inverse)
    close(q_out.double(), complex_reference(module, positions, q, leading=False, inverse=inverse), atol=1e-6, rtol=1e-6)
    close(k_out.double(), complex_reference(module, positions, k, leading=False, inverse=inverse), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("neox", [False, True], ids=["gptj", "neox"])
@pytest.mark.parametrize("head", [8, 12], ids=["d==head", "d<head"])
def test_v3_forward_against_complex_float64(neox, head):
    module = build(V3, **{**B, "is_neox_style": neox, "head_size": head})
    positions = torch.randint(0, 64, (5,), generator=gen(4))
    q = torch.randn(5, 3, head, generator=gen(5))
    k = torch.randn(5, 1, head, generator=gen(6))
    q_out, k_out = module(positions, q, k)
    close(q_out.double(), complex_reference(module, positions, q, leading=True), atol=1e-6, rtol=1e-6)
    close(k_out.double(), complex_reference(module, positions, k, leading=True), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("neox", [False, True], ids=["gptj", "neox"])
def test_v3_v4_relation_is_bitwise(neox):
    config = {**B, "is_neox_style": neox, "head_size": 12}
    v3, v4 = V3(**config), V4(**config)
    assert torch.equal(v3.cos_sin_cache, v4.cos_sin_cache)
    positions = torch.randint(0, 64, (6,), generator=gen(7))
    q, k = torch.randn(6, 2, 12, generator=gen(8)), torch.randn(6, 1, 12, generator=gen(9))
    P = lambda x: torch.roll(x, shifts=8, dims=-1)  # trailing 8 channels to the front  # noqa: E731
    P_inv = lambda x: torch.roll(x, shifts=-8, dims=-1)  # noqa: E731
    q3, k3 = v3(positions, P(q), P(k))
    q4, k4 = v4(positions, q, k)
    assert torch.equal(q4, P_inv(q3)) and torch.equal(k4, P_inv(k3))


def test_pass_through_is_bitwise():
    positions = torch.arange(4)
    x = torch.randn(4, 2, 12, generator=gen(10))
    q4, _ = build(head_size=12)(positions, x)
    assert torch.equal(q4[..., :4], x[..., :4])
    q3, _ = build(V3, head_size=12)(positions, x, x.clone())
    assert torch.equal(q3[..., 8:], x[..., 8:])


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 2e-6), (torch.bfloat16, 1.6e-2), (torch.float16, 2e-3)])
def test_inverse_undoes_forward(dtype, tol):
    module = build(head_size=12)
    positions = torch.randint(0, 64, (16,), generator=gen(11))
    x = torch.randn(16, 4, 12, generator=gen(12)).to(dtype)
    back, _ = module(positions, module(positions, x)[0], inverse=True)
    if dtype is torch.float32:
        close(back, x, atol=tol)
    else:
        close(back, x, atol=tol, rtol=tol)


def test_inverse_with_mscale_scales_by_mscale_squared():
    module = build(**{**B, "head_size": 12})
    assert module.mscale**2 == pytest.approx(1.2964769927807063, rel=1e-15)
    positions = torch.randint(0, 64, (8,), generator=gen(13))
    x = torch.randn(8, 2, 12, generator=gen(14))
    back, _ = module(positions, module(positions, x)[0], inverse=True)
    close(back[..., -8:], x[..., -8:] * module.mscale**2, atol=0, rtol=1e-6)
    assert torch.equal(back[..., :4], x[..., :4])


@pytest.mark.parametrize("cls", [V3, V4], ids=["V3", "V4"])
def test_offsets(cls):
    module = build(cls, head_size=12)
    positions, offsets = torch.randint(0, 32, (6,), generator=gen(15)), torch.randint(0, 32, (6,), generator=gen(16))
    q, k = torch.randn(6, 2, 12, generator=gen(17)), torch.randn(6, 2, 12, generator=gen(18))
    with_offsets = module(positions, q, k, offsets)
    added = module(positions + offsets, q, k)
    assert all(torch.equal(a, b) for a, b in zip(with_offsets, added, strict=True))


@pytest.mark.parametrize("cls", [V3, V4], ids=["V3", "V4"])
def test_position_layouts_and_mqa_key(cls):
    module = build(cls, head_size=12)
    positions = torch.randint(0, 64, (2, 3), generator=gen(19))
    q = torch.randn(2, 3, 4, 12, generator=gen(20))
    k = torch.randn(2, 3, 1, 12, generator=gen(21))
    q_bs, k_bs = module(positions, q, k)
    q_t, k_t = module(positions.flatten(), q.flatten(0, 1), k.flatten(0, 1))
    assert torch.equal(q_bs.flatten(0, 1), q_t) and torch.equal(k_bs.flatten(0, 1), k_t)


def test_query_only():
    module = build(head_size=12)
    positions = torch.arange(5)
    q, k = torch.randn(5, 2, 12, generator=gen(22)), torch.randn(5, 2, 12, generator=gen(23))
    q_only, none = module(positions, q)
    assert none is None and torch.equal(q_only, module(positions, q, k)[0])
    with pytest.raises(ValueError, match="needs a key"):
        build(V3, head_size=12)(positions, q)


@pytest.mark.parametrize("cls", [V3, V4], ids=["V3", "V4"])
def test_inputs_are_not_mutated(cls):
    module = build(cls, head_size=12)
    positions = torch.randint(0, 64, (5,), generator=gen(24))
    q, k = torch.randn(5, 2, 12, generator=gen(25)), torch.randn(5, 2, 12, generator=gen(26))
    before = (positions.clone(), q.clone(), k.clone())
    module(positions, q, k)
    assert all(torch.equal(a, b) for a, b in zip(before, (positions, q, k), strict=True))


# -- rows 17-19: dtypes and shapes ----------------------------------------------------------------------------

@pytest.mark.parametrize(("dtype", "tol"), [(torch.bfloat16, 1.6e-2), (torch.float16, 1e-3)])
def test_v4_dtype(dtype, tol):
    module = build(head_size=12, dtype=dtype)
    assert module.cos_sin_cache.dtype == torch.float32
    positions = torch.randint(0, 64, (8,), generator=gen(27))
    x = torch.randn(8, 2, 12, generator=gen(28)).to(dtype)
    out, _ = module(positions, x)
    assert out.dtype == dtype
    assert torch.equal(out, module(positions, x.float())[0].to(dtype))
    close(out.float(), complex_reference(module, positions, x.float(), leading=False).float(), atol=tol, rtol=tol)


@pytest.mark.parametrize("default", [torch.bfloat16, torch.float16, torch.float64])
def test_v4_cache_is_float32_under_any_default_dtype(default):
    reference = build(**B).cos_sin_cache
    previous = torch.get_default_dtype()
    torch.set_default_dtype(default)
    try:
        module = build(**B)
    finally:
        torch.set_default_dtype(previous)
    assert module.cos_sin_cache.dtype == torch.float32 and torch.equal(module.cos_sin_cache, reference)


def test_v4_cache_survives_module_dtype_casts():
    module = build(**B)
    reference = module.cos_sin_cache.clone()
    module.to(torch.bfloat16)
    assert module.cos_sin_cache.dtype == torch.float32 and torch.equal(module.cos_sin_cache, reference)
    module.half()
    assert torch.equal(module.cos_sin_cache, reference)
    assert module.state_dict() == {}


def test_v3_dtype_mirror():
    bf16 = build(V3, dtype=torch.bfloat16, head_size=8)
    assert bf16.cos_sin_cache.dtype == torch.bfloat16
    positions = torch.arange(3)
    x = torch.randn(3, 2, 8, generator=gen(29))
    assert bf16(positions, x.bfloat16(), x.bfloat16())[0].dtype == torch.bfloat16
    assert bf16(positions, x, x)[0].dtype == torch.float32
    assert bf16(positions, x.half(), x.half())[0].dtype == torch.float32  # fp16 query + bf16 cache promote
    assert build(V3, dtype=torch.float16, head_size=8)(positions, x.bfloat16(), x.bfloat16())[0].dtype == torch.float32


@pytest.mark.parametrize("cls", [V3, V4], ids=["V3", "V4"])
def test_flattened_input_is_rejected(cls):
    module = build(cls, head_size=8)
    positions = torch.arange(4)
    flat = torch.randn(4, 2 * 8)
    with pytest.raises(ValueError, match=r"positions.shape \+ \[num_heads, head_dim\]"):
        module(positions, flat, flat.clone())
    with pytest.raises(ValueError, match="smaller than rotary_dim"):
        module(positions, torch.randn(4, 2, 6), torch.randn(4, 2, 6))


# -- rows 20-21: meta construction and materialisation ------------------------------------------------------

@pytest.mark.parametrize("default", [None, torch.bfloat16])
def test_meta_construction(default):
    previous = torch.get_default_dtype()
    if default is not None:
        torch.set_default_dtype(default)
    try:
        with torch.device("meta"):
            module = build(**B)
    finally:
        torch.set_default_dtype(previous)
    cache = module.cos_sin_cache
    assert cache.is_meta and cache.shape == (64, 8) and cache.dtype == torch.float32


def test_meta_to_empty_then_recompute_equals_direct_build():
    with torch.device("meta"):
        module = build(**B)
    module.to_empty(device="cpu")
    module.reset_cache()
    direct = build(**B)
    assert torch.equal(module.cos_sin_cache, direct.cos_sin_cache)
    assert "cos_sin_cache" in module._non_persistent_buffers_set
    assert module.state_dict() == {}
    module.load_state_dict({}, strict=True)


# -- §5 forward examples ------------------------------------------------------------------------------------

FORWARD_EXAMPLES = {
    ("V4", False, False): [1, 2, 4.686684, -1.742124, 4.212940, 6.576560, 6.899456, 8.086872, 8.987494, 10.011242],
    ("V4", False, True): [1, 2, -2.984711, 4.011422, 5.709037, 5.329813, 7.099451, 7.911877, 9.012493, 9.988743],
    ("V3", False, False): [2.201511, -0.391600, 2.477894, 4.342815, 4.924612, 6.062030, 6.989995, 8.008744, 9, 10],
    ("V4", True, False): [1, 2, 7.563457, 2.971393, 4.887113, 5.987495, -0.891137, 8.436280, 9.061795, 10.007492],
    ("V4", True, True): [1, 2, -5.861484, 4.966188, 5.112106, 6.012495, 4.862408, 7.438883, 8.936799, 9.992493],
    ("V3", True, False): [5.078284, 1.236347, 2.912268, 3.989997, 0.459387, 6.202536, 7.036952, 8.004993, 9, 10],
}


@pytest.mark.parametrize(("variant", "neox", "inverse"), list(FORWARD_EXAMPLES), ids=lambda v: str(v))
def test_forward_examples(variant, neox, inverse):
    cls = V4 if variant == "V4" else V3
    module = cls(**{**A, "is_neox_style": neox})
    x = torch.arange(1.0, 11.0).view(1, 1, 10)
    positions = torch.tensor([5])
    if cls is V4:
        out, _ = module(positions, x, inverse=inverse)
    else:
        out, _ = module(positions, x, x.clone())
    close(out.flatten(), torch.tensor(FORWARD_EXAMPLES[(variant, neox, inverse)]), atol=1e-6)


def test_forward_example_hand_check():
    out, _ = build()(torch.tensor([5]), torch.arange(1.0, 11.0).view(1, 1, 10))
    assert out[0, 0, 2].item() == pytest.approx(3 * math.cos(5) - 4 * math.sin(5), abs=1e-5)
    assert out[0, 0, 3].item() == pytest.approx(4 * math.cos(5) + 3 * math.sin(5), abs=1e-5)
