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

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth")
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
# for the byte shape of an import: a short string naming a module, one naming the attribute
# (each optionally memoised), then STACK_GLOBAL; and GLOBAL's text form `c<module>\n<name>\n`.
_TEXT_GLOBAL = re.compile(rb"c([A-Za-z_][\w.]{0,63})\n([A-Za-z_]\w{0,63})\n")


def _raw_globals(tail: bytes) -> list[tuple[str, str]]:
    found = [(m.decode(), n.decode()) for m, n in _TEXT_GLOBAL.findall(tail)]
    position = 0
    while (start := tail.find(b"\x8c", position)) != -1:
        position = start + 1
        size = tail[start + 1] if start + 1 < len(tail) else 0
        module = tail[start + 2 : start + 2 + size]
        if not size or not module.isascii():
            continue
        name = _name_after(tail, start + 2 + size, text_form=False)
        if name is not None:
            found.append((module.decode(), name))
    return found


def _name_after(data: bytes, at: int, text_form: bool) -> str | None:
    """The attribute name following a module name in a GLOBAL or STACK_GLOBAL import."""
    if text_form:
        end = data.find(b"\n", at, at + 256)
        return data[at:end].decode("ascii", "replace") if end != -1 else None
    at += data[at : at + 1] == b"\x94"
    if data[at : at + 1] != b"\x8c" or at + 2 > len(data):
        return None
    end = at + 2 + data[at + 1]
    end_memo = end + (data[end : end + 1] == b"\x94")
    if data[end_memo : end_memo + 1] != b"\x93":
        return None
    return data[at + 2 : end].decode("utf-8", "replace")


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
