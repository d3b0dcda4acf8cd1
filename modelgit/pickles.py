"""Find pickle globals that execute code, by disassembling (never loading) the pickle.

Uses the standard library's `pickletools`: it walks opcodes without executing anything, needs
no dependency, and lets the denylist below say exactly what is refused.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickletools
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".sav")
# Modules whose every callable can run code or touch the system, and single dangerous names.
_UNSAFE_MODULES = {
    "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "runpy", "importlib", "pty",
    "commands", "webbrowser", "code", "ctypes", "marshal", "multiprocessing", "asyncio",
    "pickle", "_pickle", "dill", "cloudpickle", "platform", "signal", "tempfile", "pathlib",
    "requests", "urllib", "http", "ftplib", "smtplib", "telnetlib", "types", "inspect",
}  # fmt: skip
_UNSAFE_NAMES = {
    "builtins": {"eval", "exec", "compile", "open", "__import__", "getattr", "setattr",
                 "delattr", "breakpoint", "input", "globals", "locals", "vars", "exit", "quit"},
    "__builtin__": {"eval", "exec", "compile", "open", "__import__", "getattr", "file"},
    "operator": {"attrgetter", "methodcaller"},
    "functools": {"partial", "reduce"},
    "torch.storage": set(),
    "numpy.testing._private.utils": {"runstring"},
}  # fmt: skip
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "BINSTRING",
            "SHORT_BINSTRING"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One unsafe global a pickle would import."""

    location: str  # the file (and archive member) it is in
    module: str
    name: str


def is_unsafe(module: str, name: str) -> bool:
    """True when importing `module.name` from a pickle can execute code."""
    root = module.split(".", 1)[0]
    return root in _UNSAFE_MODULES or name in _UNSAFE_NAMES.get(module, set())


def _globals(data: bytes) -> list[tuple[str, str]]:
    """Every (module, name) a pickle stream imports, following memoised strings."""
    found: list[tuple[str, str]] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        strings: list[str] = []
        memo: dict[int, str] = {}
        try:
            for opcode, arg, _ in pickletools.genops(stream):
                name = opcode.name
                if name in _STRINGS and isinstance(arg, str):
                    strings.append(arg)
                elif name in ("BINPUT", "LONG_BINPUT", "PUT") and strings and arg is not None:
                    memo[int(arg)] = strings[-1]
                elif name == "MEMOIZE" and strings:
                    memo[len(memo)] = strings[-1]
                elif (
                    name in ("BINGET", "LONG_BINGET", "GET")
                    and arg is not None
                    and int(arg) in memo
                ):
                    strings.append(memo[int(arg)])
                elif name in ("GLOBAL", "INST") and isinstance(arg, str):
                    module, _, attr = arg.partition(" ")
                    found.append((module, attr))
                elif name == "STACK_GLOBAL":
                    module, attr = (strings[-2], strings[-1]) if len(strings) >= 2 else ("?", "?")
                    found.append((module, attr))
        except Exception:  # raw bytes inside the stream (joblib's arrays): scan the bytes
            found.extend(_raw_globals(data[stream.tell() :]))
            break
        if data[stream.tell() : stream.tell() + 1] != b"\x80":
            break  # another pickle only follows if it starts with a PROTO opcode
    return found


# After raw bytes that opcodes cannot walk (joblib writes array data inside the stream), look
# for the byte shapes of imports: GLOBAL `c<module>\n<name>\n`, and two short strings
# (each optionally memoised) followed by STACK_GLOBAL.
_RAW_GLOBAL = re.compile(rb"c([A-Za-z_][\w.]*)\n([A-Za-z_][\w.]*)\n")


def _raw_globals(tail: bytes) -> list[tuple[str, str]]:
    found = [(m.decode(), n.decode()) for m, n in _RAW_GLOBAL.findall(tail)]
    position = 0
    while (start := tail.find(b"\x8c", position)) != -1:
        position = start + 1
        first, after = _short_string(tail, start)
        if first is None:
            continue
        after += tail[after : after + 1] == b"\x94"
        if tail[after : after + 1] != b"\x8c":
            continue
        second, end = _short_string(tail, after)
        end += tail[end : end + 1] == b"\x94"
        if second is not None and tail[end : end + 1] == b"\x93":
            found.append((first, second))
    return found


def _short_string(data: bytes, at: int) -> tuple[str | None, int]:
    """A SHORT_BINUNICODE at `at`: its text and the offset after it."""
    if at + 2 > len(data):
        return None, at + 1
    end = at + 2 + data[at + 1]
    try:
        return data[at + 2 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        return None, at + 1


def _payloads(path: Path) -> list[tuple[str, bytes]]:
    """The pickle streams in a file: itself, decompressed, or the .pkl members of a zip."""
    raw = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [
                (f"{path}:{member}", archive.read(member))
                for member in archive.namelist()
                if member.endswith((".pkl", ".pickle")) or member.endswith("/data.pkl")
            ]
    for opener in (zlib.decompress, gzip.decompress, bz2.decompress, lzma.decompress):
        try:
            return [(str(path), opener(raw))]
        except Exception:
            continue
    return [(str(path), raw)]


def scan(path: Path) -> list[Finding]:
    """Unsafe globals in a pickle-based file (raw, compressed joblib, or zip-based torch)."""
    findings = []
    for location, data in _payloads(path):
        for module, name in _globals(data):
            if is_unsafe(module, name):
                findings.append(Finding(location, module, name))
    return findings


def scan_paths(paths: list[Path]) -> list[Finding]:
    """`scan` every pickle-based file under `paths` (files, or directories walked)."""
    findings = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix.lower() in PICKLE_SUFFIXES or file == path:
                findings.extend(scan(file))
    return findings
