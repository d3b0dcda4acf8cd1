"""The pickle scanner decides by allow-list: real model files pass in every form a loader reads,
anything else is refused without being loaded, and array payloads are skipped, never read."""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse
from conftest import Payload
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from modelgit.model.pickles import AllowList, scan

FORMS = ["pickle0", "pickle2", "pickle4", "pickle5", "joblib", "joblib-zlib", "joblib-gzip",
         "joblib-bz2", "joblib-lzma", "joblib-xz", "joblib-proto0", "joblib-proto2"]  # fmt: skip


def dump(obj: object, path: Path, form: str) -> Path:
    """Write `obj` the way `form` names: pickle protocol N, or joblib (compressed or not)."""
    if form.startswith("pickle"):
        path.write_bytes(pickle.dumps(obj, protocol=int(form[-1])))
    elif form == "joblib":
        joblib.dump(obj, path)
    elif form.startswith("joblib-proto"):
        joblib.dump(obj, path, protocol=int(form[-1]))
    else:
        joblib.dump(obj, path, compress=(form.split("-")[1], 3))
    return path


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    """Real, small, fitted models of the kinds people version (string labels: object arrays)."""
    rng = np.random.default_rng(0)
    features = rng.random((80, 4))
    labels = np.array(["churn", "stay"])[rng.integers(0, 2, 80)]
    texts = ["alpha beta gamma", "beta delta", "epsilon zeta eta", "gamma eta"] * 20
    return {
        "forest-pipeline": make_pipeline(
            StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)
        ).fit(features, labels),
        "hist-gradient-boosting": HistGradientBoostingClassifier(max_iter=3).fit(features, labels),
        "text": make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels),
        "functions": make_pipeline(
            FunctionTransformer(np.log1p), SelectKBest(f_classif, k=2), SVC()
        ).fit(features, labels),
        "search": GridSearchCV(LogisticRegression(), {"C": [0.5, 1.0]}, cv=2).fit(features, labels),
        "arrays": [
            np.zeros((2, 3), dtype=d)
            for d in ["f8", ">i4", "U7", "S3", "M8[ns]", "c16", "?", [("a", "f4"), ("b", "O")]]
        ]
        + [np.asfortranarray(np.ones((3, 4))), np.array([1, "a", None], dtype=object)]
        + [np.ma.masked_array([1, 2], [0, 1]), np.float64(3.5), np.random.default_rng(1)]
        + [scipy.sparse.csr_matrix(np.eye(3))],
    }


def test_the_example_projects_model_passes(example_template):
    # Read in place, never written: the example's trained model, as `dvc repro` made it.
    assert scan(example_template / "models" / "churn.pkl") == []


@pytest.mark.parametrize("form", FORMS)
def test_real_scikit_learn_numpy_and_joblib_files_pass(models, tmp_path, form):
    for name, model in models.items():
        assert scan(dump(model, tmp_path / f"{name}.bin", form)) == [], name


