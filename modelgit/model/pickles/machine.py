"""Walk a pickle's opcodes with the unpickler's own stack and memo, executing nothing.

Each opcode is applied to a symbolic stack exactly as `pickle._Unpickler` applies it (marks,
the memo with PUT/BINPUT/LONG_BINPUT/MEMOIZE of any value, GET/BINGET/LONG_BINGET, protocol-2
import renames), so STACK_GLOBAL names are the strings the unpickler would import. Every import
is checked against the allow-list; what a call returns is never computed.

joblib writes raw array bytes after each `NumpyArrayWrapper` and reads them in its BUILD; a
plain `pickle.load` reads those bytes as opcodes instead. So at each wrapper the walk forks:
the main walk (joblib's reading) jumps over `shape x itemsize` bytes, or reads the nested
pickle of an object array with a fresh memo; a second, read-only walk reads on as `pickle.load`
would, until that reading fails (at once, for real array bytes). A wrapper used in any other
way than joblib's own is refused, since its payload could not be told apart from opcodes.
"""

from __future__ import annotations

import _compat_pickle
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelgit.model.pickles.allowlist import AllowList
from modelgit.model.pickles.opcodes import ARRAY, NOT_STR, UNKNOWN, Broken, Unknown, read_op
from modelgit.model.pickles.reader import KeepLimit, Reader, Truncated

_MAX_ITEMS = 64  # container items kept (enough for every wrapper and dtype state)
_MAX_KEPT = 200_000  # memoised strings kept; later ones are remembered as UNKNOWN
_MISSING = object()  # no BUILD state yet
UNSIZED = "UNSIZED"  # a joblib wrapper whose payload size cannot be told
_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_WRAPPER_ARGS = ("subclass", "shape", "order", "dtype", "allow_mmap")
_COPYREG_NEW = {("copyreg", n) for n in ("_reconstructor", "__newobj__", "__newobj_ex__")}
_TYPESTR = re.compile(r"[<>|=]?([a-zA-Z?])(\d*)")


class Global:
    """An imported global (`find_class(module, name)`)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def key(self) -> tuple[str, str]:
        """(module, name)."""
        return self.module, self.name


class Obj:
    """What a call returned: its callable, its arguments, and any state BUILD gave it."""

    __slots__ = ("args", "func", "state", "wrapper")

    def __init__(self, func: Any, args: Any, wrapper: bool = False) -> None:
        self.func, self.args, self.state, self.wrapper = func, args, _MISSING, wrapper


class _WrapperArgs(tuple):  # type: ignore[type-arg]
    """A tuple holding joblib's wrapper class: only copyreg may consume it."""

    __slots__ = ()


@dataclass(frozen=True)
class Import:
    """One global the pickle imports, or a reason it cannot be checked (module is empty)."""

    module: str
    name: str
    reason: str = "unknown global"


@dataclass(frozen=True)
class Wrapper:
    """A joblib array payload follows: its byte size, or a nested pickle of objects."""

    size: int
    padded: bool
    objects: bool


class _Memo:
    """The unpickler's memo: exact keys (MEMOIZE uses their count); values kept when useful."""

    def __init__(self, base: _Memo | None = None) -> None:
        self.values: dict[int, Any] = {}
        self.dense = 0  # keys 0..dense-1 are all present
        self.sparse: set[int] = set()
        self.base = base
        self.kept = 0
        self.beyond_base = 0  # own keys the base does not have

    def __contains__(self, key: int) -> bool:
        mine = key < self.dense or key in self.sparse
        return mine or (self.base is not None and key in self.base)

    def __len__(self) -> int:
        if self.base is None:
            return self.dense + len(self.sparse)
        return len(self.base) + self.beyond_base

    def put(self, key: int, value: Any) -> None:
        """PUT/BINPUT/LONG_BINPUT/MEMOIZE."""
        if key < 0:
            raise Broken("negative memo index")
        if not (key < self.dense or key in self.sparse):
            if self.base is not None and key not in self.base:
                self.beyond_base += 1
            if key == self.dense:
                self.dense += 1
                while self.dense in self.sparse:
                    self.sparse.discard(self.dense)
                    self.dense += 1
            else:
                self.sparse.add(key)
        if isinstance(value, str) and self.kept >= _MAX_KEPT:
            self.values[key] = UNKNOWN  # a string, no longer kept
        elif _worth_keeping(value) or value is UNKNOWN:
            self.kept += isinstance(value, str)
            self.values[key] = value
        elif _maybe_str(value):
            self.values[key] = UNKNOWN  # what some calls return may be a string
        elif self.base is not None:
            self.values[key] = NOT_STR  # hide the base's value
        else:
            self.values.pop(key, None)

    def get(self, key: int) -> Any:
        """GET/BINGET/LONG_BINGET; Broken for a key never stored, as the unpickler raises."""
        if key in self.values:
            return self.values[key]
        if key < self.dense or key in self.sparse:
            return NOT_STR
        if self.base is not None:
            return self.base.get(key)
        raise Broken(f"memo key {key} was never stored")


