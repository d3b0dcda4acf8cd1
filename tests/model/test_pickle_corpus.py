"""Every code-running global that picklescan and fickling know is refused by our allow-list,
imported each way a pickle can import it (text GLOBAL, STACK_GLOBAL from memoised strings),
and none is ever loaded. The corpus is derived from the installed scanners, so it grows when
they learn new tricks."""

from __future__ import annotations

import _compat_pickle
import builtins
import struct
from pathlib import Path

from fickling.analysis import UnsafeImportsML
from fickling.fickle import SAFE_BUILTINS, UNSAFE_IMPORTS
from picklescan.scanner import _unsafe_globals

from modelgit.model.pickles import scan
from modelgit.model.pickles.allowlist import AllowList

ANY_NAME = "system"  # for modules a scanner refuses whole: any name in them must be refused
BUILTIN_MODULES = ("builtins", "__builtin__", "__builtins__")
BRIEF = [  # named in the issue: each reaches code or the system when a pickle calls it
    "builtins.getattr", "builtins.eval", "builtins.exec", "builtins.__import__",
    "operator.attrgetter", "functools.partial", "importlib.import_module", "os.system",
    "subprocess.Popen", "timeit.timeit", "pydoc.pipepager", "cProfile.run", "runpy.run_path",
    "code.interact", "pdb.run", "webbrowser.open", "ctypes.CDLL", "torch.load",
    "torch.storage._load_from_bytes", "numpy.load", "joblib.load", "pickle.loads",
]  # fmt: skip


def corpus() -> dict[str, str]:
    """`module.name` -> where it comes from, for every global the installed scanners refuse."""
    found: dict[str, str] = {}
    for module, names in _unsafe_globals.items():
        for name in [ANY_NAME] if names == "*" else [names] if isinstance(names, str) else names:
            found.setdefault(f"{module}.{name}", "picklescan")
    for module in UNSAFE_IMPORTS:
        if module in BUILTIN_MODULES:  # fickling passes its SAFE_BUILTINS: test the others
            for name in sorted(set(dir(builtins)) - SAFE_BUILTINS):
                found.setdefault(f"{module}.{name}", "fickling")
        else:
            found.setdefault(f"{module}.{ANY_NAME}", "fickling")
    for module in UnsafeImportsML.UNSAFE_MODULES:
        found.setdefault(f"{module}.{ANY_NAME}", "fickling-ml")
    for module, names in UnsafeImportsML.UNSAFE_IMPORTS.items():
        for name in names:
            found.setdefault(f"{module}.{name}", "fickling-ml")
    for entry in BRIEF:
        found.setdefault(entry, "issue")
    return found


CORPUS = corpus()


def split(entry: str) -> tuple[str, str]:
    """`module.name` -> (module, name); the scanners list methods as `Class.method`."""
    for module in sorted({e.rsplit(".", 1)[0] for e in CORPUS}, key=len, reverse=True):
        if entry.startswith(module + ".") and entry != module:
            return module, entry[len(module) + 1 :]
    module, _, name = entry.rpartition(".")
    return module, name


def _text(value: str) -> bytes:
    data = value.encode()
    return (
        b"\x8c" + bytes([len(data)]) + data
        if len(data) < 256
        else b"X" + struct.pack("<I", len(data)) + data
    )


def encodings(module: str, name: str, marker: Path) -> dict[str, bytes]:
    """The global called with an argument, as protocol 0 (GLOBAL) and 4 (memoised strings)."""
    protocol0 = f"c{module}\n{name}\n(V{marker}\ntR.".encode()
    protocol4 = (
        b"\x80\x04)\x94"  # a memoised non-string first, to throw a miscounting memo off
        + _text(module) + b"\x94" + _text(name) + b"\x94" + b"00h\x01h\x02\x93"
        + _text(f"touch {marker}") + b"\x85R."
    )  # fmt: skip
    return {"protocol0": protocol0, "protocol4": protocol4}


def imported(module: str, name: str, encoding: str) -> str:
    """What the unpickler imports: protocols below 3 rename Python 2 modules (`__builtin__`)."""
    if encoding == "protocol0":
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


def test_the_corpus_covers_both_scanners_and_the_issue():
    sources = set(CORPUS.values())
    assert sources == {"picklescan", "fickling", "fickling-ml", "issue"}
    assert len(CORPUS) > 150, len(CORPUS)
    print(f"corpus: {len(CORPUS)} globals ({', '.join(sorted(sources))})")


def test_every_corpus_global_is_refused_in_every_encoding(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "corpus.pkl"
    passed = []
    for entry in sorted(CORPUS):
        module, name = split(entry)
        assert not AllowList().allows(module, name), entry
        for encoding, data in encodings(module, name, marker).items():
            path.write_bytes(data)
            texts = [f.text for f in scan(path)]
            if f"unknown global {imported(module, name, encoding)}" not in texts:
                passed.append((entry, encoding, texts))
    assert passed == []
    assert not marker.exists()
