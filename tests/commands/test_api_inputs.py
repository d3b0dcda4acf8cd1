"""The Python API takes what a Python user would pass, and refuses the rest as ModelgitErrors."""

from __future__ import annotations

import pytest
from conftest import change_and_repro, commit_all, dvc

import modelgit
from modelgit.errors import InputError, InvalidNameError, ManifestError


def test_levels_are_named_by_enum_or_by_text_in_any_case():
    assert modelgit.BumpRequest(level="MINOR").level is modelgit.Level.MINOR
    assert modelgit.BumpRequest(level=modelgit.Part.PATCH).level is modelgit.Level.PATCH
    with pytest.raises(InvalidNameError, match="unknown bump level 'huge'; use one of major"):
        modelgit.BumpRequest(level="huge")


def test_bump_refuses_two_names_for_the_model(registry):
    with pytest.raises(InputError, match="not both"):
        modelgit.bump(registry, modelgit.BumpRequest(model="other"), model="churn")
    with pytest.raises(InvalidNameError, match="unknown bump level"):
        modelgit.bump(registry, "huge")


def test_a_single_string_is_one_item_not_its_characters(registry):
    rows = modelgit.metric_history(registry, "churn", "accuracy")
    assert [set(r.metrics) for r in rows] == [{"accuracy"}, {"accuracy"}]
    result = modelgit.diff(registry, "churn@v0.1.0", "churn@v0.2.0", fail_on="accuracy<0.5")
    assert [g.rule for g in result.gates] == ["accuracy<0.5"] and not result.failed
    assert modelgit.scan(registry / "models" / "churn.pkl").safe


def test_requests_refuse_bad_choices_when_made():
    with pytest.raises(ManifestError, match="unknown strategy 'nope'"):
        modelgit.ManifestRequest("churn", strategy="nope")
    with pytest.raises(ManifestError, match="unknown canary router 'nginx'"):
        modelgit.ManifestRequest("churn", strategy="canary", router="nginx")
    with pytest.raises(InputError, match="exactly one of --health-url and --health-cmd"):
        modelgit.RolloutRequest("churn", "0.2.0")
    with pytest.raises(InputError, match="must be numbers"):
        modelgit.RolloutRequest("churn", "0.2.0", health_cmd="true", window="1")  # type: ignore[arg-type]


def test_ab_weights_may_be_a_mapping(registry):
    image = "acme/{model}:{version}"  # the registry has no DVC remote for pods to download from
    as_text = modelgit.manifest(
        registry,
        modelgit.ManifestRequest(strategy="ab", weights="v0.1.0=0.8,v0.2.0=0.2", image=image),
    )
    as_mapping = modelgit.manifest(
        registry,
        modelgit.ManifestRequest(
            strategy="ab", weights={"v0.1.0": 0.8, "v0.2.0": 0.2}, image=image
        ),
    )
    assert as_mapping.files == as_text.files and as_mapping.versions == ("0.1.0", "0.2.0")


@pytest.mark.slow
def test_a_dependency_on_a_folder_reaches_the_stages_writing_inside_it(project):
    # `train` depends on the folder `data`, which `prepare` fills: DVC's graph links them, so
    # bump must record prepare's params and data, and a change there is a minor bump.
    dvc_yaml = project / "dvc.yaml"
    text = dvc_yaml.read_text()
    train_deps = "      - pipeline/common.py\n      - data/train.csv\n"
    assert text.count(train_deps) == 1
    dvc_yaml.write_text(text.replace(train_deps, "      - pipeline/common.py\n      - data\n"))
    dvc(project, "repro", "--quiet")
    commit_all(project, "train reads the whole data folder")
    first = modelgit.bump(project, "minor")
    assert first.metadata["stages"] == ["prepare", "train"]
    assert {d["path"] for d in first.metadata["data"]} == {"data/test.csv", "data/train.csv"}
    assert "prepare.seed" in first.metadata["params"]
    change_and_repro(project, "seed: 42", "seed: 7", "Another sample")
    plan = modelgit.bump(project, modelgit.BumpRequest(level="auto", explain=True))
    assert plan.level == "minor"
    assert "params changed: prepare.seed 42 -> 7" in plan.reasons
    assert any(r.startswith("data modified: data/train.csv") for r in plan.reasons)
    [comparison] = modelgit.diff(project, first.tag, "HEAD").comparisons
    assert {p.name for p in comparison.params if p.status == "changed"} == {"prepare.seed"}
