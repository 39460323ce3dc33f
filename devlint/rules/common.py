"""Wording and edits shared by the device rules, so every rule speaks and fixes the same way."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from devlint.analysis import FunctionFacts, ModuleAnalysis, PlatformDevice, Sibling, SiblingRelation, code_of
from devlint.analysis.module import Binding
from devlint.analysis.siblings import strong_evidence
from devlint.analysis.tensors import VIEW_METHODS
from devlint.analysis.walk import child_nodes
from devlint.rules.base import RuleContext
from devlint.types import Edit, Location, UnsafeReason


def keyword_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    return None


def platform_factory_calls(analysis: ModuleAnalysis, fn: FunctionFacts,
                           kinds: tuple[str, ...]) -> Iterator[tuple[int, cst.Call, cst.Arg, PlatformDevice]]:
    """(seq, call, device argument, platform device) for each factory call of the given kinds ("factory",
    "like", "new") in `fn` whose `device=` names the platform device: what DL001, DL003 and DL005 start from."""
    for seq, call in fn.calls:
        if analysis.tensors.factory_kind(call, fn) not in kinds:
            continue
        device_arg = analysis.values.device_argument(call, fn)  # `device=`, or a positional device slot
        if device_arg is None:
            continue
        platform = analysis.devices.platform_device_of(device_arg.value, fn, seq)
        if platform is not None:
            yield seq, call, device_arg, platform


def describe_platform(platform: PlatformDevice, context: RuleContext) -> str:
    """`current_platform.device_type`, or `self.device` (set to `"cuda"` at model.py:12)."""
    origin = code_of(platform.origin)
    if platform.alias is None or platform.alias_node is None:
        return f"`{origin}`" + (f" ({platform.note})" if platform.note else "")
    return f"`{platform.alias}` (set to `{origin}` at {context.path}:{context.line_of(platform.alias_node)})"


def choose_sibling(siblings: list[Sibling]) -> Sibling:
    """The first sibling met whose device can be written at the call, else simply the first."""
    return next((s for s in siblings if s.fix_blocker is None), siblings[0])


def describe_siblings(siblings: list[Sibling], chosen: Sibling, context: RuleContext) -> str:
    text = f"{chosen.relation} (line {context.line_of(chosen.site)})"
    if len(siblings) > 1:
        others = ", ".join(f"`{s.text}`" for s in siblings)
        text += f"; it meets {len(siblings)} tensors ({others}), `{chosen.text}` first"
    evidence = chosen.evidence
    if evidence is not None:
        line = context.line_if_known(evidence.node) if evidence.node is not None else evidence.line
        where = f" (line {line})" if line is not None else ""
        text += f"; `{chosen.text}` is a tensor: {evidence.detail}{where}"
    return text


def sibling_fix_risk(siblings: list[Sibling], chosen: Sibling, platform: PlatformDevice,
                     analysis: ModuleAnalysis, fn: FunctionFacts) -> UnsafeReason | None:
    """Why following `chosen`'s device is unsafe, or None when it is safe. Safe only for one provable
    sibling the new tensor is *combined* with (the two must share a device, so where the code ran they
    did), and an unconditional platform device (a conditional's other branch may be the intended one). A
    sibling it is only copied from or shaped after may sit on another device on purpose:
    `torch.empty(cpu_tensor.shape, device="xpu")` makes an accelerator copy."""
    if platform.conditional:
        return UnsafeReason.CONDITIONAL_DEVICE
    if len(siblings) > 1:
        return UnsafeReason.SEVERAL_SIBLINGS
    if not chosen.provable:
        if not chosen.text.isidentifier():
            return UnsafeReason.SIBLING_ATTRIBUTE
        seq = fn.seq_of.get(chosen.site, 1 << 62)
        found = analysis.tensors.lookup(chosen.text, fn, seq)
        if found is not None and found[0] is not fn:
            return UnsafeReason.SIBLING_NOT_LOCAL
        if analysis.tensors.may_be_none(cst.Name(chosen.text), fn, seq):
            return UnsafeReason.SIBLING_MAY_BE_NONE
        return UnsafeReason.SIBLING_UNPROVEN
    if chosen.kind is not SiblingRelation.COMBINE:
        return UnsafeReason.SIBLING_NOT_COMBINED
    if chosen.element:
        return UnsafeReason.SIBLING_ATTRIBUTE
    if not strong_evidence(chosen.evidence):
        return UnsafeReason.SIBLING_UNPROVEN
    return None


def call_label(call: cst.Call, analysis: ModuleAnalysis, fn: FunctionFacts) -> str:
    name = analysis.tensors.torch_function(call, fn)
    if name is not None:
        return f"torch.{name}"
    if isinstance(call.func, cst.Attribute):
        return f".{call.func.attr.value}()"
    return code_of(call.func)


def delete_arg(context: RuleContext, call: cst.Call, arg: cst.Arg) -> Edit:
    """Remove one argument with its separating comma, leaving the others' layout as it was."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    start, end = context.span(arg)
    if index + 1 < len(args):
        end = context.span(args[index + 1])[0]
    elif index > 0:
        start = context.span(args[index - 1])[1]
    else:
        end = context.span(call)[1]
        end = type(end)(end.row, end.column - 1)  # up to, not including, the closing parenthesis
    return Edit(content="", start=start, end=end)


def drop_call(context: RuleContext, call: cst.Call) -> Edit:
    """`x.cuda()` → `x`: delete from the dot before the method to the end of the call (a parenthesised
    receiver, `(a / b).cuda()`, keeps its closing parenthesis)."""
    assert isinstance(call.func, cst.Attribute)
    attr_start = context.span(call.func.attr)[0]
    dot_width = len(code_of(call.func.dot)) if isinstance(call.func.dot, cst.Dot) else 1
    start = type(attr_start)(attr_start.row, attr_start.column - dot_width)
    if start.column < 1 or "\n" in code_of(call.func.dot):
        start = context.span(call.func.value)[1]
    return Edit(content="", start=start, end=context.span(call)[1])


def computed_source(receiver: cst.BaseExpression, fn: FunctionFacts, seq: int,
                    analysis: ModuleAnalysis) -> tuple[str, str] | None:
    """For the receiver of a move: (the received tensor it is computed from, why that is a tensor), when the
    receiver is a computation (an operator, a comparison, a torch function, a tensor method other than a
    view or conversion) whose device follows a parameter or attribute of the function. None for a bare
    parameter or buffer, a view of one, or a tensor the code placed itself."""
    values = analysis.values
    expression = receiver
    at = seq
    for _ in range(3):  # `scale = weight.abs().amax(-1) / 448; scale.cuda()`: follow the name
        if not isinstance(expression, cst.Name):
            break
        found = values.lookup(expression.value, fn, at)
        if found is None or not isinstance(found[1], Binding) or found[1].value is None or found[0] is not fn:
            return None
        expression, at = found[1].value, found[1].seq
    if not _is_computation(expression):
        return None
    value = values.value_of(expression, fn, at)
    if not value.is_tensor or value.placed or value.carrier is None or value.sequence:
        return None
    carrier_value = values.value_of(value.carrier, fn, at)
    if not (carrier_value.received or value.received) or carrier_value.placed:
        return None
    text = code_of(value.carrier)
    if text in analysis.siblings(fn).staged():
        return None  # `(lens + off).to(gpu)` beside `lens.to(gpu)`: the function stages its inputs there
    evidence = carrier_value.tensor or value.tensor
    why = f"`{text}` is a tensor: {evidence.detail}" if evidence is not None else f"`{text}` is a tensor"
    return text, why


def _is_computation(expression: cst.BaseExpression) -> bool:
    while isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute) \
            and expression.func.attr.value in VIEW_METHODS:
        expression = expression.func.value
    while isinstance(expression, cst.Subscript):
        expression = expression.value
    if isinstance(expression, (cst.BinaryOperation, cst.Comparison)):
        return True
    return isinstance(expression, cst.Call) and not isinstance(expression.func, cst.Name)


