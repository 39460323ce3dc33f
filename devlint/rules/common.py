"""Wording and edits shared by the device rules, so every rule speaks and fixes the same way."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from devlint.analysis import FunctionFacts, ModuleAnalysis, PlatformDevice, Sibling, code_of
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
        device_arg = keyword_arg(call, "device")
        if device_arg is None:
            continue
        platform = analysis.devices.platform_device_of(device_arg.value, fn, seq)
        if platform is not None:
            yield seq, call, device_arg, platform


def describe_platform(platform: PlatformDevice, context: RuleContext) -> str:
    """`current_platform.device_type`, or `self.device` (set to `"cuda"` at model.py:12)."""
    origin = code_of(platform.origin)
    if platform.alias is None or platform.alias_node is None:
        return f"`{origin}`"
    return f"`{platform.alias}` (set to `{origin}` at {context.path}:{context.line_of(platform.alias_node)})"


def choose_sibling(siblings: list[Sibling]) -> Sibling:
    """The first sibling met whose device can be written at the call, else simply the first."""
    return next((s for s in siblings if s.fix_blocker is None), siblings[0])


def describe_siblings(siblings: list[Sibling], chosen: Sibling, context: RuleContext) -> str:
    text = f"{chosen.relation} (line {context.line_of(chosen.site)})"
    if len(siblings) > 1:
        others = ", ".join(f"`{s.text}`" for s in siblings)
        text += f"; it meets {len(siblings)} tensors ({others}), `{chosen.text}` first"
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
    if chosen.kind != "combine":
        return UnsafeReason.SIBLING_NOT_COMBINED
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
    """`x.cuda()` → `x`: delete from the end of the receiver to the end of the call."""
    assert isinstance(call.func, cst.Attribute)
    return Edit(content="", start=context.span(call.func.value)[1], end=context.span(call)[1])


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
