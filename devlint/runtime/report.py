"""What a watched build saw, as plain data, and how it maps to devlint's rule codes.

Torch-free on purpose: the watch (`devlint.runtime.watch`) fills a `RuntimeReport`; the report resolves
code locations, reads the user's source for the call text, the device argument and `# noqa` comments, and
writes the JSON document that `devlint check --runtime-evidence` reads (`devlint.evidence`).
"""

from __future__ import annotations

import ast
import enum
import json
import linecache
import os
from dataclasses import dataclass, field, replace
from types import CodeType

FORMAT = "devlint-runtime/1"


class PlacementKind(str, enum.Enum):
    """How an off-expect tensor came to be where it is."""

    FACTORY = "factory"  # torch.arange / zeros / empty / tensor / ... (and anything else that made it there)
    LIKE = "like"  # *_like or new_* with a device override
    MOVE = "move"  # .to(device) / .cuda() / .cpu()


class StateKind(str, enum.Enum):
    PARAMETER = "parameter"
    BUFFER = "buffer"


class RecordKind(str, enum.Enum):
    PLACEMENT = "placement"
    MIX = "mix"
    STATE = "state"


# Rule codes a record maps to (the static rules' codes where they apply, DL2xx only at runtime).
PLACEMENT_MIXES = {PlacementKind.FACTORY: "DL001", PlacementKind.LIKE: "DL005", PlacementKind.MOVE: "DL002"}
STATE_CODE = "DL003"
UNATTRIBUTED_CODE = "DL201"
UNUSED_ALLOCATION_CODE = "DL202"


@dataclass(frozen=True)
class Frame:
    """One user-code frame, 1-based lines and columns (a span: the whole call expression)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    function: str

    def __str__(self) -> str:
        return f"{_shown(self.path)}:{self.line}:{self.column} in {self.function}"

    def as_json(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "end_line": self.end_line,
                "end_column": self.end_column, "function": self.function}


RawSite = tuple[tuple[CodeType, int], ...]
"""What the watch keeps of a call stack: (code object, last instruction) per user frame, innermost first.
Code objects, never frames: nothing the user's frames refer to is kept alive."""


def resolve_frame(code: CodeType, lasti: int) -> Frame:
    positions = list(code.co_positions())
    index = max(lasti, 0) // 2
    line, end_line, column, end_column = positions[index] if index < len(positions) else (None,) * 4
    line = line or code.co_firstlineno
    return Frame(path=code.co_filename, line=line, column=(column or 0) + 1, end_line=end_line or line,
                 end_column=(end_column or 0) + 1, function=code.co_qualname)


@dataclass(frozen=True)
class CallSource:
    """The user's call expression at a site, read from the source: its text and its device argument."""

    call: str  # the called expression as written: `torch.arange`, `nn.Linear`, `x.to`
    device_text: str | None  # the device argument as written: `device=current_platform.device_type`
    device_line: int | None
    device_column: int | None


class SourceIndex:
    """Parses each user file once (on demand) to name calls and find their device argument."""

    def __init__(self) -> None:
        self._calls: dict[str, dict[tuple[int, ...], ast.Call] | None] = {}

    def _calls_of(self, path: str) -> dict[tuple[int, ...], ast.Call] | None:
        if path not in self._calls:
            linecache.checkcache(path)  # the file may have changed since an earlier build read it
            text = "".join(linecache.getlines(path))
            try:
                tree = ast.parse(text) if text else None
            except (SyntaxError, ValueError):
                tree = None
            calls: dict[tuple[int, ...], ast.Call] | None = None
            if tree is not None:
                calls = {}
                for node in ast.walk(tree):  # outer calls first: `a(x).to(d)` and `a(x)` start at one place
                    if isinstance(node, ast.Call):
                        end = (node.end_lineno or node.lineno, (node.end_col_offset or 0) + 1)
                        calls[(node.lineno, node.col_offset + 1, *end)] = node
                        calls.setdefault((node.lineno, node.col_offset + 1), node)
            self._calls[path] = calls
        return self._calls[path]

    def call_at(self, frame: Frame) -> CallSource | None:
        calls = self._calls_of(frame.path)
        if not calls:
            return None
        node = calls.get((frame.line, frame.column, frame.end_line, frame.end_column)) or \
            calls.get((frame.line, frame.column))
        if node is None:
            return None
        device = next((k for k in node.keywords if k.arg == "device"), None)
        target: ast.AST | None = device
        if device is None and isinstance(node.func, ast.Attribute) and node.func.attr == "to" and node.args:
            target = node.args[0]  # x.to("cuda"), x.to(other_device)
        text = None
        if target is not None:
            text = f"device={ast.unparse(device.value)}" if device is not None else ast.unparse(target)
        return CallSource(call=ast.unparse(node.func), device_text=text,
                          device_line=getattr(target, "lineno", None),
                          device_column=getattr(target, "col_offset", -1) + 1 if target is not None else None)