def torch_style_zip(path: Path, data_pkl: bytes, extra: dict[str, bytes] | None = None) -> Path:
    """A zip laid out as `torch.save` writes it (torch itself is not installed here)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", data_pkl)
        archive.writestr("model/byteorder", "little")
        archive.writestr("model/data/0", b"\x80\x02" + os.urandom(4096))  # raw storage bytes
        archive.writestr("model/version", "3\n")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def _unicode2(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def state_dict_pickle() -> bytes:
    """What `torch.save(model.state_dict())` puts in data.pkl (protocol 2): an OrderedDict of
    tensors rebuilt from persistent storage references."""
    ordered_dict = _global("collections", "OrderedDict") + b")R"
    storage = b"(" + _unicode2("storage") + _global("torch", "FloatStorage")
    storage += _unicode2("0") + _unicode2("cpu") + b"K\x06tQ"  # TUPLE, BINPERSID
    tensor = _global("torch._utils", "_rebuild_tensor_v2") + b"(" + storage
    tensor += b"K\x00K\x02K\x03\x86K\x03K\x01\x86\x89" + ordered_dict + b"tR"
    return b"\x80\x02" + ordered_dict + b"(" + _unicode2("linear.weight") + tensor + b"u."


def test_a_torch_style_zip_passes_and_its_storages_are_not_read(tmp_path):
    assert scan(torch_style_zip(tmp_path / "model.pt", state_dict_pickle())) == []


@pytest.mark.parametrize(
    "form", [*FORMS, "torch-zip", "zip-in-zip", "joblib-in-zip", "object-array", "plain-tail"]
)
def test_code_running_payloads_are_refused_in_every_form(tmp_path, form):
    marker = tmp_path / "pwned"
    payload = {"weights": np.arange(1000), "hook": Payload(f"touch {marker}")}
    path = tmp_path / "model.bin"
    if form in FORMS:
        dump(payload, path, form)
    elif form == "torch-zip":
        torch_style_zip(path, pickle.dumps(payload))
    elif form == "zip-in-zip":
        inner = torch_style_zip(tmp_path / "inner.pt", pickle.dumps(payload)).read_bytes()
        torch_style_zip(path, state_dict_pickle(), {"model/extra/inner.pt": inner})
    elif form == "joblib-in-zip":
        inner = dump(payload, tmp_path / "inner.joblib", "joblib-gzip").read_bytes()
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bundle/model.joblib", inner)
    elif form == "object-array":  # hidden in the nested pickle joblib writes for object arrays
        joblib.dump({"labels": np.array(["a", Payload(f"touch {marker}")], dtype=object)}, path)
    else:  # a second pickle after the first: `pickle.load` called twice reads it
        path.write_bytes(pickle.dumps(np.arange(3)) + pickle.dumps(Payload(f"touch {marker}")))
    [finding] = scan(path)
    assert (finding.module, finding.name, finding.text) == (
        "posix",
        "system",
        "unknown global posix.system",
    )
    assert not marker.exists()  # scanning never executes the pickle


def _proto4(*ops: bytes) -> bytes:
    body = b"".join(ops)
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


def _text(value: str) -> bytes:
    data = value.encode()
    return b"\x8c" + bytes([len(data)]) + data


def bypasses(marker: Path) -> dict[str, bytes]:
    """The four pickles that ran code and passed the old deny-list scanner (issue 11)."""
    import cProfile
    import pydoc
    import timeit

    class Timeit:
        def __reduce__(self):
            return timeit.timeit, (f"open({str(marker)!r}, 'w').close()", "pass", int, 1)

    class Pipepager:
        def __reduce__(self):
            return pydoc.pipepager, ("text", f"touch {marker}")

    class Profile:
        def __reduce__(self):
            return cProfile.run, (f"open({str(marker)!r}, 'w').close()",)

    memo_out_of_step = _proto4(
        b")\x94",  # EMPTY_TUPLE, MEMOIZE: memo 0 is not a string
        _text("posix") + b"\x94",  # memo 1
        _text("system") + b"\x94",  # memo 2
        b"00",  # POP both: only BINGET can reach them now
        b"h\x01h\x02\x93",  # BINGET 1, BINGET 2, STACK_GLOBAL -> posix.system
        _text(f"touch {marker}") + b"\x85R.",  # TUPLE1, REDUCE, STOP
    )
    return {
        "timeit.timeit": pickle.dumps(Timeit(), protocol=4),
        "pydoc.pipepager": pickle.dumps(Pipepager(), protocol=4),
        "cProfile.run": pickle.dumps(Profile(), protocol=4),
        "posix.system": memo_out_of_step,
    }


@pytest.mark.parametrize(
    "name", ["timeit.timeit", "pydoc.pipepager", "cProfile.run", "posix.system"]
)
def test_the_four_bypasses_are_refused_and_really_run_code(tmp_path, name):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(bypasses(marker)[name])
    assert [f.text for f in scan(path)] == [f"unknown global {name}"]
    assert not marker.exists()
    # Proof the file is a real exploit: loading it (in a child process) runs the code.
    subprocess.run(
        [sys.executable, "-c", f"import pickle; pickle.load(open({str(path)!r}, 'rb'))"],
        check=False,
        capture_output=True,
        cwd=tmp_path,
    )
    assert marker.exists()


def test_the_memo_follows_the_unpickler_exactly(tmp_path):
    """PUT at any index, then MEMOIZE: the unpickler numbers by the memo's size, not a counter."""
    path = tmp_path / "memo.pkl"
    path.write_bytes(
        _proto4(
            _text("numpy") + b"r\x09\x00\x00\x00",  # LONG_BINPUT 9 (memo size 1)
            _text("posix") + b"\x94",  # MEMOIZE -> index 1, not 10
            _text("system") + b"\x94",  # MEMOIZE -> index 2
            b"000",
            b"h\x01h\x02\x93.",  # BINGET 1, BINGET 2, STACK_GLOBAL
        )
    )
    assert [f.text for f in scan(path)] == ["unknown global posix.system"]