def _worth_keeping(value: Any) -> bool:
    if isinstance(value, (str, Global, _WrapperArgs)):
        return True
    if isinstance(value, Obj):
        return value.wrapper or _is_dtype(value)
    return isinstance(value, (tuple, list, dict)) and len(value) <= _MAX_ITEMS


def _is_dtype(value: Any) -> bool:
    return (
        isinstance(value, Obj)
        and isinstance(value.func, Global)
        and value.func.key()
        == (
            "numpy",
            "dtype",
        )
    )


@dataclass
class Machine:
    """One unpickler's state. `joblib` reads as joblib's unpickler; `writable=False` forks."""

    allow: AllowList
    joblib: bool = False
    writable: bool = True
    stack: list[Any] = field(default_factory=list)
    metastack: list[list[Any]] = field(default_factory=list)
    memo: _Memo = field(default_factory=_Memo)
    proto: int = 0
    imports: list[Import] = field(default_factory=list)

    def fork(self) -> Machine:
        """A read-only copy: reads on as `pickle.load` would, changing nothing it shares."""
        return Machine(
            self.allow,
            joblib=False,
            writable=False,
            stack=list(self.stack),
            metastack=[list(s) for s in self.metastack],
            memo=_Memo(self.memo),
            proto=self.proto,
        )

    # -- the stack, as the unpickler keeps it

    def _note(self, reason: str) -> None:
        self.imports.append(Import("", "", reason))

    def _taken(self, value: Any) -> Any:
        """A value consumed by an opcode; joblib's wrapper may only be consumed by its BUILD."""
        if self.joblib and (
            (isinstance(value, Obj) and value.wrapper)
            or isinstance(value, _WrapperArgs)
            or (isinstance(value, Global) and value.key() == _WRAPPER)
        ):
            self._note("joblib's NumpyArrayWrapper used outside joblib's array format")
            return UNKNOWN
        return value

    def raw_pop(self) -> Any:
        """The top of the stack, removed, unchecked (for a class about to be called)."""
        if not self.stack:
            raise Broken("stack underflow")
        return self.stack.pop()

    def pop(self) -> Any:
        """The top of the stack, removed."""
        return self._taken(self.raw_pop())

    def pop_mark(self) -> list[Any]:
        """The items since the last MARK, the stack below it restored."""
        if not self.metastack:
            raise Broken("no MARK on the stack")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def top(self) -> Any:
        """The top of the stack, left in place."""
        if not self.stack:
            raise Broken("stack underflow")
        return self.stack[-1]

    # -- imports

    def _find_class(self, module: str, name: str) -> Global:
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        if not self.allow.allows(module, name):
            if not self.writable and not _importable(module):
                raise Broken(f"no module named {module}")  # the read-on ends: import fails
            self.imports.append(Import(module, name))
        return Global(module, name)

    def _call(self, func: Any, args: Any, init: bool = True) -> Any:
        """What calling `func(*args)` (or only `func.__new__`, without `init`) returns."""
        if isinstance(func, Global) and func.key() == _WRAPPER and not init:
            made = Obj(func, (), wrapper=True)
            made.state = {}  # __new__ alone: no attributes, not even the alignment default
            return made
        if isinstance(func, Global) and func.key() == _WRAPPER:
            values = args if isinstance(args, tuple) else ()
            made = Obj(func, (), wrapper=True)
            made.state = dict(zip(_WRAPPER_ARGS, values, strict=False))
            if len(values) < 6:
                made.state["numpy_array_alignment_bytes"] = 16  # the constructor's default
            else:
                made.state["numpy_array_alignment_bytes"] = values[5]
            if not isinstance(args, tuple) or len(values) > 6:
                made.state = UNKNOWN
            return made
        if isinstance(args, _WrapperArgs):
            if not (isinstance(func, Global) and func.key() in _COPYREG_NEW):
                self._note("joblib's NumpyArrayWrapper used outside joblib's array format")
                return UNKNOWN
            made = Obj(args[0], (), wrapper=True)
            made.state = {}
            return made
        return Obj(func, args)

    # -- BUILD

    def _build(self) -> Wrapper | str | None:
        state = self.pop()
        target = self.top()
        if not self.writable or not isinstance(target, Obj):
            return None
        if target.wrapper and self.joblib:
            if target.state is UNKNOWN or not _merge_state(target, state):
                target.state = UNKNOWN
            return _wrapper_payload(target) or UNSIZED
        if target.state is _MISSING:
            target.state = state
        return None

    # -- applying one opcode

    def apply(self, name: str, arg: Any) -> str | Wrapper | None:
        """Apply one opcode; "STOP" at the end of the pickle, a Wrapper when a payload follows."""
        handler = _HANDLERS.get(name)
        if handler is None:
            raise Broken(f"opcode {name} is not supported")
        return handler(self, arg)