@dataclass
class Origin:
    """Where a tensor the watch saw was made, and which placements it descends from (when off expect)."""

    site: RawSite
    op: str
    placements: tuple[int, ...] = ()  # ids of PlacementRecords this tensor derives from


@dataclass
class Placement:
    id: int
    kind: PlacementKind
    op: str  # the torch function that produced it: `torch.arange`, `Tensor.to`
    device: str  # where the result is
    device_argument: str | None  # the device argument's value as torch received it, or None
    site: RawSite
    failed: bool = False  # a move of a meta tensor to a real device: torch refused it
    mixed_in: list[int] = field(default_factory=list)  # MixRecord ids
    state: list[int] = field(default_factory=list)  # StateRecord ids


@dataclass
class Operand:
    index: int
    device: str
    shape: tuple[int, ...]
    origin: Origin | None  # None: the watch never saw this tensor being made


@dataclass
class Mix:
    id: int
    op: str
    devices: tuple[str, ...]
    operands: list[Operand]
    site: RawSite
    raised: str | None = None  # the exception torch raised (without keep_going), by type name


@dataclass
class State:
    id: int
    kind: StateKind
    module_class: str
    attribute: str
    module_path: str | None
    device: str
    origin: Origin | None
    site: RawSite  # where it was registered


@dataclass(frozen=True)
class Finding:
    """A record mapped to a rule code at a user location; what evidence joins with static findings."""

    code: str
    path: str
    line: int
    column: int
    end_line: int  # the record's whole span: a static finding on any of these lines is the same one
    end_column: int
    message: str
    records: tuple[str, ...]  # "placement:3", "mix:1", "state:2"
    frames: tuple[Frame, ...]
    suppressed: bool = False
    snippet: str = ""  # the call's source, whitespace-normalised: baselines match on it, never on lines

    def as_json(self) -> dict:
        return {"code": self.code, "path": self.path, "line": self.line, "column": self.column,
                "end_line": self.end_line, "end_column": self.end_column, "message": self.message,
                "function": self.frames[0].function if self.frames else None, "snippet": self.snippet,
                "records": list(self.records), "frames": [f.as_json() for f in self.frames],
                "suppressed": self.suppressed}