@pytest.mark.parametrize(
    "ops",
    [
        # a name computed by an allowed call: builtins.format("posix")
        [_text("builtins"), _text("format"), b"\x93", _text("posix"), b"\x85R"],
        # a name longer than the scan keeps
        [b"X" + struct.pack("<I", 2000) + b"p" * 2000],
    ],
    ids=["computed", "too-long"],
)
def test_a_global_whose_name_cannot_be_read_is_refused(tmp_path, ops):
    path = tmp_path / "computed.pkl"
    path.write_bytes(_proto4(*ops, _text("system"), b"\x93)R."))
    assert "a global whose name the scan cannot read" in [f.text for f in scan(path)]


@pytest.mark.parametrize(
    ("module", "name", "why"),
    [
        ("builtins", "getattr", "walks to any attribute"),
        ("builtins", "eval", "runs code"),
        ("operator", "attrgetter", "walks to any attribute"),
        ("functools", "partial", "binds calls"),
        ("importlib", "import_module", "imports anything"),
        ("scipy.stats._continuous_distns", "norm_gen", "__setstate__ execs a template"),
        ("torch.storage", "_load_from_bytes", "a nested torch.load"),
        ("torch.fx.graph_module", "reduce_graph_module", "rebuilds code by exec"),
        ("joblib.numpy_pickle_compat", "NDArrayWrapper", "np.load(allow_pickle=True)"),
        ("numpy", "memmap", "creates files"),
        ("numpy", "load", "a nested loader"),
        ("sklearn.utils._testing", "TempMemmap", "test helpers"),
        ("sklearn.linear_model._logistic", "LogisticRegression.__init__.__globals__", "a walk"),
        ("sklearn.datasets._openml", "OpenMLError", "a downloader's module"),
    ],
)
def test_globals_that_look_harmless_are_refused(tmp_path, module, name, why):
    path = tmp_path / "model.pkl"
    path.write_bytes(_proto4(_text(module), _text(name), b"\x93)R."))
    assert [f.text for f in scan(path)] == [f"unknown global {module}.{name}"], why


def test_scipy_distributions_really_exec_their_pickled_state(tmp_path):
    """Why scipy.stats is not on the list: its __setstate__ execs a string from the pickle."""
    from scipy.stats import norm

    marker = tmp_path / "pwned"
    state = norm.__getstate__()
    state["_parse_arg_template"] = f"open({str(marker)!r}, 'w').close()"

    class Evil:
        def __reduce__(self):
            return type(norm), (), state

    path = tmp_path / "dist.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    assert [f.text for f in scan(path)] == [
        "unknown global scipy.stats._continuous_distns.norm_gen"
    ]
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - whatever the exec'd template leaves undefined
        pickle.loads(path.read_bytes())
    assert marker.exists()


