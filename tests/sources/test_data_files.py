"""Params and metrics files parsed by extension exactly as DVC parses them: the same values as
`dvc.utils.serialize.PARSERS` for YAML, JSON, TOML and Python files, without importing dvc."""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import imports_dvc

from modelgit.errors import PipelineError
from modelgit.sources.pipeline import parse_data_file

CORPUS = {
    # YAML 1.2 as DVC's ruamel reads it (PyYAML alone reads YAML 1.1: yes -> True, 1e-5 -> str).
    "params.yaml": (
        "a: 1e-5\nb: yes\nc: 017\nd: 0o17\ne: on\nf: 1_000\ng: 0x1F\nh: .5\ni: 1.0e+3\n"
        "j: Off\nk: ~\nl: 2020-01-01\nm: .inf\nn: 1:20\no: +12\np: 0b11\nq: -.5e3\n"
        "r: [1, 2.5, x]\ns: {t: -1, u: True}\nv: 6.02E23\nw: 0.30000000000000004\n"
    ),
    "nested/PARAMS.YML": "train:\n  lr: 1e-05\n  layers: [64, 32]\n",
    "no_extension": "x: 1\n",
    "empty.yaml": "",
    "metrics.json": (
        '{"loss": 1e-05, "acc": 0.30000000000000004, "nested": {"x": [1, 2]}, "big": 1E+300}'
    ),
    "hp.toml": (
        'lr = 1e-3\nbig = 1_000\n[train]\nC = 0.5\nname = "x"\nwhen = 1979-05-27\n'
        "flags = [true, false]\n[train.inner]\ndepth = 3\n"
    ),
    "config.py": (
        "import os\n"
        "LR = 0.1\n"
        "EPOCHS: int = 3\n"
        "NAME = 'x'\n"
        "DYNAMIC = os.getenv('X')\n"
        "A = B = 1\n"
        "PAIR = (1, 2)\n"
        "TAGS = {'a', 'b'}\n"
        "LAYERS = [64, 32]\n"
        "OPTIONS = {'depth': 3, 'nested': {'k': None}}\n"
        "NEG = -1.5e-3\n"
        "class Train:\n"
        "    C = 0.5\n"
        "    KEYS = ['a']\n"
        "    def __init__(self):\n"
        "        self.seed = 42\n"
        "        self.dynamic = compute()\n"
        "        other.x = 1\n"
        "def __init__(self):\n"
        "    self.top = 'self-param'\n"
    ),
}


@pytest.mark.parametrize("path", sorted(CORPUS))
def test_every_format_parses_to_what_dvc_parses(path):
    from dvc.utils.serialize import PARSERS

    text = CORPUS[path]
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    theirs = PARSERS[suffix](text, path)
    ours = parse_data_file(text.encode(), path)
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # the same types too (1 is not 1.0, "yes" is not True)


def test_values_dvc_reads_differently_from_pyyaml():
    document = parse_data_file(CORPUS["params.yaml"].encode(), "params.yaml")
    assert (document["a"], document["b"], document["c"], document["d"]) == (1e-05, "yes", 17, 15)
    assert math.isinf(document["m"]) and document["n"] == "1:20"


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("params.yaml", "a: 1\na: 2\n", "params.yaml does not parse as YAML: .*duplicate key"),
        ("params.yaml", "a: [1\n", "params.yaml does not parse as YAML"),
        ("metrics.json", "{'a': 1}", "metrics.json does not parse as JSON"),
        ("hp.toml", "a = \n", "hp.toml does not parse as TOML"),
        ("config.py", "def (:\n", "config.py does not parse as Python"),
        ("hp.toml", b"\xff\xfe".decode("latin-1"), "hp.toml does not parse as TOML"),
    ],
)
def test_broken_files_are_one_line_pipeline_errors(path, text, message):
    with pytest.raises(PipelineError, match=message):
        parse_data_file(text.encode("latin-1"), path)
    from dvc.utils.serialize import PARSERS

    with pytest.raises(Exception):  # noqa: B017 - DVC refuses it too (its own error types)
        PARSERS[path[path.rfind(".") :]](text, path)


def test_parsing_never_imports_dvc():
    statement = (
        "from modelgit.sources.pipeline import parse_data_file as p\n"
        "for n, t in [('a.toml', b'x = 1'), ('a.py', b'X = 1'), ('a.json', b'{}'), ('a', b'')]:\n"
        "    p(t, n)"
    )
    assert not imports_dvc(statement)


def test_a_large_document_parsed_again_is_an_equal_independent_copy():
    from modelgit.sources import pipeline

    stages = {f"s{i}": {"cmd": f"run {i}", "deps": [{"path": f"d{i}", "md5": "0" * 32}]}
              for i in range(1500)}  # fmt: skip
    raw = yaml.safe_dump({"schema": "2.0", "stages": stages}).encode()
    assert len(raw) > pipeline._PARSED_MIN_BYTES
    first = pipeline._load_yaml(raw, "dvc.lock")
    first["stages"]["s0"]["deps"].append("changed by a reader")
    second = pipeline._load_yaml(raw, "dvc.lock")
    assert second == {"schema": "2.0", "stages": stages}
    assert second is not first and second["stages"]["s0"]["deps"] != first["stages"]["s0"]["deps"]
    # marshal cannot hold a timestamp: such a document is parsed each time, not remembered
    dated = raw + b"when: 2026-11-28\n"
    assert pipeline._load_yaml(dated, "x")["when"] == pipeline._load_yaml(dated, "x")["when"]
