"""Read one pickle opcode and its argument as the unpickler does, skipping payloads unread.

Strings short enough to name a module are decoded exactly as `pickle._Unpickler` decodes
them; longer strings and every bytes payload are skipped, never copied, and stand as UNKNOWN
(maybe a string) or NOT_STR.
"""

from __future__ import annotations

import codecs
import pickletools
import struct
from collections.abc import Callable
from typing import Any

from modelgit.model.pickles.reader import Reader

MAX_TEXT = 1024  # longer strings can never name a module or attribute: kept as UNKNOWN
_OPCODES = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}


class Broken(Exception):
    """The unpickler would raise here, so nothing after this point runs."""


class Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()  # could be anything, a string included
NOT_STR = Unknown()  # known not to be a string (bytes, a container, an object)


ARRAY = Unknown()  # what joblib pushes in place of a wrapper: the array


def _text(reader: Reader) -> bytes:
    line = reader.line(MAX_TEXT)
    if line is None:
        raise _TooLong
    return line


class _TooLong(Exception):
    pass


def _decimal(reader: Reader) -> bytes:
    line = reader.line(4300)
    if line is None:
        raise Broken("a number longer than Python reads")
    return line


def _sized(reader: Reader, size: int, kind: str) -> Any:
    """A counted payload: decoded when short (names), skipped unread when long."""
    if size < 0:
        raise Broken("negative byte count")
    if kind == "bytes" or size > MAX_TEXT:
        reader.skip(size)
        return NOT_STR if kind == "bytes" else UNKNOWN
    data = reader.read(size)
    if kind == "utf-8":
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise Broken("invalid UTF-8 in a string") from exc
    return _ascii_or_unknown(data)


def _ascii_or_unknown(data: bytes) -> Any:
    """A protocol-0/1 byte string as the default unpickler decodes it (ASCII), else UNKNOWN."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return UNKNOWN  # other encodings (torch's utf-8, latin1) could decode it differently


def read_op(reader: Reader) -> tuple[str, Any] | None:
    """The next opcode's name and argument; None at the end of the stream."""
    code = reader.byte()
    if code is None:
        return None
    op = _OPCODES.get(code)
    if op is None:
        raise Broken(f"invalid opcode {code:#04x}")
    kind = op.arg.name if op.arg is not None else None
    if kind is None:
        return op.name, None
    return op.name, _ARGS[kind](reader)


def _int_line(reader: Reader) -> Any:
    line = _decimal(reader)
    if line in (b"00", b"01"):
        return line == b"01"
    try:
        return int(line)
    except ValueError as exc:
        raise Broken("a malformed integer") from exc


def _long_line(reader: Reader) -> Any:
    line = _decimal(reader)
    try:
        return int(line[:-1] if line.endswith(b"L") else line)
    except ValueError as exc:
        raise Broken("a malformed integer") from exc


def _float_line(reader: Reader) -> Any:
    try:
        return float(_decimal(reader))
    except ValueError as exc:
        raise Broken("a malformed float") from exc


def _string_line(reader: Reader) -> Any:
    try:
        data = _text(reader)
    except _TooLong:
        return UNKNOWN
    if len(data) < 2 or data[0] != data[-1] or data[:1] not in (b'"', b"'"):
        raise Broken("the STRING opcode argument must be quoted")
    try:
        raw = codecs.escape_decode(data[1:-1])[0]
    except ValueError as exc:
        raise Broken("a malformed STRING") from exc
    return _ascii_or_unknown(raw)


def _unicode_line(reader: Reader) -> Any:
    try:
        return _text(reader).decode("raw-unicode-escape")
    except _TooLong:
        return UNKNOWN
    except UnicodeDecodeError as exc:
        raise Broken("a malformed UNICODE") from exc


def _name_pair(reader: Reader) -> tuple[str, str]:
    try:
        module, name = _text(reader), _text(reader)
        return module.decode("utf-8"), name.decode("utf-8")
    except _TooLong as exc:
        raise Broken("a global name longer than any module path") from exc
    except UnicodeDecodeError as exc:
        raise Broken("a global name that is not UTF-8") from exc


def _persid_line(reader: Reader) -> Any:
    reader.skip_line()
    return None


def _long_n(size_format: str, size_bytes: int) -> Callable[[Reader], Any]:
    def read(reader: Reader) -> Any:
        (size,) = struct.unpack(size_format, reader.read(size_bytes))
        if size < 0:
            raise Broken("negative LONG byte count")
        if size > MAX_TEXT:
            reader.skip(size)
            return NOT_STR
        return int.from_bytes(reader.read(size), "little", signed=True)

    return read


def _counted(size_format: str, size_bytes: int, kind: str) -> Callable[[Reader], Any]:
    def read(reader: Reader) -> Any:
        (size,) = struct.unpack(size_format, reader.read(size_bytes))
        return _sized(reader, size, kind)

    return read


def _fixed(fmt: str) -> Callable[[Reader], Any]:
    size = struct.calcsize(fmt)
    return lambda reader: struct.unpack(fmt, reader.read(size))[0]


_ARGS: dict[str, Callable[[Reader], Any]] = {
    "uint1": _fixed("<B"),
    "uint2": _fixed("<H"),
    "int4": _fixed("<i"),
    "uint4": _fixed("<I"),
    "uint8": _fixed("<Q"),
    "float8": _fixed(">d"),
    "long1": _long_n("<B", 1),
    "long4": _long_n("<i", 4),
    "string1": _counted("<B", 1, "ascii"),
    "string4": _counted("<i", 4, "ascii"),
    "bytes1": _counted("<B", 1, "bytes"),
    "bytes4": _counted("<I", 4, "bytes"),
    "bytes8": _counted("<Q", 8, "bytes"),
    "bytearray8": _counted("<Q", 8, "bytes"),
    "unicodestring1": _counted("<B", 1, "utf-8"),
    "unicodestring4": _counted("<I", 4, "utf-8"),
    "unicodestring8": _counted("<Q", 8, "utf-8"),
    "decimalnl_short": _int_line,
    "decimalnl_long": _long_line,
    "floatnl": _float_line,
    "stringnl": _string_line,
    "stringnl_noescape": _persid_line,
    "stringnl_noescape_pair": _name_pair,
    "unicodestringnl": _unicode_line,
}
