"""Facts across modules: what a name imported from another module of the same package is.

When `model.py` does `from .utils import get_device, DEVICE` or `from ..layers import RotaryCache`,
devlint looks at those modules — with CPython's parser, never importing anything — and summarises what a
rule may need: module-level names bound to a platform device, helpers whose every return is a platform
device (or a platform choice with `"cpu"` as one branch), functions and methods annotated to return a
tensor, classes whose fields are annotated as tensors, and `nn.Module` subclasses. Summaries are cached
by file content, so each module of a package is read once per process however many files import it.

The package root is found from `__init__.py` files (the same way `package_of` names a file's package),
so a single file checked by pre-commit gets the same facts as a whole-repository run.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field

from devlint.analysis.names import resolve_relative
from devlint.analysis.platform import PlatformDeviceTable

MAX_HOPS = 4
"""Re-exports followed (`from .common import *`, `from .real import get_accelerator`) before giving up."""


@dataclass
class ModuleSummary:
    """What other modules may want to know about one module (names are module-level)."""

    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    star_imports: list[str] = field(default_factory=list)  # modules imported with `*`
    platform_constants: dict[str, str] = field(default_factory=dict)  # name -> the platform expression
    platform_helpers: dict[str, str] = field(default_factory=dict)  # function -> what it returns, in words
    cpu_choices: set[str] = field(default_factory=set)  # helpers that return "cpu" on some path
    tensor_functions: set[str] = field(default_factory=set)
    tensor_methods: dict[str, set[str]] = field(default_factory=dict)  # class -> methods returning tensors
    tensor_fields: dict[str, set[str]] = field(default_factory=dict)  # class -> fields annotated as tensors
    module_classes: set[str] = field(default_factory=set)  # nn.Module subclasses
    # Where each was annotated, so a message reads the same whether or not LibCST saw the definition:
    # function -> (annotation as written, line of `def`); class -> line of `class`.
    annotations: dict[str, tuple[str, int]] = field(default_factory=dict)
    class_lines: dict[str, int] = field(default_factory=dict)


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


@dataclass(frozen=True)
class CallChain:
    """`get_accelerator().device_name(i)` read as head `get_accelerator` and tail `().device_name()`."""

    head: str
    tail: str
    with_arguments: bool  # some call in the chain has arguments


def call_chain(node: ast.expr) -> CallChain | None:
    """A Name/Attribute/Call chain as a platform-table signature (`()` marks a call), or None for anything else.
    Shared by the module summaries and the fix clean-up, which both match CPython trees against the table."""
    suffix: list[str] = []
    with_arguments = False
    while True:
        if isinstance(node, ast.Call):
            with_arguments = with_arguments or bool(node.args or node.keywords)
            suffix.append("()")
            node = node.func
        elif isinstance(node, ast.Attribute):
            suffix.append("." + node.attr)
            node = node.value
        else:
            break
    if not isinstance(node, ast.Name):
        return None
    return CallChain(node.id, "".join(reversed(suffix)), with_arguments)


class _Summariser:
    def __init__(self, tree: ast.Module, package: str | None, table: PlatformDeviceTable,
                 text: str | None = None) -> None:
        self.tree = tree
        self.text = text
        self.package = package
        self.table = table
        self.pattern = table.device_string_pattern()
        self.summary = ModuleSummary()

    def run(self) -> ModuleSummary:
        summary = self.summary
        todo: list[ast.stmt] = list(self.tree.body)
        while todo:  # imports at module level, inside `if TYPE_CHECKING:` and `try:` blocks too
            node = todo.pop(0)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._imports(node)
            elif isinstance(node, (ast.If, ast.Try)):
                todo.extend(node.body)
                todo.extend(node.orelse)
                todo.extend(stmt for handler in getattr(node, "handlers", ()) for stmt in handler.body)
        functions = {n.name: n for n in self.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        helpers = self._helper_candidates(functions)
        returns = {name: self._returns_of(functions[name]) for name in helpers}
        classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        for name, function in functions.items():
            if function.returns is not None and self._is_tensor_annotation(function.returns):
                summary.tensor_functions.add(name)
                summary.annotations[name] = (ast.unparse(function.returns), function.lineno)
        for name, cls in classes.items():
            methods = {m.name for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and m.returns is not None and self._is_tensor_annotation(m.returns)}
            if methods:
                summary.tensor_methods[name] = methods
            fields = {s.target.id for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                      and self._is_tensor_annotation(s.annotation)}
            if fields:
                summary.tensor_fields[name] = fields
            summary.class_lines[name] = cls.lineno
        changed = True
        while changed:  # base classes defined later in the file, chains of platform constants and helpers
            changed = False
            for name, cls in classes.items():
                if name not in summary.module_classes and any(self._is_module_base(b) for b in cls.bases):
                    summary.module_classes.add(name)
                    changed = True
            for node in self.tree.body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    found = self._platform(node.value)
                    for target in targets:
                        if isinstance(target, ast.Name) and found and target.id not in summary.platform_constants:
                            summary.platform_constants[target.id] = found
                            changed = True
            for name, values in returns.items():
                if name in summary.platform_helpers or values is None:
                    continue
                helper = self._helper_returns(values)
                if helper:
                    summary.platform_helpers[name] = helper[0]
                    if helper[1]:
                        summary.cpu_choices.add(name)
                    changed = True
        return summary

    def _imports(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.summary.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    self.summary.imports[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(node.module, node.level, self.package)
            if base is None:
                return
            for alias in node.names:
                if alias.name == "*":
                    self.summary.star_imports.append(base)
                else:
                    self.summary.imports[alias.asname or alias.name] = f"{base}.{alias.name}"

    def _qualified(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        base = self.summary.imports.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def _is_tensor_annotation(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return False
        if isinstance(node, (ast.Name, ast.Attribute)):
            dotted = _dotted(node)
            qualified = self._qualified(dotted) if dotted else None
            return qualified is not None and qualified.startswith("torch.") and qualified.endswith(("Tensor", "Parameter"))
        if isinstance(node, ast.BinOp):
            return self._is_tensor_annotation(node.left) or self._is_tensor_annotation(node.right)
        if isinstance(node, ast.Subscript):
            head = (_dotted(node.value) or "").rsplit(".", 1)[-1]
            if head in ("Optional", "Union"):
                inner = node.slice
                elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
                return any(self._is_tensor_annotation(e) for e in elements)
        return False

    def _is_module_base(self, node: ast.expr) -> bool:
        dotted = _dotted(node)
        if dotted is None:
            return False
        if dotted in self.summary.module_classes:
            return True
        qualified = self._qualified(dotted)
        return qualified is not None and qualified.startswith("torch.nn.")

    def _signature(self, node: ast.expr) -> str | None:
        chain = call_chain(node)
        if chain is None:
            return None
        base = self.summary.imports.get(chain.head)
        return base + chain.tail if base is not None else None

    def _platform(self, node: ast.expr) -> str | None:
        """The platform expression `node` names, in words, or None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return repr(node.value) if self.pattern.fullmatch(node.value) else None
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                word = first.value.split(":", 1)[0]
                if self.pattern.fullmatch(word):
                    return f'f"{word}:..."'
            return None
        if isinstance(node, ast.IfExp):
            return self._platform(node.body) or self._platform(node.orelse)
        if isinstance(node, ast.Name):
            if node.id in self.summary.platform_constants:
                return f"`{node.id}` ({self.summary.platform_constants[node.id]})"
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "format" and isinstance(func.value, ast.Constant):
                return self._platform(func.value)
            if isinstance(func, ast.Name) and func.id in self.summary.platform_helpers:
                return f"`{func.id}()`"
            dotted = _dotted(func)
            if dotted is not None and self._qualified(dotted) == "torch.device" and node.args:
                return self._platform(node.args[0])
        signature = self._signature(node)
        if signature is not None:
            for entry in self.table.signatures:
                if signature == entry or signature.endswith("." + entry) or _continues(signature, entry):
                    return f"`{entry}`"
        return None

    def _helper_candidates(self, functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> list[str]:
        """Functions that may return a platform device: those with a `return` line holding a platform token
        (read from the text, so the bodies of all other functions are never walked)."""
        if self.text is None:
            return list(functions)
        tokens = self.table.prefilter_tokens + tuple(functions)
        rows = [row for row, line in enumerate(self.text.splitlines(), start=1)
                if "return" in line and any(token in line for token in tokens)]
        if not rows:
            return []
        spans = sorted((f.lineno, f.end_lineno or f.lineno, name) for name, f in functions.items())
        found = []
        for first, last, name in spans:
            if any(first <= row <= last for row in rows):
                found.append(name)
        return found

    @staticmethod
    def _returns_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr] | None:
        returns: list[ast.expr] = []
        stack: list[ast.AST] = list(function.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Return):
                if node.value is None:
                    return None
                returns.append(node.value)
            elif isinstance(node, ast.stmt):
                stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)
                             or isinstance(child, ast.excepthandler))
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)
        return returns or None

    def _helper_returns(self, returns: list[ast.expr]) -> tuple[str, bool] | None:
        """`'cuda'` (or "a platform device or 'cpu'") when every `return` of the function names the platform
        device, or the CPU as the other branch of a platform choice."""
        platform: str | None = None
        cpu = False
        for value in returns:
            found = self._platform(value)
            if found is not None:
                platform = platform or found
                continue
            if isinstance(value, ast.Constant) and value.value == "cpu":
                cpu = True
                continue
            return None
        if platform is None:
            return None
        return f"returns {platform}" + (" or 'cpu'" if cpu else ""), cpu


