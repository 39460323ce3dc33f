"""The runtime witness: a `TorchFunctionMode` and torch's global module-registration hooks, nothing else.

No monkey-patching: torch calls the mode for every torch function and tensor method (factories, moves,
ops), and calls the hooks for every parameter, buffer and submodule registered on any `nn.Module`. The
hooks see what no function mode can (`nn.Parameter(torch.from_numpy(...))`, `torch.Tensor(...)`,
tensors rebuilt by `torch.load` with no watched origin). While `torch.compiler.is_compiling()` both step
aside, so Dynamo traces straight through them.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import weakref
from collections.abc import Callable, Iterable
from types import CodeType, FrameType, TracebackType
from typing import Any, Literal

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.nn.modules.module import (
    register_module_buffer_registration_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from devlint.runtime.report import (
    Mix,
    Operand,
    Origin,
    Placement,
    PlacementKind,
    RawSite,
    RuntimeReport,
    State,
    StateKind,
)

_is_compiling = torch.compiler.is_compiling
_Tensor = torch.Tensor
_MOVES = frozenset({"to", "cuda", "cpu", "xpu", "mps", "npu", "hpu", "ipu"})
_COPIES = frozenset({"copy_", "set_", "__setitem__", "type_as", "to"})  # cross-device by design, never a mix
_INDEXING = frozenset({"__getitem__", "index_put", "index_put_"})  # CPU index tensors are legal on any device
_IGNORED_NAMES = frozenset({"__get__", "__set__", "__delete__", "__repr__", "__format__", "__reduce_ex__",
                            "__setstate__", "__deepcopy__", "dim", "size", "numel", "is_floating_point",
                            "element_size", "stride", "storage_offset", "data_ptr", "untyped_storage",
                            "requires_grad_", "retain_grad", "register_hook", "is_contiguous"})
_USER_FRAMES = 3  # the creating line and two callers


class _Kind:
    IGNORE, FACTORY, LIKE, MOVE, COPY, INDEX, OP = range(7)


def _classify(func: Callable) -> tuple[int, str]:
    name = getattr(func, "__name__", "") or ""
    tensor_method = getattr(_Tensor, name, None) is func
    if tensor_method:
        op = f"Tensor.{name}"
    elif getattr(torch, name, None) is func:
        op = f"torch.{name}"
    elif getattr(torch.nn.functional, name, None) is func:
        op = f"torch.nn.functional.{name}"
    else:
        op = f"{_module_label(func)}.{name}"
    if name in _IGNORED_NAMES:
        return _Kind.IGNORE, op
    if tensor_method and name in _MOVES:
        return _Kind.MOVE, op
    if name in _COPIES:
        return _Kind.COPY, op
    if name in _INDEXING:
        return _Kind.INDEX, op
    if name.endswith("_like") or (tensor_method and name.startswith("new_")):
        return _Kind.LIKE, op
    return _Kind.OP, op


def _module_label(func: Callable) -> str:
    module = getattr(func, "__module__", None) or "torch"
    return "torch" if module.startswith("torch._C") else module


def _library_dirs() -> tuple[str, ...]:
    found = {os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__))}
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            found.add(paths[key])
    try:
        found.update(site.getsitepackages())
    except AttributeError:  # some virtualenv builds lack it
        pass
    return tuple(sorted(os.path.join(os.path.realpath(p), "") for p in found))


class _UserCode:
    """Which files are the user's: by default everything outside torch, site-packages, the standard library
    and devlint.runtime itself; with `roots`, only files under those folders."""

    def __init__(self, roots: Iterable[str | os.PathLike[str]] | None) -> None:
        self.roots = tuple(os.path.join(os.path.realpath(r), "") if os.path.isdir(r) else os.path.realpath(r)
                           for r in roots) if roots is not None else None
        self.libraries = _library_dirs()
        self._own = os.path.join(os.path.realpath(os.path.dirname(__file__)), "")
        self._torch = os.path.join(os.path.realpath(os.path.dirname(torch.__file__)), "")
        self._by_code: dict[CodeType, bool] = {}
        self._outside_torch: dict[CodeType, bool] = {}

    def __call__(self, code: CodeType) -> bool:
        known = self._by_code.get(code)
        if known is None:
            known = self._by_code[code] = self._judge(code.co_filename)
        return known

    def outside_torch(self, code: CodeType) -> bool:
        known = self._outside_torch.get(code)
        if known is None:
            path = os.path.realpath(code.co_filename)
            known = self._outside_torch[code] = (not path.startswith((self._own, self._torch))
                                                 and not code.co_filename.startswith("<"))
        return known

    def _judge(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.realpath(filename)
        if path.startswith(self._own):
            return False
        if self.roots is not None:
            return any(path == r or path.startswith(r) for r in self.roots)
        if any(path.startswith(d) for d in self.libraries):
            return False
        return "site-packages" not in path and "dist-packages" not in path


class _DeviceWatchMode(TorchFunctionMode):
    def __init__(self, watch: WatchDevices) -> None:
        super().__init__()
        self.watch = watch

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if _is_compiling():
            return func(*args, **kwargs)
        return self.watch._call(func, args, kwargs)


class WatchDevices:
    """`with watch_devices(expect="meta") as report:` — see `watch_devices`."""

    def __init__(self, expect: str = "meta", check_ops: bool = True, keep_going: bool = False,
                 roots: Iterable[str | os.PathLike[str]] | None = None) -> None:
        self.expect = torch.device(expect)
        if keep_going and self.expect.type != "meta":
            raise ValueError("keep_going=True needs expect='meta': a mixed op is re-run on meta copies, which "
                             f"would not be {self.expect} tensors")
        self.check_ops = check_ops
        self.keep_going = keep_going
        self.report = RuntimeReport(str(self.expect))
        self.report.torch_version = torch.__version__
        self._user_code = _UserCode(roots)
        self._mode = _DeviceWatchMode(self)
        self._kinds: dict[Any, tuple[int, str]] = {}
        self._origins: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._by_storage: dict[int, tuple[StorageWeakRef, Origin]] = {}
        self._parents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._state_owners: dict[int, weakref.ref] = {}
        self._handles: list = []
        self._active = False

    # -- entering and leaving ---------------------------------------------------------------------------

    def __enter__(self) -> RuntimeReport:
        if self._active:
            raise RuntimeError("this watch_devices() is already active; make a new one for a nested watch")
        self._handles = [register_module_parameter_registration_hook(self._on_parameter),
                         register_module_buffer_registration_hook(self._on_buffer),
                         register_module_module_registration_hook(self._on_module)]
        try:
            self._mode.__enter__()
        except BaseException:
            self._remove_hooks()
            raise
        self._active = True
        return self.report

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        self._active = False
        self._remove_hooks()
        problem = self._leave_mode_stack()
        self._resolve_module_paths()
        self.report._findings = None  # read mid-build, it was partial
        if problem is not None:
            self.report.problems.append(problem)
            if exc is not None:
                exc.add_note(problem)  # never replace the user's exception
            else:
                raise RuntimeError(problem)
        return False  # exceptions propagate unchanged

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _leave_mode_stack(self) -> str | None:
        """Pop our mode, checking it is on top; if something left a mode above it, take ours out anyway
        (the watch must never stay active) and say what happened."""
        depth = torch._C._len_torch_function_stack()
        if depth and torch._C._get_function_stack_at(depth - 1) is self._mode:
            self._mode.__exit__(None, None, None)
            return None
        above = []
        found = False
        while torch._C._len_torch_function_stack():
            mode = torch._C._pop_torch_function_stack()
            if mode is self._mode:
                found = True
                break
            above.append(mode)
        for mode in reversed(above):
            torch._C._push_on_torch_function_stack(mode)
        names = ", ".join(type(m).__name__ for m in reversed(above)) or "nothing"
        if not found:
            return ("devlint.runtime: on exit, watch_devices' mode was no longer on torch's function-mode stack "
                    "(something popped it); the watch saw nothing after that")
        return (f"devlint.runtime: on exit, watch_devices' mode was not on top of torch's function-mode stack "
                f"({names} above it): a `with` block entered inside the watch was left open or exited out of "
                "order. The watch removed itself and left the other modes in place; nest the blocks.")

    # -- the function mode ------------------------------------------------------------------------------

    def _call(self, func: Callable, args: tuple, kwargs: dict) -> Any:
        try:
            kind, op = self._kinds[func]
        except KeyError:
            kind, op = self._kinds[func] = _classify(func)
        except TypeError:  # unhashable callable
            kind, op = _classify(func)
        if kind == _Kind.IGNORE:
            return func(*args, **kwargs)
        with torch._C.DisableTorchFunction():
            operands = _tensors(args, kwargs)
            mix = self._mix(op, kind, operands) if self.check_ops and len(operands) > 1 else None
        if mix is None and kind == _Kind.MOVE and operands and operands[0][1].is_meta:
            result = self._move_off_meta(func, op, operands[0][1], args, kwargs)
        elif mix is None:
            result = func(*args, **kwargs)
        elif self.keep_going:
            with torch._C.DisableTorchFunction():
                args, kwargs = _on_meta(args, kwargs)
            result = func(*args, **kwargs)
        else:
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                mix.raised = type(exc).__name__
                for note in self.report.operand_notes(mix):
                    exc.add_note(note)
                raise
        with torch._C.DisableTorchFunction():
            self._record_outputs(op, kind, operands, kwargs, result)
        return result

    def _move_off_meta(self, func: Callable, op: str, tensor: torch.Tensor, args: tuple, kwargs: dict) -> Any:
        """A move of a meta tensor to a real device cannot work (meta tensors hold no data): record it as a
        placement that failed; with keep_going, the build goes on with the tensor where it was."""
        try:
            return func(*args, **kwargs)
        except NotImplementedError as exc:
            with torch._C.DisableTorchFunction():
                target = _move_target(op, args[1:], kwargs)
                placement = Placement(id=len(self.report.placements), kind=PlacementKind.MOVE, op=op,
                                      device=target, device_argument=target, site=self._site(), failed=True)
            self.report.placements.append(placement)
            if not self.keep_going:
                exc.add_note(f"devlint.runtime: `{op}` tried to move a meta tensor to {target} at "
                             f"{self.report.frames(placement.site)[0] if placement.site else 'an unknown place'}")
                raise
            return tensor

    def _on_expect(self, device: torch.device) -> bool:
        expect = self.expect
        return device.type == expect.type and (expect.index is None or device.index == expect.index)

    def _mix(self, op: str, kind: int, operands: list[tuple[int, torch.Tensor]]) -> Mix | None:
        if kind == _Kind.COPY:
            return None
        checked = operands
        if kind == _Kind.INDEX:
            checked = [operands[0]] + [(i, t) for i, t in operands[1:] if t.device.type != "cpu"]
        devices = {t.device for _, t in checked}
        if len(devices) < 2:
            return None
        # 0-dim CPU tensors are scalars to torch: legal beside a tensor on any device.
        checked = [(i, t) for i, t in checked if not (t.device.type == "cpu" and t.dim() == 0)]
        devices = {t.device for _, t in checked}
        if len(devices) < 2:
            return None
        site = self._site()
        mix = Mix(id=len(self.report.mixes), op=op, devices=tuple(sorted(str(d) for d in devices)), operands=[],
                  site=site)
        for index, tensor in checked:
            origin = self._origin(tensor)
            mix.operands.append(Operand(index=index, device=str(tensor.device), shape=tuple(tensor.shape),
                                        origin=origin))
            if origin is not None and not self._on_expect(tensor.device):
                for pid in origin.placements:
                    if mix.id not in self.report.placements[pid].mixed_in:
                        self.report.placements[pid].mixed_in.append(mix.id)
        self.report.mixes.append(mix)
        return mix

    def _record_outputs(self, op: str, kind: int, operands: list[tuple[int, torch.Tensor]], kwargs: dict,
                        result: Any) -> None:
        outputs = (result,) if isinstance(result, _Tensor) else result if isinstance(result, (tuple, list)) else ()
        site: RawSite | None = None
        for out in outputs:
            if not isinstance(out, _Tensor) or out in self._origins:
                continue  # in-place ops return their input: it keeps the origin it has
            off = not self._on_expect(out.device)
            if site is None or (off and len(site) < _USER_FRAMES):
                # Tensors on the expected device (nearly all) keep their creating line only; those off it,
                # which become findings, keep two callers too.
                site = self._site(_USER_FRAMES if off else 1)
                if site:
                    self.report.exercised_sites.add(site[0])
            inherited: tuple[int, ...] = ()
            if off:
                inherited = tuple(dict.fromkeys(
                    pid for _, t in operands if t.device == out.device
                    for pid in (self._origin(t) or Origin((), "")).placements))
                moved = kind == _Kind.MOVE and not any(t.device == out.device for _, t in operands)
                overridden = kind == _Kind.LIKE and kwargs.get("device") is not None
                if not inherited or moved or overridden:
                    placement_kind = (PlacementKind.MOVE if kind == _Kind.MOVE else
                                      PlacementKind.LIKE if kind == _Kind.LIKE else PlacementKind.FACTORY)
                    placement = Placement(id=len(self.report.placements), kind=placement_kind, op=op,
                                          device=str(out.device), device_argument=_device_argument(kwargs),
                                          site=site)
                    self.report.placements.append(placement)
                    inherited = (placement.id,)
            origin = Origin(site=site, op=op, placements=inherited)
            self._origins[out] = origin
            if off:
                key = _storage_key(out)
                if key is not None:
                    self._by_storage[key[0]] = (key[1], origin)

    def _origin(self, tensor: torch.Tensor) -> Origin | None:
        origin = self._origins.get(tensor)
        if origin is None:
            key = _storage_key(tensor)
            if key is not None:
                entry = self._by_storage.get(key[0])
                if entry is not None and not entry[0].expired():
                    origin = entry[1]  # nn.Parameter(t), t.data, a view: the same storage
        return origin

    def _site(self, depth: int = _USER_FRAMES) -> RawSite:
        frame: FrameType | None = sys._getframe(2)
        found: list[tuple[CodeType, int]] = []
        fallback = None
        user_code = self._user_code
        while frame is not None and len(found) < depth:
            code = frame.f_code
            if user_code(code):
                found.append((code, frame.f_lasti))
            elif fallback is None and user_code.outside_torch(code):
                fallback = (code, frame.f_lasti)
            frame = frame.f_back
        del frame
        # No user frame at all (code run by a library, `roots` too narrow): the first frame outside torch, so
        # that a finding is placed somewhere rather than dropped.
        return tuple(found) if found or fallback is None else (fallback,)

    # -- the module registration hooks ------------------------------------------------------------------

    def _on_parameter(self, module: torch.nn.Module, name: str, param: torch.Tensor | None) -> None:
        self._registered(StateKind.PARAMETER, module, name, param)

    def _on_buffer(self, module: torch.nn.Module, name: str, buffer: torch.Tensor | None) -> None:
        self._registered(StateKind.BUFFER, module, name, buffer)

    def _on_module(self, module: torch.nn.Module, name: str, submodule: torch.nn.Module | None) -> None:
        if submodule is not None and not _is_compiling():
            self._parents[submodule] = (weakref.ref(module), name)

    def _registered(self, kind: StateKind, module: torch.nn.Module, name: str, tensor: torch.Tensor | None) -> None:
        if tensor is None or _is_compiling():
            return
        with torch._C.DisableTorchFunction():
            if self._on_expect(tensor.device):
                return
            origin = self._origin(tensor)
            state = State(id=len(self.report.states), kind=kind, module_class=type(module).__qualname__,
                          attribute=name, module_path=None, device=str(tensor.device), origin=origin,
                          site=self._site())
        self.report.states.append(state)
        self._state_owners[state.id] = weakref.ref(module)
        if origin is not None:
            for pid in origin.placements:
                self.report.placements[pid].state.append(state.id)

    def _resolve_module_paths(self) -> None:
        for state in self.report.states:
            module = self._state_owners[state.id]()
            names = []
            while module is not None and module in self._parents:
                parent_ref, name = self._parents[module]
                names.append(name)
                module = parent_ref()
            state.module_path = ".".join(reversed(names)) or None
        self._state_owners.clear()


def _tensors(args: tuple, kwargs: dict) -> list[tuple[int, torch.Tensor]]:
    found = []
    index = 0
    for value in (*args, *kwargs.values()):
        if isinstance(value, _Tensor):
            found.append((index, value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, _Tensor):
                    found.append((index, item))
                    index += 1
            continue
        index += 1
    return found


def _on_meta(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments with every tensor not on meta replaced by a meta copy (no memory: meta has none).
    0-dim CPU scalars stay: they are legal beside meta tensors."""

    def convert(value: Any) -> Any:
        if isinstance(value, _Tensor):
            if value.device.type == "meta" or (value.device.type == "cpu" and value.dim() == 0):
                return value
            return value.to("meta")
        if isinstance(value, (list, tuple)) and any(isinstance(v, _Tensor) for v in value):
            return type(value)(convert(v) for v in value)
        return value

    return tuple(convert(a) for a in args), {k: convert(v) for k, v in kwargs.items()}


