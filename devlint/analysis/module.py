"""One pass over a module that collects the facts every rule shares.

The walk records, per function (the module body counts as one), what each name is bound to and in which
order things happen (a sequence number per event), which calls and operators appear, and, per class, what
`self.<attr>` is assigned and which methods return tensors. Rules never walk the tree themselves; they ask
these facts questions (see `tensors.py` and `devices.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from devlint.analysis.names import Scope, dotted_name, import_bindings, names_bound_by_target, resolve_relative
from devlint.analysis.platform import PlatformDeviceTable
from devlint.analysis.walk import child_nodes, contains, has_children

END_OF_FUNCTION = 1 << 62
"""An event number after every event of a function: "as the function stands when it has run"."""


@dataclass
class Binding:
    """`name` bound at event `seq`. `value` is the bound expression when we know it; `element_of` is set
    when the name is one element of a tuple unpacking (`cos, sin = cache.chunk(2)`)."""

    seq: int
    value: cst.BaseExpression | None
    node: cst.CSTNode
    element_of: cst.BaseExpression | None = None
    annotation: cst.BaseExpression | None = None
    index: int | None = None  # the position of the name in a flat tuple target (`a, b = x, y`)
    # The branches of enclosing `if` statements this binding sits in: ((id of the If, 0 body / 1 else), ...).
    branches: tuple[tuple[int, int], ...] = ()


@dataclass
class AttrAssignment:
    """`self.<attr> = value` inside method `function`."""

    function: FunctionFacts
    value: cst.BaseExpression | None
    seq: int
    node: cst.CSTNode


@dataclass
class FunctionFacts:
    """What one function (or lambda, or the module body) binds, calls and returns, in event order."""

    node: cst.FunctionDef | cst.Lambda | cst.Module
    name: str
    scope: Scope
    parent: FunctionFacts | None
    cls: ClassFacts | None = None  # set for methods (functions defined directly in a class body)
    self_name: str | None = None
    params: dict[str, cst.Param] = field(default_factory=dict)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    # `self.<attr> = value` in this function, as bindings (in order, with their branches).
    attr_bindings: dict[str, list[Binding]] = field(default_factory=dict)
    calls: list[tuple[int, cst.Call]] = field(default_factory=list)
    operators: list[tuple[int, cst.CSTNode]] = field(default_factory=list)  # BinaryOperation/Comparison/Subscript
    item_assignments: list[tuple[int, cst.Assign | cst.AugAssign]] = field(default_factory=list)
    ifs: list[tuple[int, cst.If]] = field(default_factory=list)
    withs: list[cst.With] = field(default_factory=list)
    return_values: list[tuple[int, cst.BaseExpression]] = field(default_factory=list)
    seq_of: dict[cst.CSTNode, int] = field(default_factory=dict)
    returns: cst.BaseExpression | None = None
    # Heads of `if` chains that end in `else` (shared by every function of a module).
    complete_chains: set[int] = field(default_factory=set)
    # Branches that end in `return`/`raise`/`continue`/`break`: (head, index) -> the last event in them. What
    # they bind never reaches the code after the `if`.
    terminated: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def is_module(self) -> bool:
        return isinstance(self.node, cst.Module)

    def binding_before(self, name: str, seq: int) -> Binding | None:
        """The latest binding of `name` in this function that completed before event `seq`."""
        latest = None
        for binding in self.bindings.get(name, ()):
            if binding.seq < seq:
                latest = binding
        return latest

    def bindings_reaching(self, name: str, seq: int) -> list[Binding]:
        """Every binding of `name` that may hold when event `seq` runs: the latest one, and the bindings
        it is an alternative to (`if c: x = a` / `else: x = b`), or that a branch without `else` may leave
        in place (`x = a` / `if c: x = b`). Latest first."""
        before = [b for b in self.bindings.get(name, ()) if b.seq < seq and not self._left_behind(b, seq)]
        if not before:
            return []
        found = [before[-1]]
        for earlier in reversed(before[:-1]):
            if all(_alternatives(earlier, later) for later in found):
                found.append(earlier)
                continue
            if all(self._may_skip(earlier, later) for later in found):
                found.append(earlier)
            break
        return found

    def _left_behind(self, binding: Binding, seq: int) -> bool:
        """The binding sits in a branch that returns (or raises) before event `seq` runs."""
        for tag in binding.branches:
            end = self.terminated.get(tag)
            if end is not None and end < seq:
                return True
        return False

    def _may_skip(self, earlier: Binding, later: Binding) -> bool:
        """`later` sits in a branch `earlier` is not in, of a chain with no `else`: `earlier` may survive."""
        return any(tag not in earlier.branches and tag[0] not in self.complete_chains for tag in later.branches)

    def dominating_attr_binding(self, attr: str, seq: int, site: cst.CSTNode) -> Binding | None:
        """The latest `self.<attr> = ...` of this function before event `seq` that surely ran when `site`
        runs: it sits in no branch of an `if` that `site` is not also inside."""
        latest = None
        for binding in self.attr_bindings.get(attr, ()):
            if binding.seq < seq:
                latest = binding
        if latest is None or latest.value is None:
            return None
        for head, index in latest.branches:
            block = self._branch_block(head, index)
            if block is None or not contains(block, site):
                return None
        return latest

    def _branch_block(self, head: int, index: int) -> cst.BaseSuite | None:
        node: cst.If | None = next((n for _, n in self.ifs if id(n) == head), None)
        while node is not None:
            if index == 0:
                return node.body
            index -= 1
            orelse = node.orelse
            if isinstance(orelse, cst.Else):
                return orelse.body if index == 0 else None
            node = orelse
        return None

    def last_binding(self, name: str) -> Binding | None:
        found = self.bindings.get(name)
        return found[-1] if found else None

    def binds(self, name: str) -> bool:
        return name in self.params or name in self.bindings




def _ends_the_flow(block: cst.BaseSuite) -> bool:
    """The block's last statement leaves it for good: `return`, `raise`, `continue`, `break`."""
    body = block.body
    if not body:
        return False
    last = body[-1]
    if isinstance(last, cst.SimpleStatementLine) and last.body:
        last = last.body[-1]
    return isinstance(last, (cst.Return, cst.Raise, cst.Continue, cst.Break))


