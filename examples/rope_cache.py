"""A YaRN rotary embedding whose position table is pinned to the platform device (the vLLM PR #43926 shape)."""

import math

import torch
from torch import nn

from vllm.platforms import current_platform


class ScaledRotaryEmbedding(nn.Module):
    def __init__(self, rotary_dim: int, max_position: int, base: float, scaling_factor: float) -> None:
        super().__init__()
        self.rotary_dim = rotary_dim
        self.max_position = max_position
        self.base = base
        self.scaling_factor = scaling_factor
        self.register_buffer("cos_sin_cache", self._compute_cos_sin_cache(), persistent=False)

    def _compute_inv_freq(self, scaling_factor: float) -> torch.Tensor:
        exponents = torch.arange(0, self.rotary_dim, 2, dtype=torch.float32) / self.rotary_dim
        return 1.0 / (scaling_factor * self.base**exponents)

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq(self.scaling_factor)
        t = torch.arange(
            math.ceil(self.max_position * self.scaling_factor),
            device=current_platform.device_type,
            dtype=torch.float32,
        )
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1)

    def forward(self, positions: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        offsets = torch.zeros(positions.shape[0], dtype=torch.long, device="cuda")
        cos_sin = self.cos_sin_cache[positions + offsets]
        cos, sin = cos_sin.chunk(2, dim=-1)
        return query * cos.repeat_interleave(2, dim=-1) + query * sin.repeat_interleave(2, dim=-1)
