"""`bump auto` on a stage that depends on a folder of data: DVC-tracked means data, not code."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import commit_all, dvc, set_param
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    text = file.read_text()
    assert old in text, (path, old)
    file.write_text(text.replace(old, new, 1))


def explain(repo: Path) -> tuple[str, modelgit.BumpResult]:
    """What `bump auto --explain` prints, and the plan the API returns (nothing is tagged)."""
    result = CliRunner().invoke(app, ["bump", "auto", "--explain", "-C", str(repo)])
    assert result.exit_code == 0, result.output
    return result.stdout, modelgit.bump(repo, modelgit.BumpRequest(level="auto", explain=True))


def train_on_dvc_added(repo: Path, rows: int, added: str) -> None:
    """Write the first `rows` rows of the prepared data into raw/train.csv and `dvc add` it."""
    lines = (repo / "data" / "train.csv").read_text().splitlines(keepends=True)
    (repo / "raw").mkdir(exist_ok=True)
    (repo / "raw" / "train.csv").write_text("".join(lines[:rows]))
    dvc(repo, "add", "--quiet", added)


@pytest.mark.slow
def test_a_folder_other_stages_write_into_is_data(registry):
    # train reads the whole `data` folder that prepare writes into.
    edit(registry, "dvc.yaml", "      - pipeline/common.py\n      - data/train.csv\n",
         "      - pipeline/common.py\n      - data\n")  # fmt: skip
    set_param(registry, "seed: 42", "seed: 7")
    dvc(registry, "repro", "--quiet")
    commit_all(registry, "Train on the data folder, resampled")
    printed, plan = explain(registry)
    assert "code changed" not in printed
    assert plan.level == "minor"  # README: upstream data (or params) changed is minor
    assert "data modified: data/train.csv" in plan.reasons
    assert not any("code changed" in reason for reason in plan.reasons)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("added", "reason"),
    [("raw", "data modified: raw"), ("raw/train.csv", "data modified: raw/train.csv")],
    ids=["dvc-added-folder", "folder-holding-a-dvc-added-file"],
)
def test_a_dvc_tracked_folder_is_data(registry, added, reason):
    edit(registry, "pipeline/train.py", 'read_csv("data/train.csv")', 'read_csv("raw/train.csv")')
    edit(registry, "dvc.yaml", "      - pipeline/common.py\n      - data/train.csv\n",
         "      - pipeline/common.py\n      - raw\n")  # fmt: skip
    train_on_dvc_added(registry, 1200, added)
    dvc(registry, "repro", "--quiet")
    commit_all(registry, "Train on a raw snapshot")
    modelgit.bump(registry, "minor")
    train_on_dvc_added(registry, 1000, added)  # only the data changes
    dvc(registry, "repro", "--quiet")
    commit_all(registry, "Train on fewer rows")
    printed, plan = explain(registry)
    assert printed == f"minor bump: churn@v0.4.0 (previous: v0.3.0)\n  - {reason}\n"
    assert (plan.level, plan.reasons) == ("minor", (reason,))