def delete_statement(context: RuleContext, statement: cst.CSTNode) -> Edit:
    """Remove a statement that sits on lines of its own, whole lines and their line breaks included."""
    start, end = context.span(statement)
    first = Location(start.row, 1)
    last = Location(end.row + 1, 1) if end.column > 1 else Location(end.row, 1)
    return Edit(content="", start=first, end=last)


def callers_device(analysis: ModuleAnalysis, expr: cst.BaseExpression | None, fn: FunctionFacts,
                   seq: int) -> str | None:
    """A note for a finding whose device is the caller's (a parameter that falls back to the platform
    device when the caller passes none): its fix must not remove or replace what the caller passed."""
    if expr is None:
        return None
    from devlint.analysis.placement import Placements

    caller = Placements(analysis.facts, analysis.tensors, analysis.devices).caller_default(expr, fn, seq)
    if caller is None:
        return None
    return f" (no fix: `{caller.param}` is the caller's; its platform default is what to change)"


class BranchDebris(Exception):
    """The fix would empty every branch of an `if` it cannot remove: it is not offered."""


def without_branch_debris(context: RuleContext, analysis: ModuleAnalysis, fn: FunctionFacts,
                          removed: cst.BaseExpression | None, seq: int, edits: list[Edit]) -> list[Edit]:
    """`edits`, plus the removal of the `if` whose every branch only binds the name the fix stops reading.

    `if on_gpu: device = "cuda" / else: device = x.device`, read once by the fixed call: the debris clean-up
    removes both assignments, and would leave `if on_gpu: pass / else: pass`. The whole `if` goes instead when
    its test and the values have no side effects; otherwise the fix is not offered (raises BranchDebris)."""
    if not isinstance(removed, cst.Name):
        return edits
    name = removed.value
    bindings = fn.bindings_reaching(name, seq)
    if len(bindings) < 2 or not all(b.branches for b in bindings):
        return edits
    head = bindings[0].branches[-1][0]
    chain = next((node for _, node in fn.ifs if id(node) == head), None)
    if chain is None or head not in fn.complete_chains or any(b.branches[-1][0] != head for b in bindings):
        return edits
    blocks = _chain_blocks(chain)
    if len(blocks) != len(bindings) or _reads_of(fn, name) != 1:
        return edits
    for block, binding in zip(blocks, sorted(bindings, key=lambda b: b.seq), strict=True):
        statements = block.body if isinstance(block, cst.IndentedBlock) else ()
        if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine) \
                or len(statements[0].body) != 1 or statements[0].body[0] is not binding.node:
            return edits  # a branch keeps other code: no branch is left empty
    values = [b.value for b in bindings]
    tests = _chain_tests(chain)
    if not all(v is not None and _side_effect_free(v, analysis, fn, b.seq) for v, b in zip(values, bindings, strict=True)) \
            or not all(_side_effect_free(t, analysis, fn, seq) for t in tests) or _alone_in_its_block(fn, chain):
        raise BranchDebris(f"it would leave every branch of the `if` that binds `{name}` empty")
    return [*edits, delete_statement(context, chain)]