class RuntimeReport:
    """Everything one watch saw. `findings` maps it to rule codes; `write()` saves it for `devlint check
    --runtime-evidence`."""

    def __init__(self, expect: str) -> None:
        self.expect = expect
        self.placements: list[Placement] = []
        self.mixes: list[Mix] = []
        self.states: list[State] = []
        self.exercised_sites: set[tuple[CodeType, int]] = set()
        self.torch_version: str | None = None
        self.problems: list[str] = []  # the watch's own trouble (misnested modes), said plainly
        self._findings: list[Finding] | None = None
        self._sources = SourceIndex()
        self._frames: dict[tuple[CodeType, int], Frame] = {}

    # -- resolution -------------------------------------------------------------------------------------

    def frames(self, site: RawSite) -> tuple[Frame, ...]:
        found = []
        for key in site:
            frame = self._frames.get(key)
            if frame is None:
                frame = self._frames[key] = resolve_frame(*key)
            found.append(frame)
        return tuple(found)

    def _where(self, site: RawSite) -> str:
        frames = self.frames(site)
        return str(frames[0]) if frames else "an unknown place (no user frame on the stack)"

    def _origin_text(self, origin: Origin | None) -> str:
        if origin is None:
            return "made where the watch could not see (from_numpy, torch.load, a C extension, before the watch)"
        return f"made by `{origin.op}` at {self._where(origin.site)}"

    def operand_notes(self, mix: Mix) -> list[str]:
        return [f"devlint.runtime: operand {o.index} of `{mix.op}` is on {o.device} (shape {list(o.shape)}), "
                f"{self._origin_text(o.origin)}" for o in mix.operands]

    # -- mapping to codes -------------------------------------------------------------------------------

    @property
    def findings(self) -> list[Finding]:
        """Every problem, mapped to a rule code; `# noqa: CODE` on the creating line marks it suppressed."""
        if self._findings is None:
            self._findings = self._map()
        return self._findings

    @property
    def active_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def _finding(self, code: str, site: RawSite, message: str, records: tuple[str, ...], *,
                 device_location: bool = False) -> Finding | None:
        frames = self.frames(site)
        if not frames:
            return None
        first = frames[0]
        line, column = first.line, first.column
        if device_location:
            source = self._sources.call_at(first)
            if source is not None and source.device_line is not None:
                line, column = source.device_line, source.device_column or column
        end_line = max(first.end_line, line)
        self._sources.call_at(first)  # reads the file afresh once per report
        suppressed = _suppressed(first.path, code, range(first.line, end_line + 1))
        lines = linecache.getlines(first.path)[first.line - 1:first.end_line]
        snippet = " ".join("".join(lines).split())
        return Finding(code=code, path=os.path.abspath(first.path), line=line, column=column, end_line=end_line,
                       end_column=first.end_column if first.end_line >= line else column + 1, message=message,
                       records=records, frames=frames, suppressed=suppressed, snippet=snippet)

    def _call_text(self, site: RawSite, op: str) -> str:
        frames = self.frames(site)
        source = self._sources.call_at(frames[0]) if frames else None
        return f"`{source.call}`" + (f" (`{op}`)" if source.call.split(".")[-1] != op.split(".")[-1] else "") \
            if source is not None else f"`{op}`"

    def _device_text(self, site: RawSite, placement: Placement) -> str:
        frames = self.frames(site)
        source = self._sources.call_at(frames[0]) if frames else None
        if source is not None and source.device_text is not None:
            return f"`{source.device_text}`"
        if placement.device_argument is not None:
            return f"device {placement.device_argument!r}"
        return "no device argument"

    def _map(self) -> list[Finding]:
        found: list[Finding | None] = []
        states_by_id = {s.id: s for s in self.states}
        mixes_by_id = {m.id: m for m in self.mixes}
        for p in self.placements:
            call, device = self._call_text(p.site, p.op), self._device_text(p.site, p)
            if p.failed:
                message = (f"{call} tried to move a meta tensor to {p.device} ({device}): a meta tensor has no "
                           "data, so the move cannot work while the model is built on meta; follow the device of "
                           "the tensors it is combined with")
                found.append(self._finding(PLACEMENT_MIXES[PlacementKind.MOVE], p.site, message,
                                           (f"placement:{p.id}",), device_location=True))
                continue
            if p.mixed_in:
                mix = mixes_by_id[p.mixed_in[0]]
                others = sorted({o.device for o in mix.operands} - {p.device})
                message = (f"{call} put its result on {p.device} ({device}), then `{mix.op}` at "
                           f"{self._where(mix.site)} combined it with a tensor on "
                           f"{', '.join(others) or self.expect}; follow that tensor's device")
                found.append(self._finding(PLACEMENT_MIXES[p.kind], p.site, message,
                                           (f"placement:{p.id}", *(f"mix:{m}" for m in p.mixed_in)),
                                           device_location=True))
            if p.state:
                state = states_by_id[p.state[0]]
                message = (f"{call} put its result on {p.device} ({device}); it became "
                           f"{state.kind.value} `{state.module_class}.{state.attribute}`"
                           f"{_path_text(state.module_path)} off the expected {self.expect}")
                found.append(self._finding(STATE_CODE, p.site, message,
                                           (f"placement:{p.id}", *(f"state:{s}" for s in p.state)),
                                           device_location=True))
            if not p.mixed_in and not p.state:
                message = (f"{call} allocated on {p.device} ({device}) instead of the expected "
                           f"{self.expect}; the tensor never met another device nor became module state "
                           "(informational: a real allocation during the build)")
                found.append(self._finding(UNUSED_ALLOCATION_CODE, p.site, message, (f"placement:{p.id}",),
                                           device_location=True))
        for s in self.states:
            if s.origin is None:
                message = (f"{s.kind.value} `{s.module_class}.{s.attribute}`{_path_text(s.module_path)} was "
                           f"registered on {s.device}, not the expected {self.expect}, from a tensor no watched "
                           "call made (from_numpy, torch.load, torch.Tensor(...), a C extension)")
                found.append(self._finding(UNATTRIBUTED_CODE, s.site, message, (f"state:{s.id}",)))
        for m in self.mixes:
            for o in m.operands:
                if o.origin is None and o.device != self.expect:
                    message = (f"`{m.op}` combined tensors on {', '.join(m.devices)}; operand {o.index} "
                               f"(on {o.device}) was made where the watch could not see")
                    found.append(self._finding(UNATTRIBUTED_CODE, m.site, message, (f"mix:{m.id}",)))
        # One finding per place and code: a layer built N times reports its bug once, saying how often.
        merged: dict[tuple[str, int, int, str], list[Finding]] = {}
        for f in found:
            if f is not None:
                merged.setdefault((f.path, f.line, f.column, f.code), []).append(f)
        result = []
        for group in merged.values():
            first = group[0]
            if len(group) > 1:
                first = replace(first, message=f"{first.message} (seen {len(group)} times in this build)",
                                records=tuple(r for f in group for r in f.records))
            result.append(first)
        return sorted(result, key=lambda f: (f.path, f.line, f.column, f.code))

    # -- output -----------------------------------------------------------------------------------------

    def exercised(self) -> dict[str, list[list[int]]]:
        """The line spans of every tensor-making call the watch saw, by file (for 'not exercised')."""
        spans: dict[str, set[tuple[int, int]]] = {}
        for key in self.exercised_sites:
            frame = self._frames.get(key) or resolve_frame(*key)
            spans.setdefault(frame.path, set()).add((frame.line, frame.end_line))
        return {path: [list(s) for s in sorted(found)] for path, found in sorted(spans.items())}

    def as_json(self) -> dict:
        return combined_json([self])

    def write(self, path: str | os.PathLike[str]) -> None:
        """Save the evidence for `devlint check --runtime-evidence PATH`. Paths inside are absolute."""
        write_combined([self], path)

    def summary(self) -> str:
        active = self.active_findings
        lines = [f"{_shown(f.path)}:{f.line}:{f.column}: {f.code} {f.message}" for f in active]
        lines.append(f"devlint.runtime: {len(active)} finding{'s' if len(active) != 1 else ''} "
                     f"({len(self.placements)} placements off {self.expect}, {len(self.mixes)} mixed ops, "
                     f"{len(self.states)} module states off {self.expect})")
        return "\n".join(lines + self.problems)

    def __str__(self) -> str:
        return self.summary()


