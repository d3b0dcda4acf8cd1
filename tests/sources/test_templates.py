"""The simple `foreach` resolver gives exactly what DVC's own resolver gives, and leaves every
other kind of templating to DVC (by answering None)."""

from __future__ import annotations

import pytest
import yaml

from modelgit.sources.dvc import resolve_stages
from modelgit.sources.templates import resolve_simple
from modelgit.sources.tree import Tree

# params.yaml defines `item` and `key` too: DVC's context holds them, and a foreach's own
# item and key must win over them (and `${key}` over a list must not be answered here).
PARAMS = {"rate": 0.5, "items": ["a", "b"], "item": "from-params", "key": "from-params"}

SIMPLE = {
    "strings": {
        "build": {
            "foreach": ["a", "b-1", "c_2"],
            "do": {
                "cmd": "python step.py ${item} --out out/${item}.csv",
                "deps": ["step.py", "data/${item}.csv"],
                "params": ["rate"],
                "outs": [{"out/${item}.csv": {"cache": False}}, "logs/${item}"],
            },
        },
        "train": {"cmd": "python train.py", "deps": ["out"], "outs": ["model.pkl"]},
    },
    "numbers and booleans": {
        "run": {
            "foreach": [1, 20, 0.5, 1e-05, True, False],
            "do": {"cmd": "run --n ${item} --twice ${item}${item}", "meta": {"n": "${item}"},
                   "outs": ["r/${item}.txt"]},
        },
    },
    "a mapping of mappings": {
        "featurize": {
            "foreach": {"small": {"n": 1, "name": "s", "on": True}, "large": {"n": 2.5,
                        "name": "l", "on": False}, 3: {"n": 3, "name": "t", "on": True}},
            "do": {"cmd": "feat ${key} ${item.n} ${item.name} ${item.on}",
                   "deps": ["parts/${item.name}.txt"], "outs": ["feats/${key}"],
                   "exact": ["${item.n}", "${item.on}", "${key}"]},
        },
    },
    "a list of mappings, named by index": {
        "split": {
            "foreach": [{"part": "a", "size": 1}, {"part": "b", "size": 2}],
            "do": {"cmd": "split ${item.part} ${item.size}", "outs": ["parts/${item.part}.txt"]},
        },
    },
    "a mapping of scalars, an interpolated key, an escape": {
        "copy": {
            "foreach": {"x": "alpha", "y": "beta"},
            "do": {"cmd": "cp ${item} ${key} && echo \\${HOME}", "wdir": "sub/${key}",
                   "outs": [{"${key}/${item}.txt": {"persist": True}}]},
        },
    },
    "duplicate items collapse as in DVC": {
        "dup": {"foreach": ["a", "a", "b"], "do": {"cmd": "echo ${item}"}},
    },
}  # fmt: skip

NOT_SIMPLE = {
    "a params value": {"train": {"cmd": "python train.py --rate ${rate}"}},
    "a foreach read from params": {"b": {"foreach": "${items}", "do": {"cmd": "echo ${item}"}}},
    "key over a list (DVC reads params' key)": {
        "b": {"foreach": ["a"], "do": {"cmd": "echo ${key}"}}
    },
    "a missing field": {"b": {"foreach": [{"x": 1}], "do": {"cmd": "echo ${item.y}"}}},
    "a whole mapping as a value": {"b": {"foreach": [{"x": 1}], "do": {"cmd": "e ${item}"}}},
    "a matrix": {"g": {"matrix": {"lr": [0.1, 0.2]}, "cmd": "echo ${item.lr}"}},
    "an index expression": {"b": {"foreach": [[1, 2]], "do": {"cmd": "echo ${item[0]}"}}},
    "an escape outside a foreach": {"t": {"cmd": "echo \\${HOME}"}},
}


@pytest.fixture
def params_dir(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return tmp_path


def dvc_resolution(root, stages):
    return resolve_stages(Tree(root), "dvc.yaml", {"stages": stages})


@pytest.mark.parametrize("shape", sorted(SIMPLE))
def test_a_simple_foreach_resolves_exactly_as_dvc_does(params_dir, shape):
    document = {"stages": SIMPLE[shape]}
    ours = resolve_simple(document)
    assert ours is not None
    theirs = dvc_resolution(params_dir, SIMPLE[shape])
    assert ours == theirs
    assert list(ours) == list(theirs)  # DVC's stage order too
    assert [type(v) for v in _leaves(ours)] == [type(v) for v in _leaves(theirs)]


@pytest.mark.parametrize("shape", sorted(NOT_SIMPLE))
def test_other_templating_is_left_to_dvc(params_dir, shape):
    assert resolve_simple({"stages": NOT_SIMPLE[shape]}) is None


def test_vars_are_left_to_dvc():
    stages = {"b": {"foreach": ["a"], "do": {"cmd": "echo ${item}"}}}
    assert resolve_simple({"vars": [{"x": 1}], "stages": stages}) is None


def test_the_resolver_leaves_its_input_alone():
    stages = SIMPLE["a mapping of mappings"]
    before = yaml.safe_dump(stages)
    resolved = resolve_simple({"stages": stages})
    assert resolved is not None
    resolved["featurize@small"]["deps"].append("changed")
    assert yaml.safe_dump(stages) == before


def _leaves(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner)
    else:
        yield value