def wrapper_stream(count: int, payload: bytes, tail: bytes, memoise: bool = False) -> bytes:
    """joblib's wrapper for `count` int8 values (no alignment byte, as joblib < 1.2 wrote it),
    hand-assembled, then `payload` where joblib expects the array bytes, then `tail`."""
    head = b"".join(
        [
            b"\x80\x04",
            _text("joblib.numpy_pickle"),
            _text("NumpyArrayWrapper"),
            b"\x93)\x81" + (b"\x94" if memoise else b"") + b"}(",
            _text("subclass") + _text("numpy") + _text("ndarray") + b"\x93",
            _text("shape") + b"K" + bytes([count]) + b"\x85",
            _text("order") + _text("C"),
            _text("dtype") + _text("numpy") + _text("dtype") + b"\x93" + _text("i1"),
            b"\x89\x88\x87R(K\x03" + _text("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",
            _text("allow_mmap") + b"\x88ub",
        ]
    )
    return head + payload + tail


def _evil(marker: Path) -> bytes:
    return _text("posix") + _text("system") + b"\x93" + _text(f"touch {marker}") + b"\x85R."


def test_a_joblib_payload_is_skipped_by_its_exact_size(tmp_path):
    """Array bytes that read as opcodes would swallow what follows; joblib skips exactly them."""
    tail = b"0" + _evil(tmp_path / "pwned")  # POP the array, then run a command
    cover = b"B" + struct.pack("<I", len(tail))  # 5 bytes: as opcodes, BINBYTES over the tail
    path = tmp_path / "model.joblib"
    path.write_bytes(wrapper_stream(len(cover), cover, tail))
    assert [f.text for f in scan(path)] == ["unknown global posix.system"]


def test_a_payload_that_pickle_load_reads_as_opcodes_is_read_that_way_too(tmp_path):
    """joblib skips the array; `pickle.load` reads its bytes as opcodes: both readings count."""
    evil = _evil(tmp_path / "pwned")
    path = tmp_path / "model.pkl"
    path.write_bytes(wrapper_stream(len(evil), evil, b"."))  # harmless to joblib.load
    assert [f.text for f in scan(path)] == ["unknown global posix.system"]


def test_a_wrapper_used_any_other_way_is_refused(tmp_path):
    # BUILD again on the wrapper fetched back from the memo: joblib would read another payload.
    path = tmp_path / "model.joblib"
    path.write_bytes(wrapper_stream(1, b"\x00", b"0h\x00}b.", memoise=True))
    assert [f.text for f in scan(path)] == [
        "joblib's NumpyArrayWrapper used outside joblib's array format"
    ]


def test_scanning_a_large_joblib_file_reads_only_its_opcodes(tmp_path):
    path = tmp_path / "large.joblib"
    joblib.dump(
        {"weights": np.ones((4096, 2048)), "labels": np.array(["a", "b"], dtype=object)}, path
    )
    assert path.stat().st_size > 64 * 2**20
    tracemalloc.start()
    started = time.perf_counter()
    assert scan(path) == []
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 2**20, peak  # the 64 MiB payload is jumped over, never held
    assert elapsed < 0.5, elapsed


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "an empty file, not a pickle"),
        (b"\x80\x04K\x01", "not a readable pickle"),
        (b"not a pickle at all", "not a readable pickle"),
        (b"\x80\x04\x82\x01.", "extension code 1"),
    ],
)
def test_what_cannot_be_read_is_refused(tmp_path, data, reason):
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    assert any(f.text.startswith(reason) for f in scan(path)), scan(path)


def test_torchscript_code_in_a_zip_is_refused(tmp_path):
    path = torch_style_zip(tmp_path / "scripted.pt", state_dict_pickle(), {"model/code/m.py": b"x"})
    assert [f.text for f in scan(path)] == ["TorchScript code, which torch.load runs"]


def test_a_pickle_with_a_zip_directory_at_its_end_is_read_both_ways(tmp_path):
    marker = tmp_path / "pwned"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("model/data.pkl", pickle.dumps([1, 2]))
    path = tmp_path / "polyglot.pkl"
    path.write_bytes(pickle.dumps(Payload(f"touch {marker}")) + archive.getvalue())
    assert [f.text for f in scan(path)] == ["unknown global posix.system"]


def test_the_allow_list_takes_exact_names_and_packages():
    allow = AllowList.of(["mypkg.models.Churn", "otherpkg.*"])
    assert allow.allows("mypkg.models", "Churn")
    assert not allow.allows("mypkg.models", "Other")
    assert allow.allows("otherpkg", "Thing") and allow.allows("otherpkg.sub.deep", "make")
    assert not allow.allows("otherpkgx", "Thing")
    assert not allow.allows("otherpkg", "Thing.__init__.__globals__")
    assert AllowList().fingerprint != allow.fingerprint
    with pytest.raises(ValueError, match=r"not MODULE\.NAME"):
        AllowList.of(["os system"])