def _importable(module: str) -> bool:
    """Whether `import module` could succeed here: its top-level package is found, unimported.

    Used only for `pickle.load`'s reading on past a joblib array, where memo references into
    joblib's nested pickle name junk like `NumpyArrayWrapper.dtype`: such an import fails,
    and the load with it.
    """
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _merge_state(target: Obj, state: Any) -> bool:
    """Apply BUILD's state to a wrapper as `object`'s default BUILD does; False when unknown."""
    if isinstance(state, tuple) and len(state) == 2:
        parts = [s for s in state if s is not None]
    else:
        parts = [state] if state is not None else []
    for part in parts:
        if not isinstance(part, dict) or not isinstance(target.state, dict):
            return False
        target.state.update(part)
    return True


def _wrapper_payload(wrapper: Obj) -> Wrapper | None:
    """What joblib reads after this wrapper's BUILD; None when that cannot be told exactly."""
    state = wrapper.state
    if not isinstance(state, dict):
        return None
    shape, dtype = state.get("shape", _MISSING), state.get("dtype", _MISSING)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(n, int) and n >= 0 for n in shape
    ):
        return None
    layout = _dtype_layout(dtype, depth=0)
    if layout is None:
        return None
    count = 1
    for n in shape:
        count *= n
    alignment = state.get("numpy_array_alignment_bytes", None)
    if alignment is UNKNOWN or (alignment is not None and not _plain(alignment)):
        return None
    itemsize, has_objects = layout
    return Wrapper(count * itemsize, padded=alignment is not None, objects=has_objects)


def _plain(value: Any) -> bool:
    return isinstance(value, (int, float, str, bytes, bool))


def _dtype_layout(dtype: Any, depth: int) -> tuple[int, bool] | None:
    """A pickled numpy dtype's (itemsize, holds Python objects), from its reduce and state."""
    if depth > 8 or not _is_dtype(dtype) or not isinstance(dtype.args, tuple) or not dtype.args:
        return None
    typestr = dtype.args[0]
    match = _TYPESTR.fullmatch(typestr) if isinstance(typestr, str) else None
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    if dtype.state is not _MISSING and not isinstance(dtype.state, tuple):
        return None
    has_objects = kind == "O"
    elsize = state[5] if len(state) > 5 else -1
    if len(state) > 7:
        flags = state[7]
        if not isinstance(flags, int):
            return None
        has_objects = has_objects or bool(flags & 1)
    subdescr = state[2] if len(state) > 2 else None
    fields = state[4] if len(state) > 4 else None
    parts: list[Any] = []
    if isinstance(subdescr, tuple) and subdescr:
        parts.append(subdescr[0])
    elif subdescr is not None:
        return None
    if isinstance(fields, dict):
        parts += [f[0] if isinstance(f, tuple) and f else None for f in fields.values()]
    elif fields is not None:
        return None
    for part in parts:
        inner = _dtype_layout(part, depth + 1)
        if inner is None:
            return None
        has_objects = has_objects or inner[1]
    if isinstance(elsize, int) and not isinstance(elsize, bool) and elsize >= 0:
        return elsize, has_objects
    if elsize != -1 or not digits:
        return None
    return int(digits) * (4 if kind == "U" else 1), has_objects