def _move_target(op: str, args: tuple, kwargs: dict) -> str:
    name = op.rsplit(".", 1)[-1]
    if name != "to":
        return name
    for value in (kwargs.get("device"), *args):
        if isinstance(value, (str, torch.device)):
            return str(value)
        if isinstance(value, _Tensor):
            return str(value.device)
    return "another device"


def _device_argument(kwargs: dict) -> str | None:
    device = kwargs.get("device")
    return None if device is None else str(device)


def _storage_key(tensor: torch.Tensor) -> tuple[int, StorageWeakRef] | None:
    try:
        storage = tensor.untyped_storage()
        return storage._cdata, StorageWeakRef(storage)
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        return None  # sparse, nested or subclass tensors without a plain storage


def watch_devices(expect: str = "meta", check_ops: bool = True, keep_going: bool = False,
                  roots: Iterable[str | os.PathLike[str]] | None = None) -> WatchDevices:
    """Watch tensor placement while a model is built; use as `with watch_devices() as report:`.

    Records, each at the user-code line that caused it (with two callers; torch's and site-packages'
    frames skipped): *placements* (a factory, `*_like`/`new_*` or move whose result is not on `expect`),
    *mixes* (an op whose tensors sit on two devices; 0-dim CPU scalars, copies and CPU index tensors are
    legal) and *module state* (a parameter or buffer registered off `expect`). `report.findings` maps them
    to rule codes; `report.write(path)` saves them for `devlint check --runtime-evidence`.

    `check_ops=False` records placements and state only. `keep_going=True` (only with `expect="meta"`) runs
    a mixed op on meta copies so one build reports every problem; otherwise the op runs as it is and
    torch's exception propagates unchanged, with notes naming where each operand was made. `roots`:
    the folders whose files are user code (default: every file outside torch, site-packages and the
    standard library).
    """
    return WatchDevices(expect=expect, check_ops=check_ops, keep_going=keep_going, roots=roots)


def build_on_meta(cls: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, RuntimeReport]:
    """Build `cls(*args, **kwargs)` under `with torch.device("meta")`, watched with `keep_going=True`, and
    return `(module, report)`.

    The watch is entered first and left last: the meta context sits above it on torch's mode stack, is
    gone by the time the watch checks that it is on top, and every call made under meta reaches the watch
    with the device the meta context filled in.
    """
    with watch_devices(expect="meta", keep_going=True) as report:
        with torch.device("meta"):
            module = cls(*args, **kwargs)
    return module, report