def _alternatives(one: Binding, other: Binding) -> bool:
    """The two bindings sit in different branches of one `if`/`elif`/`else` chain."""
    heads = dict(one.branches)
    return any(head in heads and heads[head] != index for head, index in other.branches)


@dataclass
class ClassFacts:
    """One class: its bases, methods, `self.<attr>` assignments and registered buffers or parameters."""

    node: cst.ClassDef
    name: str
    base_names: list[str]
    bases: list[cst.BaseExpression]
    methods: dict[str, FunctionFacts] = field(default_factory=dict)
    attr_assignments: dict[str, list[AttrAssignment]] = field(default_factory=dict)
    buffers: dict[str, cst.Call] = field(default_factory=dict)  # register_buffer / register_parameter
    annotated_tensor_attrs: set[str] = field(default_factory=set)


@dataclass
class ModuleFacts:
    """The facts of one module: every function and class of it, and its star imports."""

    module: cst.Module
    path: str
    table: PlatformDeviceTable
    module_function: FunctionFacts
    functions: list[FunctionFacts]
    classes: dict[str, ClassFacts]
    star_imports: list[str] = field(default_factory=list)  # modules imported with `from m import *`
    _top_level: dict[str, FunctionFacts] | None = field(default=None, init=False, repr=False, compare=False)

    def top_level_functions(self) -> dict[str, FunctionFacts]:
        """The module-level functions by name (a later definition wins), built once per module."""
        if self._top_level is None:
            self._top_level = {fn.name: fn for fn in self.functions
                               if fn.parent is self.module_function and fn.cls is None}
        return self._top_level

    def class_chain(self, cls: ClassFacts) -> list[ClassFacts]:
        """`cls` and its base classes defined in this module, nearest first (a simple MRO)."""
        chain, todo, seen = [], [cls], set()
        while todo:
            current = todo.pop(0)
            if current.name in seen:
                continue
            seen.add(current.name)
            chain.append(current)
            todo.extend(self.classes[b] for b in current.base_names if b in self.classes)
        return chain

    def find_method(self, cls: ClassFacts, name: str) -> FunctionFacts | None:
        for current in self.class_chain(cls):
            if name in current.methods:
                return current.methods[name]
        return None


