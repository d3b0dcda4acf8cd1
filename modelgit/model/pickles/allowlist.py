"""Which globals a model pickle may import: an allow-list, so anything unknown is refused.

A global is safe when calling it with any arguments a pickle can build, and restoring any
state into what it returns, can neither run code nor reach the system, and what it returns is
no more powerful than the arguments it was given. That holds for:

- numpy's array, dtype and scalar reconstruction, its bit generators and plain math ufuncs;
- scikit-learn's classes (its estimators' `__init__` only stores parameters, by contract, and
  `__setstate__` only updates `__dict__`), its metric and score functions; scipy's sparse
  matrices; xgboost's and lightgbm's scikit-learn wrappers and boosters; torch's tensor and
  storage rebuilders and `torch.nn` modules; `collections`' containers; pure builtins.

Deliberately absent, each able to run code or reach the system when a pickle calls it:
`builtins.getattr/eval/exec/compile/open/__import__`, `operator.attrgetter`,
`functools.partial`, `importlib`, `os`/`posix`, `subprocess`, `timeit`, `pydoc`, `cProfile`,
`runpy`, `code`, `pdb`, `webbrowser`, `ctypes`, nested loaders (`torch.load`,
`torch.storage._load_from_bytes`, `numpy.load`, joblib's old `NDArrayWrapper`, which
`np.load`s a side file with `allow_pickle=True`), `numpy.memmap` (creates files), scipy.stats
distributions (their `__setstate__` `exec`s a template string taken from the pickled state),
`torch.fx` (rebuilds modules by `exec`), `copyreg` extension codes. A name with a dunder part
(`Model.__init__.__globals__`) walks attributes and is refused unless listed exactly.

Projects add their own classes in `.modelgit.yaml`::

    scan:
      allow:
        - mypkg.models.Churn    # one global, MODULE.NAME
        - mypkg.*               # every global in mypkg and its submodules
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from modelgit.sources.config import ALLOW_ENTRY

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CLASS_SHAPED = re.compile(r"(__pyx_unpickle_)?_*[A-Z][A-Za-z0-9_]*")  # and Cython's helper
_MODULE = re.compile(rf"{_IDENT}(\.{_IDENT})*")

_PURE_BUILTINS = (
    "bool int float complex str bytes bytearray list tuple set frozenset dict object slice "
    "range len abs sum min max round pow divmod sorted reversed enumerate zip map filter iter "
    "next all any hash repr ascii bin hex oct ord chr format isinstance issubclass callable"
)
_NUMPY_SCALARS = (
    "bool bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 intp uintp float16 float32 "
    "float64 longdouble complex64 complex128 clongdouble str_ bytes_ void datetime64 "
    "timedelta64 ndarray dtype matrix"
)
_NUMPY_UFUNCS = (
    "absolute abs negative sign sqrt square cbrt exp exp2 expm1 log log2 log10 log1p sin cos "
    "tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh floor ceil trunc rint "
    "add subtract multiply divide true_divide power maximum minimum fmax fmin reciprocal"
)
_TORCH_REBUILDERS = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter "
    "_rebuild_parameter_with_state _rebuild_qtensor _rebuild_sparse_tensor "
    "_rebuild_nested_tensor _rebuild_device_tensor_from_numpy _rebuild_meta_tensor_no_storage "
    "_rebuild_wrapper_subclass"
)
_TORCH_TOP = (
    "Size device dtype Tensor float16 float32 float64 bfloat16 half float double int8 int16 "
    "int32 int64 uint8 bool complex64 complex128 long int short ByteStorage CharStorage "
    "ShortStorage IntStorage LongStorage HalfStorage FloatStorage DoubleStorage BoolStorage "
    "BFloat16Storage ComplexFloatStorage ComplexDoubleStorage QUInt8Storage QInt8Storage "
    "QInt32Storage QUInt4x2Storage QUInt2x4Storage"
)

# module -> the names it may give; "" lists a module whose class-shaped names all pass.
_EXACT: dict[str, str] = {
    "builtins": _PURE_BUILTINS,
    "copyreg": "_reconstructor __newobj__ __newobj_ex__",
    "_codecs": "encode",
    "collections": "OrderedDict defaultdict deque Counter ChainMap",
    "datetime": "date datetime time timedelta timezone",
    "decimal": "Decimal",
    "fractions": "Fraction",
    "uuid": "UUID",
    "argparse": "Namespace",
    "numpy": f"{_NUMPY_SCALARS} {_NUMPY_UFUNCS}",
    "numpy.core.multiarray": "_reconstruct scalar",
    "numpy._core.multiarray": "_reconstruct scalar",
    "numpy.core.numeric": "_frombuffer",
    "numpy._core.numeric": "_frombuffer",
    "numpy.ma": "MaskedArray",
    "numpy.ma.core": "_mareconstruct MaskedArray MaskedConstant",
    "numpy.matrixlib.defmatrix": "matrix",
    "numpy.random._pickle": "__randomstate_ctor __generator_ctor __bit_generator_ctor",
    "numpy.random.mtrand": "RandomState",
    "numpy.random._generator": "Generator",
    "numpy.random._mt19937": "MT19937",
    "numpy.random._pcg64": "PCG64 PCG64DXSM",
    "numpy.random._philox": "Philox",
    "numpy.random._sfc64": "SFC64",
    "numpy.random.bit_generator": "SeedSequence __pyx_unpickle_SeedSequence",
    "joblib.numpy_pickle": "NumpyArrayWrapper",
    "xgboost.core": "Booster",
    "lightgbm.basic": "Booster",
    "torch": _TORCH_TOP,
    "torch._utils": _TORCH_REBUILDERS,
    "torch._tensor": "_rebuild_from_type_v2",
    "torch.serialization": "_get_layout",
    "torch.storage": "TypedStorage UntypedStorage",
    "torch.nn.parameter": "Parameter Buffer",
}
_SKLEARN_FUNCTION_MODULES = {
    "sklearn.metrics._classification",
    "sklearn.metrics._regression",
    "sklearn.metrics._ranking",
    "sklearn.metrics.pairwise",
    "sklearn.metrics._scorer",
    "sklearn.feature_selection._univariate_selection",
    "sklearn.feature_selection._mutual_info",
}
# Packages whose class-shaped names (CapWords, optionally behind underscores) all pass, and
# the sub-packages of them that are refused anyway (tests, downloaders, file readers).
_CLASS_PACKAGES = ("sklearn", "xgboost.sklearn", "lightgbm.sklearn", "torch.nn.modules")
_CLASS_PACKAGES_REFUSED = re.compile(
    r"sklearn\.(datasets|externals|_build_utils|__check_build|conftest|utils\._testing"
    r"|utils\._show_versions|experimental)(\..*)?|.*\.tests?(\..*)?"
)
_SPARSE_MODULE = re.compile(r"scipy\.sparse(\._?[a-z]+)?")
_SPARSE_NAME = re.compile(r"(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)")
_NUMPY_DTYPE_CLASS = re.compile(r"[A-Z][A-Za-z0-9]*DType")


def _builtin(module: str, name: str) -> bool:
    if name in _EXACT.get(module, "").split():
        return True
    if "." in name:
        return False
    if module == "numpy.dtypes":
        return bool(_NUMPY_DTYPE_CLASS.fullmatch(name))
    if _SPARSE_MODULE.fullmatch(module):
        return bool(_SPARSE_NAME.fullmatch(name))
    if module in _SKLEARN_FUNCTION_MODULES and not name.startswith("__"):
        return True
    if name == "newObj" and module.startswith("sklearn."):
        return True  # Cython's `newObj(cls)`: `cls.__new__(cls)`
    in_package = any(module == p or module.startswith(p + ".") for p in _CLASS_PACKAGES)
    return (
        in_package
        and not _CLASS_PACKAGES_REFUSED.fullmatch(module)
        and bool(_CLASS_SHAPED.fullmatch(name))
    )


@dataclass(frozen=True)
class AllowList:
    """The built-in safe globals plus a project's own entries (`MODULE.NAME` or `PACKAGE.*`)."""

    extra: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> AllowList:
        """An allow-list with `entries` added; each must be `MODULE.NAME` or `PACKAGE.*`."""
        entries = tuple(sorted({str(e).strip() for e in entries}))
        bad = [e for e in entries if not ALLOW_ENTRY.fullmatch(e)]
        if bad:
            raise ValueError(f"not MODULE.NAME or PACKAGE.*: {', '.join(bad)}")
        return cls(entries)

    @property
    def fingerprint(self) -> str:
        """Changes whenever what passes changes (for caching verdicts)."""
        return hashlib.sha256("\n".join(self.extra).encode()).hexdigest()[:12]

    def allows(self, module: str, name: str) -> bool:
        """True when a pickle may import `module.name`."""
        if (
            not _MODULE.fullmatch(module)
            or not name
            or not all(part.isidentifier() for part in name.split("."))
        ):
            return False
        if f"{module}.{name}" in self.extra:
            return True
        if any(part.startswith("__") and part.endswith("__") for part in name.split(".")):
            return name in _EXACT.get(module, "").split()  # copyreg.__newobj__ and friends
        if _builtin(module, name):
            return True
        return any(
            entry.endswith(".*") and (module == entry[:-2] or module.startswith(entry[:-1]))
            for entry in self.extra
        )
