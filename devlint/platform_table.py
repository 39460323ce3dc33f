"""The platform-device table: which expressions name "the device this process computes on".

Kept as data so that configuration can extend it. An entry is either

* a device-type word (`"cuda"`): string literals `"cuda"`, `"cuda:1"` and f-strings starting `f"cuda:{i}"`
  name the platform device; or
* an expression signature, a dotted path where `()` marks a call: `torch.cuda.current_device()`,
  `vllm.platforms.current_platform.device_type`, `get_accelerator().current_device_name()`. A signature is
  matched after import aliases are resolved, so `from vllm.platforms import current_platform as cp;
  cp.device_type` matches, while a parameter that happens to be called `torch` does not.

Free of LibCST, so that the prefilter, which needs only the table's tokens, never loads the parser; the
matching of expressions, which does, is in `devlint.analysis.platform`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_DEVICE_TYPES: tuple[str, ...] = ("cuda", "xpu", "npu", "hpu", "mps")

# Framework platform APIs, module-qualified: each matches only when imported from that framework, so they
# cost no precision elsewhere. Found by reading the platform modules of the frameworks' released wheels.
FRAMEWORK_SIGNATURES: dict[str, tuple[str, ...]] = {
    "torch": (
        "torch.cuda.current_device()",
        "torch.accelerator.current_accelerator()",
        "torch.accelerator.current_device_index()",
        "torch.xpu.current_device()",
        "torch.npu.current_device()",
        "torch.mlu.current_device()",
        "torch.musa.current_device()",
        "torch.hpu.current_device()",
        "torch.get_device_module().current_device()",
    ),
    "vLLM (vllm.platforms)": (
        "vllm.platforms.current_platform.device_type",
        "vllm.platforms.current_platform.device_name",
        "vllm.platforms.current_platform.current_device()",
    ),
    "SGLang (sglang.srt.utils, sglang.srt.platforms)": (
        "sglang.srt.utils.get_device()",
        "sglang.srt.utils.common.get_device()",
        "sglang.srt.platforms.current_platform.device_type",
        "sglang.srt.platforms.current_platform.get_local_torch_device()",
    ),
    "DeepSpeed (deepspeed.accelerator)": (
        "deepspeed.accelerator.get_accelerator().current_device_name()",
        "deepspeed.accelerator.get_accelerator().device_name()",
        "deepspeed.accelerator.get_accelerator().current_device()",
        "deepspeed.accelerator.get_accelerator().device()",
        "deepspeed.accelerator.real_accelerator.get_accelerator().current_device_name()",
        "deepspeed.accelerator.real_accelerator.get_accelerator().device_name()",
        "deepspeed.accelerator.real_accelerator.get_accelerator().current_device()",
    ),
    "LMDeploy (lmdeploy.pytorch.devices)": (
        "lmdeploy.pytorch.devices.get_device_manager().current_context().device_type",
        "lmdeploy.pytorch.devices.device_manager.get_device_manager().current_context().device_type",
    ),
}

DEFAULT_SIGNATURES: tuple[str, ...] = tuple(entry for group in FRAMEWORK_SIGNATURES.values() for entry in group)


_GENERIC_NAMES = frozenset({"device", "type", "to", "get", "name"})


@dataclass(frozen=True)
class PlatformDeviceTable:
    """Which expressions name the platform device: device-type words and expression signatures."""

    device_types: frozenset[str]
    signatures: frozenset[str]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> PlatformDeviceTable:
        """Build a table from user-facing entries: words are device types, dotted or called paths are signatures."""
        types: set[str] = set()
        signatures: set[str] = set()
        for entry in entries:
            (signatures if ("." in entry or entry.endswith("()")) else types).add(entry)
        return cls(frozenset(types), frozenset(signatures))

    def extended(self, entries: Iterable[str]) -> PlatformDeviceTable:
        extra = PlatformDeviceTable.from_entries(entries)
        return PlatformDeviceTable(self.device_types | extra.device_types, self.signatures | extra.signatures)

    @property
    def prefilter_tokens(self) -> tuple[str, ...]:
        """Substrings at least one of which must occur in a file that can hold a platform device.

        A device word can only matter as the start of a string literal (`"cuda"`, `f"cuda:{i}"`), so the
        token includes its quote; that skips the many files that merely call `torch.cuda.synchronize()`.
        A device word as a method (`.cuda(`) is a move."""
        tokens = {quote + word for word in self.device_types for quote in ('"', "'")}
        tokens.update(f".{word}(" for word in self.device_types)  # moves: `x.cuda()`, `x.xpu()`
        for signature in self.signatures:
            # The last name of a signature survives any aliasing of its head (`cp.device_type`); a name too
            # common to filter anything (`get_accelerator().device()`) gives way to the one before it.
            names = re.findall(r"[A-Za-z_]\w*", signature)
            while len(names) > 1 and names[-1] in _GENERIC_NAMES:
                names.pop()
            last = names[-1]
            # A helper called by its own name (`get_device()`) is looked for with its parenthesis, so that
            # `get_device_capability(` elsewhere sends no file to the parser.
            tokens.add(last + "(" if signature.endswith(last + "()") else last)
        return tuple(sorted(tokens))

    def device_string_pattern(self) -> re.Pattern[str]:
        words = "|".join(re.escape(t) for t in sorted(self.device_types))
        return re.compile(rf"(?:{words})(?::\d+)?")


DEFAULT_TABLE = PlatformDeviceTable.from_entries(DEFAULT_DEVICE_TYPES + DEFAULT_SIGNATURES)