class _FactCollector:
    """Handlers named `visit_<NodeType>` (return False to skip children) and `leave_<NodeType>`, driven by
    `run` rather than LibCST's slower visitor machinery."""

    def __init__(self, module: cst.Module, package: str | None) -> None:
        self.package = package
        self.seq = 0
        module_scope = Scope()
        self.module_function = FunctionFacts(node=module, name="<module>", scope=module_scope, parent=None)
        self.functions: list[FunctionFacts] = [self.module_function]
        self.classes: dict[str, ClassFacts] = {}
        self.function_stack: list[FunctionFacts] = [self.module_function]
        self.class_stack: list[ClassFacts | None] = [None]
        self.branch_stack: list[tuple[int, int]] = []
        self.star_imports: list[str] = []
        # `if`/`elif`/`else` chains: each block's (chain head, branch index); heads of chains ending in `else`.
        self.block_owner: dict[int, tuple[int, int]] = {}
        self.chain_of: dict[int, tuple[int, int]] = {}
        self.complete_chains: set[int] = self.module_function.complete_chains
        self.terminated: dict[tuple[int, int], int] = self.module_function.terminated

    def run(self, module: cst.Module) -> None:
        """`walk.walk`'s depth-first, pre-order walk, inlined: most node types have no handler, and a node
        without a `leave_` handler needs no entry on the stack for its leaving."""
        handlers: dict[type, tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None, bool]] = {}
        # A node to enter, or (node, its leave handler) once its children are done.
        stack: list[Any] = [module]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            node = pop()
            kind = type(node)
            if kind is tuple:
                node[1](node[0])
                continue
            found = handlers.get(kind)
            if found is None:
                found = handlers[kind] = (getattr(self, "visit_" + kind.__name__, None),
                                          getattr(self, "leave_" + kind.__name__, None), has_children(kind))
            visit, leave, parent = found
            if leave is not None:
                push((node, leave))
            if (visit is None or visit(node) is not False) and parent:
                children = child_nodes(node)
                children.reverse()
                extend(children)

    # -- helpers ---------------------------------------------------------------------------------------
    @property
    def function(self) -> FunctionFacts:
        return self.function_stack[-1]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def bind(self, name: str, binding: Binding) -> None:
        if self.class_stack[-1] is not None:
            return  # a name in a class body is a class attribute, not a variable of the enclosing scope
        if self.branch_stack:
            binding.branches = tuple(self.branch_stack)
        self.function.bindings.setdefault(name, []).append(binding)
        self.function.scope.add_local(name)

    def bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None, node: cst.CSTNode,
                    seq: int, annotation: cst.BaseExpression | None = None) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, Binding(seq, value, node, annotation=annotation))
        elif isinstance(target, (cst.Tuple, cst.List)):
            flat = all(isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in target.elements)
            for position, name in enumerate(names_bound_by_target(target)):
                self.bind(name, Binding(seq, None, node, element_of=value, index=position if flat else None))
        elif isinstance(target, cst.Attribute) and self._is_self(target.value):
            cls = self.function.cls
            assert cls is not None
            cls.attr_assignments.setdefault(target.attr.value, []).append(
                AttrAssignment(self.function, value, seq, node)
            )
            self.function.attr_bindings.setdefault(target.attr.value, []).append(
                Binding(seq, value, node, branches=tuple(self.branch_stack)))

    def _is_self(self, node: cst.BaseExpression) -> bool:
        fn = self.function
        return fn.self_name is not None and isinstance(node, cst.Name) and node.value == fn.self_name

    # -- scopes ----------------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        for local, qualified in import_bindings(node, self.package):
            self.function.scope.add_import(local, qualified)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        for local, qualified in import_bindings(node, self.package):
            self.function.scope.add_import(local, qualified)
        if isinstance(node.names, cst.ImportStar) and self.function.is_module:
            module = dotted_name(node.module) if node.module is not None else None
            base = resolve_relative(module, len(node.relative), self.package)
            if base is not None:
                self.star_imports.append(base)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bind(node.name.value, Binding(self.next_seq(), None, node))
        bases = []
        for arg in node.bases:
            if isinstance(arg.value, cst.Name):
                bases.append(arg.value.value)
            elif isinstance(arg.value, cst.Attribute):
                bases.append(arg.value.attr.value)
        facts = ClassFacts(node=node, name=node.name.value, base_names=bases, bases=[a.value for a in node.bases])
        self.classes.setdefault(facts.name, facts)
        self.class_stack.append(facts)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bind(node.name.value, Binding(self.next_seq(), None, node))
        enclosing_class = self.class_stack[-1]
        parent = self.function
        facts = FunctionFacts(node=node, name=node.name.value, scope=Scope(parent.scope, is_function=True),
                              parent=parent, returns=node.returns.annotation if node.returns else None,
                              complete_chains=self.complete_chains, terminated=self.terminated)
        all_params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for extra in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(extra, cst.Param):
                all_params.append(extra)
        for param in all_params:
            facts.params[param.name.value] = param
            facts.scope.add_local(param.name.value)
        if enclosing_class is not None:
            facts.cls = enclosing_class
            enclosing_class.methods.setdefault(facts.name, facts)
            is_static = any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                            for d in node.decorators)
            positional = [*node.params.posonly_params, *node.params.params]
            if positional and not is_static:
                facts.self_name = positional[0].name.value
        self.functions.append(facts)
        self.function_stack.append(facts)
        self.class_stack.append(None)  # a class body's names are not visible inside its methods

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.function_stack.pop()
        self.class_stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        # A lambda is a small function of its own: its parameters shadow, its calls are its events. It sees
        # `self` of the method it is written in.
        parent = self.function
        facts = FunctionFacts(node=node, name="<lambda>", scope=Scope(parent.scope, is_function=True),
                              parent=parent, complete_chains=self.complete_chains, terminated=self.terminated,
                              cls=parent.cls,
                              self_name=parent.self_name)
        params = node.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            facts.params[param.name.value] = param
            facts.scope.add_local(param.name.value)
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                facts.params[extra.name.value] = extra
                facts.scope.add_local(extra.name.value)
        self.functions.append(facts)
        self.function_stack.append(facts)
        self.class_stack.append(None)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.function.return_values.append((self.next_seq(), node.body))
        self.function_stack.pop()
        self.class_stack.pop()

    # -- class bodies ----------------------------------------------------------------------------------
    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        cls = self.class_stack[-1]
        if cls is not None and isinstance(node.target, cst.Name) and _mentions_tensor_type(node.annotation.annotation):
            cls.annotated_tensor_attrs.add(node.target.value)

    # -- bindings --------------------------------------------------------------------------------------
    def leave_Assign(self, node: cst.Assign) -> None:
        seq = self.next_seq()
        for target in node.targets:
            if isinstance(target.target, cst.Subscript) or (
                    isinstance(target.target, cst.Attribute) and target.target.attr.value == "grad"):
                self.function.item_assignments.append((seq, node))  # `p.grad = g` must share p's device
            self.bind_target(target.target, node.value, node, seq)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        seq = self.next_seq()
        self.bind_target(node.target, node.value, node, seq,
                         annotation=node.annotation.annotation)

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        seq = self.next_seq()
        self.function.item_assignments.append((seq, node))
        if isinstance(node.target, cst.Name):
            # `x += y` keeps x's kind; record it as bound to the operation's left side.
            self.bind(node.target.value, Binding(seq, node.target, node))

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind_target(node.target, node.value, node, self.next_seq())

    def visit_For(self, node: cst.For) -> None:
        self._bind_unknown(node.target, node)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_unknown(node.target, node)

    def visit_With(self, node: cst.With) -> None:
        self.function.withs.append(node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_unknown(node.asname.name, node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_unknown(node.name.name, node)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.function.scope.shadowed.discard(item.name.value)

    def _bind_unknown(self, target: cst.BaseExpression, node: cst.CSTNode) -> None:
        seq = self.next_seq()
        for name in names_bound_by_target(target):
            self.bind(name, Binding(seq, None, node))

    # -- events ----------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        seq = self.next_seq()
        self.function.seq_of[node] = seq
        self.function.calls.append((seq, node))
        cls = self.function.cls
        func = node.func
        if (cls is not None and isinstance(func, cst.Attribute) and self._is_self(func.value)
                and func.attr.value in ("register_buffer", "register_parameter") and node.args
                and isinstance(node.args[0].value, cst.SimpleString)):
            name = node.args[0].value.evaluated_value
            if isinstance(name, str):
                cls.buffers[name] = node

    def _operator(self, node: cst.CSTNode) -> None:
        seq = self.next_seq()
        self.function.seq_of[node] = seq
        self.function.operators.append((seq, node))

    def leave_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.function.return_values.append((self.next_seq(), node.value))

    def visit_If(self, node: cst.If) -> None:
        self.function.ifs.append((self.next_seq(), node))
        head, index = self.chain_of.get(id(node), (id(node), 0))
        self.block_owner[id(node.body)] = (head, index)
        if isinstance(node.orelse, cst.If):
            self.chain_of[id(node.orelse)] = (head, index + 1)
        elif isinstance(node.orelse, cst.Else):
            self.block_owner[id(node.orelse.body)] = (head, index + 1)
            self.complete_chains.add(head)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_block(node)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._leave_block(node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_block(node)

    def leave_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._leave_block(node)

    def _enter_block(self, node: cst.BaseSuite) -> None:
        owner = self.block_owner.get(id(node))
        if owner is not None:
            self.branch_stack.append(owner)

    def _leave_block(self, node: cst.BaseSuite) -> None:
        tag = self.block_owner.get(id(node))
        if tag is not None:
            self.branch_stack.pop()
            if _ends_the_flow(node):
                self.terminated[tag] = self.seq

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._operator(node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._operator(node)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self._operator(node)


def _mentions_tensor_type(annotation: cst.BaseExpression) -> bool:
    text = cst.Module([]).code_for_node(annotation)
    return "Tensor" in text or "Parameter" in text


def collect_module_facts(module: cst.Module, path: str, table: PlatformDeviceTable,
                         package: str | None = None) -> ModuleFacts:
    collector = _FactCollector(module, package)
    collector.run(module)
    return ModuleFacts(module=module, path=path, table=table, module_function=collector.module_function,
                       functions=collector.functions, classes=collector.classes, star_imports=collector.star_imports)