# -- the opcode handlers, one per opcode as pickle._Unpickler has them


def _push(value: Any) -> Callable[[Machine, Any], None]:
    def handler(m: Machine, arg: Any) -> None:
        m.stack.append(value() if callable(value) else value)

    return handler


def _push_arg(m: Machine, arg: Any) -> None:
    m.stack.append(arg)


def _proto(m: Machine, arg: Any) -> None:
    if not 0 <= arg <= 5:
        raise Broken(f"unsupported pickle protocol {arg}")
    m.proto = arg


def _stop(m: Machine, arg: Any) -> str:
    m.pop()
    return "STOP"


def _mark(m: Machine, arg: Any) -> None:
    m.metastack.append(m.stack)
    m.stack = []


def _pop(m: Machine, arg: Any) -> None:
    if m.stack:
        m.pop()
    else:
        m.pop_mark()


def _pop_mark(m: Machine, arg: Any) -> None:
    for item in m.pop_mark():
        m._taken(item)


def _dup(m: Machine, arg: Any) -> None:
    m.stack.append(m._taken(m.top()))


def _tuple_of(items: list[Any], m: Machine) -> tuple[Any, ...]:
    if m.joblib and any(isinstance(i, Global) and i.key() == _WRAPPER for i in items):
        return _WrapperArgs(m._taken(i) if not isinstance(i, Global) else i for i in items)
    return tuple(m._taken(i) for i in items)


def _tuple(m: Machine, arg: Any) -> None:
    items = m.pop_mark()  # before `m.stack` is read: popping the mark replaces it
    m.stack.append(_tuple_of(items, m))


def _tuple_n(n: int) -> Callable[[Machine, Any], None]:
    def handler(m: Machine, arg: Any) -> None:
        if len(m.stack) < n:
            raise Broken("stack underflow")
        items = m.stack[len(m.stack) - n :]
        del m.stack[len(m.stack) - n :]
        m.stack.append(_tuple_of(items, m))

    return handler


def _list(m: Machine, arg: Any) -> None:
    items = [m._taken(i) for i in m.pop_mark()][:_MAX_ITEMS]
    m.stack.append(items)


def _dict(m: Machine, arg: Any) -> None:
    items = [m._taken(i) for i in m.pop_mark()]
    m.stack.append(_pairs({}, items))


def _pairs(target: dict[Any, Any], items: list[Any]) -> dict[Any, Any]:
    for key, value in zip(items[::2], items[1::2], strict=False):
        if len(target) < _MAX_ITEMS and _hashable(key):
            target[key] = value
    return target


def _hashable(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_hashable(k) for k in key)
    return isinstance(key, (str, int, float, bytes, type(None), Global, Obj, Unknown))


def _frozenset(m: Machine, arg: Any) -> None:
    items = m.pop_mark()
    for item in items:
        m._taken(item)
    m.stack.append(NOT_STR)


def _append(m: Machine, arg: Any) -> None:
    value = m.pop()
    target = m.top()
    if m.writable and isinstance(target, list) and len(target) < _MAX_ITEMS:
        target.append(value)


def _appends(m: Machine, arg: Any) -> None:
    items = [m._taken(i) for i in m.pop_mark()]
    target = m.top()
    if m.writable and isinstance(target, list):
        target.extend(items[: max(_MAX_ITEMS - len(target), 0)])


def _setitem(m: Machine, arg: Any) -> None:
    value = m.pop()
    key = m.pop()
    target = m.top()
    if m.writable and isinstance(target, dict):
        _pairs(target, [key, value])


def _setitems(m: Machine, arg: Any) -> None:
    items = [m._taken(i) for i in m.pop_mark()]
    target = m.top()
    if m.writable and isinstance(target, dict):
        _pairs(target, items)


def _additems(m: Machine, arg: Any) -> None:
    for item in m.pop_mark():
        m._taken(item)
    m.top()


