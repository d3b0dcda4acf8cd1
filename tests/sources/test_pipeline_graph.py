"""The pipeline's stage graph (pure: built from stage records, nothing is read)."""

from __future__ import annotations

from pathlib import Path

from modelgit.sources.pipeline import FileEntry, Pipeline, Stage
from modelgit.sources.tree import Tree


def _pipeline(*stages: tuple[str, list[str], list[str]]) -> Pipeline:
    records = {
        name: Stage(name, name, "dvc.yaml", deps=[FileEntry(d) for d in deps],
                    outs=[FileEntry(o) for o in outs])
        for name, deps, outs in stages
    }  # fmt: skip
    return Pipeline(Tree(Path()), {}, records, {})


def test_a_chain_longer_than_the_recursion_limit_is_ordered():
    chain = [(f"s{i}", [f"f{i - 1}"] if i else [], [f"f{i}"]) for i in range(5000)]
    upstream = _pipeline(*chain).upstream("f4999")
    assert upstream == [f"s{i}" for i in range(5000)]


def test_producers_come_first_and_cycles_end():
    diamond = _pipeline(
        ("d", ["fb", "fc"], ["fd"]), ("b", ["fa"], ["fb"]), ("c", ["fa"], ["fc"]),
        ("a", [], ["fa"]),
    )  # fmt: skip
    order = diamond.upstream("fd")
    assert order[0] == "a" and order[-1] == "d" and set(order) == {"a", "b", "c", "d"}
    loop = _pipeline(("x", ["fy"], ["fx"]), ("y", ["fx"], ["fy"]))
    assert sorted(loop.upstream("fx")) == ["x", "y"]


def test_a_folder_dependency_reads_the_outputs_inside_it():
    pipe = _pipeline(
        ("prepare", [], ["data/train.csv", "data/test.csv"]),
        ("train", ["data"], ["models/m.pkl"]),
        ("evaluate", ["models/m.pkl"], ["metrics.json"]),
        ("report", ["models"], ["report.md"]),
    )
    assert pipe.upstream("models/m.pkl") == ["prepare", "train"]
    assert pipe.outputs_inside("data") == ["data/test.csv", "data/train.csv"]
    assert pipe.downstream("models/m.pkl") == ["train", "evaluate", "report"]
    assert pipe.downstream("data/test.csv") == ["prepare", "train", "evaluate", "report"]
