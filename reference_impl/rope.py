"""DeepSeek V3 / V4 YaRN rotary embeddings: an independent reference, written from the spec.

This mirrors vLLM's `DeepseekScalingRotaryEmbedding` (V3) and `DeepseekV4ScalingRotaryEmbedding` (V4) —
same constructor and `forward_native` signatures, same numbers bit for bit on CPU — so it can stand in for
them in tests. It is also devlint's canonical *fixed* target: every tensor built at construction follows
the ambient default device or its sibling (`t` is made on `inv_freq.device`), never a platform global, so a
module can be built under `with torch.device("meta")` and materialised later.

Where vLLM 0.33.0 is inconsistent, this reference chooses the safer behaviour (spec §2.7):

* **Shapes are validated.** Queries and keys must be `positions.shape + [heads, head_dim]`. A flattened
  `[T, H*D]` input raises `ValueError` instead of failing at a concatenation or silently broadcasting to
  `[T, T, d]`; a head dim smaller than `rotary_dim` raises too.
* **`inverse` is honoured on every path.** There is one forward (`forward` calls `forward_native` with all
  of its arguments); no platform path can drop the flag.
* **The float32 V4 cache is never down-cast.** The forward never writes the cache back, and moving the
  module with `.to(torch.bfloat16)`/`.half()` (which casts floating buffers) rebuilds the V4 cache in float32
  on its new device instead of keeping a rounded copy.
* **V4 splits each tensor by its own width.** vLLM decides the key's pass/rotary split from the query's
  width, silently stripping a wider key; here query and key each rotate their own trailing `rotary_dim`
  channels (identical whenever the widths agree, which is every real use).
* **V3 raises a clear `ValueError` for a missing key** (vLLM asserts), and checks that the query's width
  is the `head_size` the module was built for, since V3 slices by the stored width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# --- YaRN helpers (spec §1.3-1.5) ------------------------------------------------------------------------

def yarn_find_correction_dim(num_rotations: float, dim: int, base: float, max_position: int) -> float:
    """The (fractional) rotary pair index whose frequency completes `num_rotations` over `max_position`."""
    return (dim * math.log(max_position / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


def yarn_find_correction_range(low_rot: float, high_rot: float, dim: int, base: float,
                               max_position: int) -> tuple[int, int]:
    """(low, high) pair indices of the blend band. Reproduces vLLM exactly, quirks included: floor/ceil
    always, `high` clamped to `dim - 1` (not `dim // 2 - 1`), no guard against `high < low`."""
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_position))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_position))
    return max(low, 0), min(high, dim - 1)


def yarn_linear_ramp_mask(low: float, high: float, dim: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """clamp((i - low) / (high - low), 0, 1) for i in 0..dim-1; `high` is bumped by 0.001 when equal to
    `low` so the division is defined."""
    if low == high:
        high += 0.001
    linear = (torch.arange(dim, dtype=dtype) - low) / (high - low)
    return torch.clamp(linear, 0, 1)


def yarn_get_mscale(scale: float = 1, mscale: float = 1) -> float:
    """YaRN magnitude scale: 1 for scale <= 1, else 0.1 * mscale * ln(scale) + 1."""
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


# --- rotation primitives (spec §2.1) ---------------------------------------------------------------------

def _rotate_gptj(x: torch.Tensor) -> torch.Tensor:
    """Pairs (2i, 2i+1): (a, b) -> (-b, a)."""
    even, odd = x[..., ::2], x[..., 1::2]
    return torch.stack((-odd, even), dim=-1).flatten(-2)


def _rotate_neox(x: torch.Tensor) -> torch.Tensor:
    """Pairs (i, i+n): halves (A, B) -> (-B, A)."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def _expand(cos_or_sin: torch.Tensor, is_neox_style: bool) -> torch.Tensor:
    """n per-pair values -> d per-channel values, plus a heads axis to broadcast over."""
    if is_neox_style:
        expanded = torch.cat((cos_or_sin, cos_or_sin), dim=-1)
    else:
        expanded = cos_or_sin.repeat_interleave(2, dim=-1)
    return expanded.unsqueeze(-2)


def _check_layout(name: str, x: torch.Tensor, positions: torch.Tensor, rotary_dim: int) -> None:
    expected = positions.dim() + 2
    if x.dim() != expected or tuple(x.shape[: positions.dim()]) != tuple(positions.shape):
        raise ValueError(
            f"{name} must have shape positions.shape + [num_heads, head_dim] = "
            f"{list(positions.shape)} + [H, D], got {list(x.shape)}; a flattened [tokens, heads*head_dim] "
            f"input must be viewed as [tokens, heads, head_dim] first"
        )
    if x.shape[-1] < rotary_dim:
        raise ValueError(f"{name} head dim {x.shape[-1]} is smaller than rotary_dim {rotary_dim}")


# --- the modules -----------------------------------------------------------------------------------------

