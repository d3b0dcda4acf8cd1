"""A DVC project using DVC's templating and layout features, reproduced once per test process.

Two lineage modules read it (tests/analysis/test_lineage_graph.py builds its graph directly,
tests/commands/test_lineage.py bumps a copy). A fixture serves only the module that defines it
(or conftest.py), so the build is cached here and each module wraps it in its own fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import commit_all, dvc, template_env

import modelgit

_BUILT: dict[Path, Path] = {}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _build(root: Path) -> None:
    """foreach (list and dict), matrix, vars and ${}, wdir, a .dvc-tracked directory, directory
    outputs, whole-file params, and a second dvc.yaml in nlp/ whose model consumes the first's."""
    modelgit.init(root)
    _write(root / "data/raw/a.txt", "a\n")
    _write(root / "data/raw/b.txt", "b\n")
    dvc(root, "add", "--quiet", "data/raw")
    _write(root / "params.yaml", yaml.safe_dump({"train": {"epochs": 3}, "parts": ["a", "b"]}))
    _write(root / "train_params.yaml", yaml.safe_dump({"lr": 0.1, "optimizer": {"name": "sgd"}}))
    _write(root / "src/run.sh", 'cat "$@" > /dev/null\n')
    stages = {
        "split": {
            "foreach": "${parts}",
            "do": {"cmd": "mkdir -p parts && cp data/raw/${item}.txt parts/${item}.txt",
                   "deps": ["data/raw"], "outs": ["parts/${item}.txt"]},
        },
        "featurize": {
            "foreach": {"small": {"n": 1}, "large": {"n": 2}},
            "do": {"cmd": "mkdir -p feats/${key} && echo ${item.n} > feats/${key}/f.txt",
                   "deps": ["parts/a.txt", "parts/b.txt"], "outs": ["feats/${key}"]},
        },
        "grid": {
            "matrix": {"lr": [0.1, 0.2], "depth": [1, 2]},
            "cmd": "mkdir -p grid && echo ${item.lr} > grid/${item.lr}-${item.depth}.txt",
            "deps": ["feats/small"], "outs": ["grid/${item.lr}-${item.depth}.txt"],
        },
        "train": {
            "wdir": "src",
            "cmd": "mkdir -p ../models && sh run.sh ../feats/large/f.txt"
                   " && echo ${train.epochs} > ../models/model.bin",
            "deps": ["run.sh", "../feats/large", "../grid/0.1-1.txt"],
            "params": [{"../train_params.yaml": None}, {"../params.yaml": ["train.epochs"]}],
            "outs": ["../models/model.bin"],
        },
    }  # fmt: skip
    _write(root / "dvc.yaml", yaml.safe_dump({
        "stages": stages,
        "artifacts": {"base": {"path": "models/model.bin", "type": "model"}},
    }, sort_keys=False))  # fmt: skip
    _write(root / "nlp/dvc.yaml", yaml.safe_dump({
        "stages": {"tune": {"cmd": "mkdir -p models && cp ../models/model.bin models/intent.bin",
                            "deps": ["../models/model.bin"], "outs": ["models/intent.bin"]}},
        "artifacts": {"intent": {"path": "models/intent.bin", "type": "model"}},
    }, sort_keys=False))  # fmt: skip
    dvc(root, "repro", "--quiet", "--all-pipelines")
    commit_all(root, "A templated pipeline")


def templated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The templated project, reproduced and committed (no version yet); never modify it."""
    key = tmp_path_factory.getbasetemp()
    if key not in _BUILT:
        with template_env(tmp_path_factory):
            root = tmp_path_factory.mktemp("templated") / "templated"
            _build(root)
        _BUILT[key] = root
    return _BUILT[key]