def _global(m: Machine, arg: Any) -> None:
    module, name = arg
    m.stack.append(m._find_class(module, name))


def _stack_global(m: Machine, arg: Any) -> None:
    name = m.pop()
    module = m.pop()
    if type(module) is not str or type(name) is not str:
        if not (_maybe_str(module) and _maybe_str(name)):
            raise Broken("STACK_GLOBAL requires str")
        # A call's result (`builtins.format("posix")`) or an unread string may be a name.
        m._note("a global whose name the scan cannot read")
        m.stack.append(UNKNOWN)
        return
    m.stack.append(m._find_class(module, name))


def _maybe_str(value: Any) -> bool:
    """Whether a value might be exactly a `str`, as STACK_GLOBAL requires of its names.

    Calls of the built-in allow-list's classes build instances of those classes; builtins,
    codecs, copyreg, numpy's scalar (object dtype returns its argument), torch's
    `_rebuild_from_type_v2` and calls of call results can return a string. A global is a
    class or function, unless its name is a CONSTANT's.
    """
    if isinstance(value, str) or value is UNKNOWN:
        return True
    if isinstance(value, Global):
        return not any(c.islower() for c in value.name)  # a CONSTANT may be a string
    if not isinstance(value, Obj):
        return False
    func = value.func
    if not isinstance(func, Global):
        return True
    return func.module in _MAY_RETURN_STR or func.key() in _MAY_RETURN_STR_NAMES


_MAY_RETURN_STR = {"builtins", "_codecs", "copyreg", "functools", "operator"}
_MAY_RETURN_STR_NAMES = {
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
}


def _inst(m: Machine, arg: Any) -> None:
    module, name = arg
    args = _tuple_of(m.pop_mark(), m)
    m.stack.append(m._call(m._find_class(module, name), args, init=bool(args)))


def _obj(m: Machine, arg: Any) -> None:
    items = m.pop_mark()
    if not items:
        raise Broken("OBJ without a class")
    cls = _callable(m, items[0])
    args = tuple(m._taken(i) for i in items[1:])
    m.stack.append(m._call(cls, args, init=bool(args)))  # as `_instantiate` does


def _callable(m: Machine, value: Any) -> Any:
    """A class or function about to be called: joblib's wrapper class is fine here."""
    if isinstance(value, Global) and value.key() == _WRAPPER:
        return value
    return m._taken(value)


def _reduce(m: Machine, arg: Any) -> None:
    args = m.raw_pop()
    func = _callable(m, m.raw_pop())
    if not isinstance(args, _WrapperArgs):
        args = m._taken(args)
    m.stack.append(m._call(func, args))


def _newobj(m: Machine, arg: Any) -> None:
    args = m.pop()
    cls = _callable(m, m.raw_pop())
    m.stack.append(m._call(cls, args, init=False))


def _newobj_ex(m: Machine, arg: Any) -> None:
    m.pop()  # kwargs
    _newobj(m, arg)


def _build(m: Machine, arg: Any) -> Wrapper | str | None:
    return m._build() or None


def _ext(m: Machine, arg: Any) -> None:
    m._note(f"extension code {arg} (the copyreg registry names it; it cannot be checked)")
    m.stack.append(UNKNOWN)


def _persid(m: Machine, arg: Any) -> None:
    m.stack.append(UNKNOWN)


def _binpersid(m: Machine, arg: Any) -> None:
    m.pop()
    m.stack.append(UNKNOWN)


def _put(m: Machine, arg: Any) -> None:
    m.memo.put(arg, m.top())  # the pickler memoises every wrapper; a later GET is refused


def _memoize(m: Machine, arg: Any) -> None:
    m.memo.put(len(m.memo), m.top())


def _get(m: Machine, arg: Any) -> None:
    value = m.memo.get(arg)
    if (isinstance(value, Obj) and value.wrapper) or isinstance(value, _WrapperArgs):
        value = m._taken(value)
    m.stack.append(value)


def _noop(m: Machine, arg: Any) -> None:
    return None


def _readonly_buffer(m: Machine, arg: Any) -> None:
    m.top()