def combined_json(reports: list[RuntimeReport]) -> dict:
    """One evidence document for several watches (the pytest plugin watches one build per test)."""
    exercised: dict[str, set[tuple[int, int]]] = {}
    for report in reports:
        for path, spans in report.exercised().items():
            exercised.setdefault(path, set()).update((s[0], s[1]) for s in spans)
    return {
        "format": FORMAT,
        "expect": sorted({r.expect for r in reports}),
        "torch": next((r.torch_version for r in reports if r.torch_version), None),
        "findings": [f.as_json() for r in reports for f in r.findings],
        "exercised": {path: [list(s) for s in sorted(spans)] for path, spans in sorted(exercised.items())},
        "counts": {"watches": len(reports), "placements": sum(len(r.placements) for r in reports),
                   "mixes": sum(len(r.mixes) for r in reports), "states": sum(len(r.states) for r in reports)},
        "problems": [p for r in reports for p in r.problems],
    }


def write_combined(reports: list[RuntimeReport], path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(combined_json(reports), handle, indent=2)
        handle.write("\n")


def _shown(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith(os.pardir) else relative


def _path_text(module_path: str | None) -> str:
    return f" (module `{module_path}`)" if module_path else ""


def _suppressed(path: str, code: str, rows: range) -> bool:
    from devlint.suppress import read_directives

    text = "".join(linecache.getlines(path))
    return any(d.covers(code) and (d.kind == "file-ignore" or d.row in rows) for d in read_directives(text))
