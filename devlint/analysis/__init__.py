"""Facts about one module that every rule shares: computed once per file, asked many times."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from devlint.analysis.devices import PlatformDevice
from devlint.analysis.module import ClassFacts, FunctionFacts, ModuleFacts, collect_module_facts
from devlint.analysis.platform import DEFAULT_TABLE, PlatformDeviceTable
from devlint.analysis.project import ModuleSummary, ProjectFacts, star_names, summarise
from devlint.analysis.siblings import Sibling, SiblingFinder, SiblingRelation
from devlint.analysis.tensors import FactoryKind, code_of
from devlint.analysis.values import DeviceOrigin, EvidenceKind, TensorEvidence, Value, ValueResolver

__all__ = [
    "ClassFacts", "DEFAULT_TABLE", "DeviceOrigin", "EvidenceKind", "FactoryKind", "FunctionFacts",
    "ModuleAnalysis", "ModuleFacts", "PlatformDevice", "PlatformDeviceTable", "Sibling", "SiblingRelation",
    "TensorEvidence", "Value", "ValueResolver", "analyse_module", "code_of",
]


@dataclass
class ModuleAnalysis:
    """A module's facts and the resolver of its values: what every rule is handed."""

    facts: ModuleFacts
    values: ValueResolver
    _finders: dict[int, SiblingFinder] = field(default_factory=dict)

    @property
    def tensors(self) -> ValueResolver:
        """The resolver, asked about tensors (kept for rules written against the earlier two models)."""
        return self.values

    @property
    def devices(self) -> ValueResolver:
        """The resolver, asked about device expressions."""
        return self.values

    def siblings(self, fn: FunctionFacts) -> SiblingFinder:
        finder = self._finders.get(id(fn))
        if finder is None:
            finder = self._finders[id(fn)] = SiblingFinder(self.values, fn)
        return finder


def analyse_module(module: cst.Module, path: str, table: PlatformDeviceTable = DEFAULT_TABLE,
                   package: str | None = None, tree: ast.Module | None = None,
                   text: str | None = None) -> ModuleAnalysis:
    """Analyse one module. `tree` is CPython's parse of the whole file when the caller has it: the module's
    own summary (functions the prefilter kept from LibCST included) is read from it."""
    facts = collect_module_facts(module, path, table, package)
    source_tree = tree

    def own_summary() -> ModuleSummary | None:
        if source_tree is None:
            return None
        return summarise(source_tree, package, table, text)

    project = ProjectFacts.for_file(path, package, table)
    if project is not None and facts.star_imports:
        scope = facts.module_function.scope
        for name, qualified in star_names(project, facts.star_imports).items():
            if name not in scope.imports and name not in scope.shadowed:
                scope.add_import(name, qualified)
    return ModuleAnalysis(facts=facts, values=ValueResolver(facts, project, own_summary))