class DeepseekScalingRotaryEmbedding(nn.Module):
    """DeepSeek V3 YaRN RoPE: rotates the *leading* `rotary_dim` channels; cache in the module dtype."""

    def __init__(self, head_size: int, rotary_dim: int, max_position_embeddings: int, base: float,
                 is_neox_style: bool, scaling_factor: float, dtype: torch.dtype, *, beta_fast: int = 32,
                 beta_slow: int = 1, mscale: float = 1, mscale_all_dim: float = 0) -> None:
        super().__init__()
        if rotary_dim % 2:
            raise ValueError(f"rotary_dim must be even, got {rotary_dim}")
        self.head_size = head_size
        self.rotary_dim = rotary_dim
        self.max_position_embeddings = max_position_embeddings
        self.base = base
        self.is_neox_style = is_neox_style
        self.scaling_factor = scaling_factor
        self.dtype = dtype
        self.beta_fast = beta_fast
        self.beta_slow = beta_slow
        # A Python float, as in vLLM: g(s, mscale) / g(s, mscale_all_dim).
        self.mscale = float(yarn_get_mscale(scaling_factor, mscale) / yarn_get_mscale(scaling_factor, mscale_all_dim))
        self.register_buffer("cos_sin_cache", self._build_cache(), persistent=False)

    def _build_cache(self) -> torch.Tensor:
        return self._compute_cos_sin_cache().to(self.dtype)

    def _compute_inv_freq(self, scaling_factor: float) -> torch.Tensor:
        d = self.rotary_dim
        pos_freqs = self.base ** (torch.arange(0, d, 2, dtype=torch.float) / d)
        inv_freq_extrapolation = 1.0 / pos_freqs
        inv_freq_interpolation = 1.0 / (scaling_factor * pos_freqs)
        low, high = yarn_find_correction_range(self.beta_fast, self.beta_slow, d, self.base,
                                               self.max_position_embeddings)
        inv_freq_mask = 1 - yarn_linear_ramp_mask(low, high, d // 2, dtype=torch.float)
        return inv_freq_interpolation * (1 - inv_freq_mask) + inv_freq_extrapolation * inv_freq_mask

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        """The float32 [ceil(L*s), d] table [mscale*cos | mscale*sin], built on the default device (or
        wherever `inv_freq` is): never on a platform global."""
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(self.max_position_embeddings * self.scaling_factor, device=inv_freq.device,
                         dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        cos = freqs.cos() * self.mscale
        sin = freqs.sin() * self.mscale
        return torch.cat((cos, sin), dim=-1)

    def reset_cache(self) -> None:
        """Recompute the cache on the device it lives on: the last step after `to_empty()` (meta → real),
        which leaves buffers uninitialised. Assigning the registered name keeps it non-persistent."""
        with torch.device(self.cos_sin_cache.device):
            self.cos_sin_cache = self._build_cache()

    def _cos_sin(self, positions: torch.Tensor, offsets: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        rows = positions if offsets is None else torch.add(positions, offsets)
        cos, sin = self.cos_sin_cache[rows].chunk(2, dim=-1)
        return _expand(cos, self.is_neox_style), _expand(sin, self.is_neox_style)

    def _rotate(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        rotate = _rotate_neox if self.is_neox_style else _rotate_gptj
        return x * cos + rotate(x) * sin

    def forward_native(self, positions: torch.Tensor, query: torch.Tensor, key: torch.Tensor | None = None,
                       offsets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if key is None:
            raise ValueError("DeepseekScalingRotaryEmbedding (V3) needs a key; use the V4 module for query-only")
        d = self.rotary_dim
        for name, x in (("query", query), ("key", key)):
            _check_layout(name, x, positions, d)
            if x.shape[-1] != self.head_size:
                raise ValueError(f"{name} head dim {x.shape[-1]} differs from the head_size {self.head_size} "
                                 "this module was built for")
        cos, sin = self._cos_sin(positions, offsets)
        outputs = []
        for x in (query, key):
            rotated = self._rotate(x[..., :d], cos, sin)
            outputs.append(torch.cat((rotated, x[..., d:]), dim=-1) if d < self.head_size else rotated)
        return outputs[0], outputs[1]

    def forward(self, positions: torch.Tensor, query: torch.Tensor, key: torch.Tensor | None = None,
                offsets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_native(positions, query, key, offsets)


class DeepseekV4ScalingRotaryEmbedding(DeepseekScalingRotaryEmbedding):
    """DeepSeek V4 YaRN RoPE: rotates the *trailing* `rotary_dim` channels, keeps a float32 cache, supports
    `inverse` (rotate by −θ) and query-only calls, and returns outputs in the query's dtype."""

    def _build_cache(self) -> torch.Tensor:
        return self._compute_cos_sin_cache()  # always float32; `dtype` is only recorded

    def _apply(self, fn, recurse: bool = True):
        """`.to(dtype)`/`.half()` cast floating buffers; the V4 cache must stay float32, so rebuild it (exactly)
        on its new device rather than keep a rounded copy."""
        result = super()._apply(fn, recurse)
        cache = self._buffers.get("cos_sin_cache")
        if cache is not None and cache.dtype != torch.float32:
            if cache.is_meta:
                self.cos_sin_cache = torch.empty_like(cache, dtype=torch.float32)
            else:
                self.reset_cache()
        return result

    def forward_native(self, positions: torch.Tensor, query: torch.Tensor, key: torch.Tensor | None = None,
                       offsets: torch.Tensor | None = None,
                       inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        d = self.rotary_dim
        _check_layout("query", query, positions, d)
        if key is not None:
            _check_layout("key", key, positions, d)
        cos, sin = self._cos_sin(positions, offsets)
        if inverse:
            sin = -sin
        out_dtype = query.dtype

        def apply(x: torch.Tensor) -> torch.Tensor:
            rotated = self._rotate(x[..., -d:], cos, sin).to(out_dtype)
            return torch.cat((x[..., :-d], rotated), dim=-1) if d < x.shape[-1] else rotated

        return apply(query), (apply(key) if key is not None else None)

    def forward(self, positions: torch.Tensor, query: torch.Tensor, key: torch.Tensor | None = None,
                offsets: torch.Tensor | None = None,
                inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.forward_native(positions, query, key, offsets, inverse)