_HANDLERS: dict[str, Callable[[Machine, Any], Any]] = {
    "PROTO": _proto,
    "FRAME": _noop,
    "STOP": _stop,
    "MARK": _mark,
    "POP": _pop,
    "POP_MARK": _pop_mark,
    "DUP": _dup,
    "NONE": _push(None),
    "NEWTRUE": _push(True),
    "NEWFALSE": _push(False),
    "EMPTY_TUPLE": _push(()),
    "EMPTY_LIST": _push(list),
    "EMPTY_DICT": _push(dict),
    "EMPTY_SET": _push(NOT_STR),
    "TUPLE": _tuple,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "LIST": _list,
    "DICT": _dict,
    "FROZENSET": _frozenset,
    "APPEND": _append,
    "APPENDS": _appends,
    "SETITEM": _setitem,
    "SETITEMS": _setitems,
    "ADDITEMS": _additems,
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "REDUCE": _reduce,
    "NEWOBJ": _newobj,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build,
    "EXT1": _ext,
    "EXT2": _ext,
    "EXT4": _ext,
    "PERSID": _persid,
    "BINPERSID": _binpersid,
    "PUT": _put,
    "BINPUT": _put,
    "LONG_BINPUT": _put,
    "MEMOIZE": _memoize,
    "GET": _get,
    "BINGET": _get,
    "LONG_BINGET": _get,
    "NEXT_BUFFER": _push(NOT_STR),
    "READONLY_BUFFER": _readonly_buffer,
}
_VALUES = (
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT STRING BINSTRING "
    "SHORT_BINSTRING UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES "
    "BINBYTES8 BYTEARRAY8"
)
for _name in _VALUES.split():
    _HANDLERS[_name] = _push_arg


# -- driving machines over a stream


def _step(reader: Reader, machines: list[Machine]) -> list[Any]:
    """Read one opcode and apply it to each machine; the machines that broke are dropped."""
    op = read_op(reader)
    if op is None:
        raise Truncated("the stream ends before STOP")
    name, arg = op
    if name in ("PUT", "GET") and isinstance(arg, bool):
        arg = int(arg)
    events = []
    for machine in list(machines):
        try:
            events.append(machine.apply(name, arg))
        except Broken:
            if machine is machines[0]:
                raise
            machines.remove(machine)
            events.append(None)
    return events


def walk(reader: Reader, allow: AllowList, found: list[Import]) -> None:
    """Add to `found` every import one pickle makes, read as joblib and as `pickle.load` would.

    Raises Broken or Truncated when the pickle itself cannot be read to its STOP (what it
    imported before that point is in `found` already).
    """
    main = Machine(allow, joblib=True, imports=found)
    while True:
        events = _step(reader, [main])
        event = events[0]
        if event == "STOP":
            return
        if isinstance(event, Wrapper) or event == UNSIZED:
            _read_payload(reader, main, event)


def _read_payload(reader: Reader, main: Machine, event: Any) -> None:
    """After a wrapper's BUILD: fork `pickle.load`'s reading, then read as joblib does."""
    plain = main.fork()
    plain.imports = found = main.imports  # what either reading imports counts, even if it breaks
    start = reader.tell()
    if isinstance(event, Wrapper) and event.objects:
        _lockstep(reader, Machine(main.allow, imports=found), plain)
    else:
        _run_plain(reader, plain)
        reader.seek(start)
        if not isinstance(event, Wrapper):
            raise Broken("the size of a joblib array payload cannot be read from its wrapper")
        if event.padded:
            padding = reader.byte()
            if padding is None:
                raise Truncated("the stream ends inside an array payload")
            reader.skip(padding)
        reader.skip(event.size)
    main.stack[-1] = ARRAY


def _run_plain(reader: Reader, plain: Machine) -> None:
    """Read on as `pickle.load` would, until that fails or stops; keeps what it must re-read."""
    reader.keep_from = reader.tell()
    try:
        while True:
            events = _step(reader, [plain])
            if events[0] == "STOP":
                return
    except KeepLimit:
        plain._note("pickle.load would read on past what a compressed stream lets the scan re-read")
    except (Broken, Truncated):
        return
    finally:
        reader.keep_from = None


def _lockstep(reader: Reader, nested: Machine, plain: Machine) -> None:
    """An object array's nested pickle: joblib's fresh unpickler, and `pickle.load` reading on."""
    machines = [nested, plain]
    while True:
        events = _step(reader, machines)
        if events[0] == "STOP":
            return
