"""Facts about one module that every rule shares: computed once per file, asked many times."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from devlint.analysis.devices import PlatformDevice, PlatformDevices
from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts, collect_module_facts
from devlint.analysis.platform import DEFAULT_TABLE, PlatformDeviceTable
from devlint.analysis.siblings import SiblingFinder, code_of
from devlint.analysis.tensors import Sibling, TensorModel

__all__ = [
    "ClassFacts", "FunctionFacts", "ModuleAnalysis", "ModuleFacts", "PlatformDevice", "PlatformDeviceTable",
    "DEFAULT_TABLE", "Sibling", "analyse_module", "code_of",
]


@dataclass
class ModuleAnalysis:
    facts: ModuleFacts
    tensors: TensorModel
    devices: PlatformDevices
    _finders: dict[int, SiblingFinder] = field(default_factory=dict)

    def siblings(self, fn: FunctionFacts) -> SiblingFinder:
        finder = self._finders.get(id(fn))
        if finder is None:
            finder = self._finders[id(fn)] = SiblingFinder(self.tensors, fn)
        return finder


def analyse_module(module: cst.Module, path: str, table: PlatformDeviceTable = DEFAULT_TABLE,
                   package: str | None = None) -> ModuleAnalysis:
    facts = collect_module_facts(module, path, table, package)
    tensors = TensorModel(facts)
    return ModuleAnalysis(facts=facts, tensors=tensors, devices=PlatformDevices(facts, tensors))
