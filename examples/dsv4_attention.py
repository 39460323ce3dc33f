"""A small, buggy slice of model code: every tensor below is pinned to the platform's device.

Run `devlint check examples/` to see what devlint says, `devlint check --diff examples/` for its fixes.
"""

import math

import torch
from torch import nn

from vllm.platforms import current_platform


class ScalingRotaryEmbedding(nn.Module):
    def __init__(self, rotary_dim: int, max_position: int, scaling_factor: float, base: float = 10000.0) -> None:
        super().__init__()
        self.rotary_dim = rotary_dim
        self.max_position = max_position
        self.scaling_factor = scaling_factor
        self.base = base
        self.register_buffer("cos_sin_cache", self._compute_cos_sin_cache(), persistent=False)

    def _compute_inv_freq(self) -> torch.Tensor:
        exponents = torch.arange(0, self.rotary_dim, 2, dtype=torch.float32) / self.rotary_dim
        return 1.0 / (self.scaling_factor * self.base**exponents)

    def _compute_cos_sin_cache(self) -> torch.Tensor:
        inv_freq = self._compute_inv_freq()
        # The vLLM PR #43926 bug: positions on the platform device, inv_freq on the default device.
        t = torch.arange(
            math.ceil(self.max_position * self.scaling_factor),
            device=current_platform.device_type,
            dtype=torch.float32,
        )
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        return torch.cat((freqs.cos(), freqs.sin()), dim=-1)


class SinkAttention(nn.Module):
    def __init__(self, num_heads: int, head_dim: int) -> None:
        super().__init__()
        self.sinks = nn.Parameter(torch.zeros(num_heads, device=current_platform.device_type))
        self.scale = head_dim**-0.5

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        causal = torch.ones(scores.shape[-1], scores.shape[-1], dtype=torch.bool, device="cuda").triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        noise = torch.empty_like(scores, device="cuda").uniform_(0, 1e-6)
        return torch.matmul(torch.softmax(scores + noise, dim=-1), v)


def slot_mapping(block_table: torch.Tensor, ids: list[int]) -> torch.Tensor:
    index = torch.tensor(ids, dtype=torch.long).cuda()
    return block_table[index]


def positions(n: int, device: str = "cuda") -> torch.Tensor:
    return torch.arange(n, dtype=torch.long, device=device)