def _chain_blocks(chain: cst.If) -> list[cst.BaseSuite]:
    blocks: list[cst.BaseSuite] = []
    node: cst.If | cst.Else | None = chain
    while node is not None:
        blocks.append(node.body)
        node = node.orelse if isinstance(node, cst.If) else None
    return blocks


def _chain_tests(chain: cst.If) -> list[cst.BaseExpression]:
    tests: list[cst.BaseExpression] = []
    node: cst.BaseExpression | cst.If | cst.Else | None = chain
    while isinstance(node, cst.If):
        tests.append(node.test)
        node = node.orelse
    return tests


def _reads_of(fn: FunctionFacts, name: str) -> int:
    """How many times the function reads `name` (its own body; assignment targets are no reads)."""
    targets = {id(t.target) for bs in fn.bindings.values() for b in bs if isinstance(b.node, cst.Assign)
               for t in b.node.targets}
    count = 0
    stack: list[cst.CSTNode] = [fn.node]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name and id(node) not in targets:
            count += 1
        elif isinstance(node, cst.Attribute):
            stack.append(node.value)  # `obj.name` is no read of `name`
            continue
        if isinstance(node, cst.Param) and node.name.value == name:
            continue
        stack.extend(child_nodes(node))
    return count


def _side_effect_free(expr: cst.BaseExpression, analysis: ModuleAnalysis, fn: FunctionFacts, seq: int) -> bool:
    """Literals, names, attributes, comparisons and boolean tests of them, a platform device (a known
    getter such as `get_accelerator().current_device_name()`), and platform checks (`current_platform.is_xpu()`)."""
    if isinstance(expr, (cst.SimpleString, cst.Integer, cst.Float, cst.Name)):
        return True
    if isinstance(expr, cst.Attribute):
        return _side_effect_free(expr.value, analysis, fn, seq)
    if isinstance(expr, cst.Comparison):
        return _side_effect_free(expr.left, analysis, fn, seq) and all(
            _side_effect_free(c.comparator, analysis, fn, seq) for c in expr.comparisons)
    if isinstance(expr, cst.BooleanOperation):
        return _side_effect_free(expr.left, analysis, fn, seq) and _side_effect_free(expr.right, analysis, fn, seq)
    if isinstance(expr, cst.UnaryOperation):
        return _side_effect_free(expr.expression, analysis, fn, seq)
    if isinstance(expr, cst.Call):
        if analysis.devices.platform_device_of(expr, fn, seq) is not None:
            return True
        func = expr.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        return not expr.args and (name.startswith("is_") or name == "is_available")
    return False


def _alone_in_its_block(fn: FunctionFacts, statement: cst.CSTNode) -> bool:
    """The statement is the only one of the block holding it: removing it would need a `pass`."""
    stack: list[cst.CSTNode] = [fn.node]
    while stack:
        node = stack.pop()
        body = getattr(node, "body", None)
        if isinstance(node, (cst.IndentedBlock, cst.Module)) and isinstance(body, (list, tuple)):
            if any(s is statement for s in body):
                return len(body) == 1
        stack.extend(child_nodes(node))
    return False