def _continues(signature: str, entry: str) -> bool:
    """`x.current_device().type` continues the entry `x.current_device()`."""
    return signature.startswith(entry) and re.fullmatch(r"(?:\.(?:device|device_type|type))", signature[len(entry):]) is not None


def summarise(tree: ast.Module, package: str | None, table: PlatformDeviceTable,
              text: str | None = None) -> ModuleSummary:
    return _Summariser(tree, package, table, text).run()


_CACHE: dict[tuple[str, str], ModuleSummary] = {}
_STAT: dict[str, tuple[tuple[int, int], str]] = {}
_READ: dict[str, tuple[int, int, int] | None] = {}


def take_modules_read() -> dict[str, tuple[int, int, int] | None]:
    """The module files read (path -> (mtime_ns, size, inode) before reading) or looked for and absent (None)
    since the last call: the other files the findings of the file checked meanwhile depend on
    (`FileResult.dependencies`)."""
    found = dict(_READ)
    _READ.clear()
    return found


def _summary_of_file(path: str, package: str | None, table: PlatformDeviceTable) -> ModuleSummary | None:
    try:
        stat = os.stat(path)
    except OSError:
        _READ[path] = None
        return None
    _READ[path] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)  # taken before reading: an edit meanwhile shows
    key_stat = (stat.st_mtime_ns, stat.st_size)
    known = _STAT.get(path)
    digest: str
    if known is not None and known[0] == key_stat:
        digest = known[1]
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        _STAT[path] = (key_stat, digest)
        cache_key = (digest, f"{package}|{sorted(table.signatures)}|{sorted(table.device_types)}")
        if cache_key not in _CACHE:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                _CACHE[cache_key] = ModuleSummary()
            else:
                _CACHE[cache_key] = summarise(tree, package, table, data.decode("utf-8", "replace"))
        return _CACHE[cache_key]
    return _CACHE.get((digest, f"{package}|{sorted(table.signatures)}|{sorted(table.device_types)}"))


