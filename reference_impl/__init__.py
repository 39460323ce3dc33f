"""A reference DeepSeek V3/V4 YaRN rotary embedding in plain torch (see `reference_impl.rope`).

This package needs torch (`pip install devlint[reference]`); devlint itself never imports it.
"""

from reference_impl.rope import (
    DeepseekScalingRotaryEmbedding,
    DeepseekV4ScalingRotaryEmbedding,
    yarn_find_correction_dim,
    yarn_find_correction_range,
    yarn_get_mscale,
    yarn_linear_ramp_mask,
)

__all__ = [
    "DeepseekScalingRotaryEmbedding",
    "DeepseekV4ScalingRotaryEmbedding",
    "yarn_find_correction_dim",
    "yarn_find_correction_range",
    "yarn_get_mscale",
    "yarn_linear_ramp_mask",
]
