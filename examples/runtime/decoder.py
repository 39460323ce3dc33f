"""A small decoder stack whose rotary embedding has the vLLM PR #43926 bug (for devlint.runtime's example).

Without vLLM installed, a stand-in platform reports the CPU, so the bug shows on any machine: under
`with torch.device("meta")` the positions land on the CPU while `inv_freq` is on meta.
"""

from __future__ import annotations

import math

import torch
from torch import nn

try:
    from vllm.platforms import current_platform
except ImportError:  # no vLLM: the platform is the CPU

    class _CpuPlatform:
        device_type = "cpu"

    current_platform = _CpuPlatform()


class RotaryEmbedding(nn.Module):
    def __init__(self, rotary_dim: int, max_position: int, base: float = 10000.0) -> None:
        super().__init__()
        self.rotary_dim, self.max_position, self.base = rotary_dim, max_position, base
        self.register_buffer("cos_sin_cache", self._compute_cos_sin_cache(), persistent=False)

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = 1.0 / self.base ** (torch.arange(0, self.rotary_dim, 2, dtype=torch.float32) / self.rotary_dim)
        t = torch.arange(
            math.ceil(self.max_position),
            device=current_platform.device_type,
            dtype=torch.float32,
        )
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1)


class Attention(nn.Module):
    def __init__(self, hidden: int, heads: int, max_position: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.out = nn.Linear(hidden, hidden, bias=False)
        self.sinks = nn.Parameter(torch.zeros(heads, device=current_platform.device_type))
        self.rotary_emb = RotaryEmbedding(hidden // heads, max_position)


class DecoderLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, max_position: int) -> None:
        super().__init__()
        self.input_norm = nn.RMSNorm(hidden)
        self.attn = Attention(hidden, heads, max_position)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.SiLU(), nn.Linear(4 * hidden, hidden))


class Decoder(nn.Module):
    def __init__(self, layers: int = 2, hidden: int = 64, heads: int = 4, max_position: int = 128) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(hidden, heads, max_position) for _ in range(layers))