class ProjectFacts:
    """Facts about the modules of the package a checked file belongs to."""

    def __init__(self, root: str, top_package: str, table: PlatformDeviceTable) -> None:
        self.root = root  # the folder holding the top-level package
        self.top_package = top_package
        self.table = table

    @classmethod
    def for_file(cls, path: str, package: str | None, table: PlatformDeviceTable) -> ProjectFacts | None:
        if not package:
            return None
        folder = os.path.dirname(os.path.abspath(path))
        depth = package.count(".") + 1
        root = folder
        for _ in range(depth):
            root = os.path.dirname(root)
        return cls(root, package.split(".", 1)[0], table)

    def _module_file(self, module: str) -> tuple[str, str] | None:
        """(path, package) of a module of this project, or None for anything outside it."""
        if module.split(".", 1)[0] != self.top_package:
            return None
        base = os.path.join(self.root, *module.split("."))
        if os.path.isfile(base + ".py"):
            return base + ".py", module.rsplit(".", 1)[0]
        _READ.setdefault(base + ".py", None)  # absent: a module created there later changes what names mean
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init):
            return init, module
        _READ.setdefault(init, None)
        return None

    def summary(self, module: str) -> ModuleSummary | None:
        found = self._module_file(module)
        if found is None:
            return None
        return _summary_of_file(found[0], found[1], self.table)

    def _find(self, qualified: str, hops: int = 0) -> tuple[ModuleSummary, str] | None:
        """The summary of the module that defines `qualified` (`pkg.mod.name`), following re-exports."""
        if hops > MAX_HOPS or "." not in qualified:
            return None
        module, _, name = qualified.rpartition(".")
        summary = self.summary(module)
        if summary is None:
            # `pkg.mod.Class.attr`: one level deeper.
            return None
        if (name in summary.platform_constants or name in summary.platform_helpers
                or name in summary.tensor_functions or name in summary.tensor_fields
                or name in summary.module_classes or name in summary.tensor_methods):
            return summary, name
        if name in summary.imports:
            return self._find(summary.imports[name], hops + 1)
        for star in summary.star_imports:
            found = self._find(f"{star}.{name}", hops + 1)
            if found is not None:
                return found
        return None

    def platform_constant(self, qualified: str) -> str | None:
        found = self._find(qualified)
        if found is None:
            return None
        summary, name = found
        value = summary.platform_constants.get(name)
        return f"`{qualified}` is {value}" if value else None

    def platform_helper(self, qualified: str) -> tuple[str, bool] | None:
        """(why, whether "cpu" is one of its choices) for a helper that returns the platform device."""
        found = self._find(qualified)
        if found is None:
            return None
        summary, name = found
        value = summary.platform_helpers.get(name)
        return (f"`{qualified}()` {value}", name in summary.cpu_choices) if value else None

    def returns_tensor(self, qualified: str) -> bool:
        found = self._find(qualified)
        return found is not None and found[1] in found[0].tensor_functions

    def tensor_field(self, qualified_class: str, attr: str) -> bool:
        found = self._find(qualified_class)
        return found is not None and attr in found[0].tensor_fields.get(found[1], ())

    def is_module_class(self, qualified_class: str) -> bool:
        found = self._find(qualified_class)
        return found is not None and found[1] in found[0].module_classes


def star_names(project: ProjectFacts, modules: list[str]) -> dict[str, str]:
    """Names that `from m import *` of the package's own modules bring: what each module imports (its own
    `import torch` included) and the facts it defines, to the qualified name each stands for."""
    found: dict[str, str] = {}
    todo = [(m, 0) for m in modules]
    seen: set[str] = set()
    while todo:
        module, hops = todo.pop(0)
        if module in seen or hops > MAX_HOPS:
            continue
        seen.add(module)
        summary = project.summary(module)
        if summary is None:
            continue
        for name, qualified in summary.imports.items():
            found.setdefault(name, qualified)
        defined = (set(summary.platform_constants) | set(summary.platform_helpers) | summary.tensor_functions
                   | summary.module_classes | set(summary.tensor_fields))
        for name in defined:
            found.setdefault(name, f"{module}.{name}")
        todo.extend((star, hops + 1) for star in summary.star_imports)
    return {name: qualified for name, qualified in found.items() if not name.startswith("_")}
