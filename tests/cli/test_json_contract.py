"""The JSON contract: every command's real `--json` output validates against its shipped schema,
and the same concepts have one shape everywhere (timestamps, numbers)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from conftest import dvc, git
from typer.testing import CliRunner

from modelgit.cli.app import app

SCHEMAS = Path(__file__).resolve().parents[2] / "modelgit" / "cli" / "schemas"
runner = CliRunner()


def produce(repo: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Each schema and the commands (run in order, in `repo`) whose output it describes."""
    return {
        "list": [["list", "--json"], ["list", "--metrics", "--json"]],
        "versions": [["list", "churn", "--json"], ["show", "churn", "--versions", "--json"]],
        "show": [["show", "churn@v0.1.0", "--json"]],
        "history": [
            ["history", "--json"],
            ["history", "churn", "--remote", (tmp_path / "origin.git").as_uri(), "--json"],
        ],
        "history-metrics": [["history", "--metrics", "--json"]],
        "diff": [["diff", "churn@v0.1.0", "churn@v0.2.0", "--json", "--fail-on", "f1<-0.5"]],
        "changelog": [["changelog", "--json"]],
        "lineage": [["lineage", "churn@v0.2.0", "--json"], ["lineage", "-f", "json"]],
        "impact": [["impact", "train.C", "--json"]],
        "stage-change": [
            ["promote", "churn@v0.1.0", "staging", "--json"],
            ["promote", "churn", "0.2.0", "staging", "--json"],
            ["rollback", "churn#staging", "--json"],
        ],
        "rollout": [
            [
                "rollout",
                "churn@v0.1.0",
                "--health-cmd",
                "true",
                "--window",
                "0.2",
                "--interval",
                "0.1",
                "--force",
                "--json",
            ]
        ],
        "bump": [["bump", "patch", "--dry-run", "--json"]],
        "config": [["config", "--json"]],
        "verify": [["verify", "churn@v0.2.0", "--json"]],
        "policy": [["verify", "--policy", "--json"]],
        "scan": [["scan", "models/churn.pkl", "--json"]],
        "manifest": [["manifest", "churn@v0.2.0", "--strategy", "bluegreen", "--json"]],
        "ci-release": [
            ["ci", "release", "churn@v0.2.0", "--out", "release", "--json"],
            ["ci", "release", "churn@v0.1.0!", "--out", "nothing", "--json"],
            ["ci", "release", "--since", "churn@v0.1.0", "--out", "since", "--json"],
        ],
        "publish": [["publish", "churn@v0.2.0", "--json"]],
        "ci-report": [["ci", "report", "--base", "churn@v0.1.0", "--json"]],
        "ci-init": [["ci", "init", "--json"]],
        "init": [["init", "--json"]],
        "get": [
            ["get", "churn@v0.1.0", "-o", str(tmp_path / "got.pkl"), "--json"],
            ["get", "churn#staging", "-o", str(tmp_path / "got.pkl"), "--json"],
        ],
        "gc": [
            ["gc", "--json"],
            ["gc", "--keep-last", "1", "--archive-stage", "archived", "--json"],
        ],
    }


@pytest.mark.slow
def test_every_command_validates_against_its_schema(retrained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `modelgit -C DIR` changes directory, as git does
    registry = retrained  # two versions, and a new model at HEAD for bump --dry-run
    # Where manifests' pods download the model (git-ignored, so bump still sees a clean tree).
    dvc(registry, "remote", "add", "--local", "-d", "pods", str(tmp_path / "pods-remote"))
    # A bare origin for `history --remote` (ls-remote: no dates, so created_at is null).
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "origin.git"))
    git(registry, "push", "-q", str(tmp_path / "origin.git"), "HEAD:refs/heads/main", "--tags")
    outputs: list[str] = []
    floats: list[float] = []
    for name, commands in produce(registry, tmp_path).items():
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        if name == "publish":  # a local DVC remote: the cache's layout is the remote's
            shutil.copytree(registry / ".dvc" / "cache", tmp_path / "dvc-remote")
            dvc(registry, "remote", "add", "--local", "-d", "storage", str(tmp_path / "dvc-remote"))
        if name == "policy":  # a policy for a stage no tag has used: nothing to refuse
            (registry / ".modelgit.yaml").write_text(
                "stages: [staging, production, canary]\npolicy:\n  canary: {from: staging}\n"
            )
        for args in commands:
            result = runner.invoke(app, ["-C", str(registry), *args])
            assert result.exit_code == 0, (args, result.stderr)
            document = json.loads(result.stdout)
            jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
            outputs.append(result.stdout)
            floats.extend(_floats(document))
    shipped = {path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.json")}
    assert shipped == set(produce(registry, tmp_path))  # no schema without its test
    text = "\n".join(outputs)
    assert "+00:00" not in text  # one timestamp format: 2026-11-26T14:00:00Z
    # No float noise (0.0020000000000000018 is 0.002): at most 12 significant digits.
    assert floats and [x for x in floats if float(f"{x:.12g}") != x] == []


def _floats(document: object) -> list[float]:
    if isinstance(document, float):
        return [document]
    if isinstance(document, dict):
        document = list(document.values())
    if isinstance(document, list):
        return [x for item in document for x in _floats(item)]
    return []


def test_a_schema_can_fail(registry):
    # The validation above is not vacuous: the history schema refuses a wrong shape.
    schema = json.loads((SCHEMAS / "history.schema.json").read_text())
    document = json.loads(runner.invoke(app, ["history", "--json", "-C", str(registry)]).stdout)
    document[0]["created_at"] = "2026-11-27T23:16:58+00:00"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
