"""modelgit and GTO agree on every model's latest version and every stage, whoever wrote the tags.

Random sequences of register / assign / unassign / deregister / deprecate, each step written by
modelgit or by GTO's own Python API (in-process, so hundreds of steps stay fast), are checked
after every step: `modelgit list --json` against `gto show --json`. GTO's tags are dated a
second after the latest tag here (see `gto_clock`), as two people acting one after the other
would. modelgit dates its own tags itself
(max(now, latest + 1 s)).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path

import dulwich.porcelain.tag as dulwich_tag
import gto.api
import pytest
from conftest import git
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import ModelgitError

MODELS = ("m", "n")
VERSIONS = ("0.1.0", "0.2.0", "0.3.0")
STAGES = ("staging", "production")
ACTIONS = ("register", "assign", "unassign", "deregister", "deprecate")
WRITERS = ("modelgit", "gto")
SEED_CORPUS = 30
STEPS_PER_SEQUENCE = 7
runner = CliRunner()

Step = tuple[str, str, str, str, str]  # writer, action, model, version, stage
steps = st.tuples(
    st.sampled_from(WRITERS), st.sampled_from(ACTIONS), st.sampled_from(MODELS),
    st.sampled_from(VERSIONS), st.sampled_from(STAGES),
)  # fmt: skip


def held(stages: dict) -> dict:
    """The stages a version holds (`list` also names every stage in effect, held or not)."""
    return {stage: version for stage, version in stages.items() if version is not None}


def new_repo(root: Path) -> Path:
    """A git repo with one commit per version to register (GTO allows one version a commit)."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet")
    for version in VERSIONS:
        git(root, "commit", "--quiet", "--allow-empty", "-m", f"model {version}")
        git(root, "tag", f"commit-{version}")  # lightweight: ignored by both registries
    return root


def latest_tag_time(repo: Path) -> int:
    out = git(repo, "for-each-ref", "--format=%(taggerdate:unix)", "refs/tags")
    return max((int(line) for line in out.split() if line), default=0)


@contextlib.contextmanager
def gto_clock(repo: Path) -> Iterator[None]:
    """GTO writes a second after the latest tag (or now, if later), as a person would."""
    at = max(int(time.time()), latest_tag_time(repo) + 1)
    # GTO writes through scmrepo, which tries pygit2 first: pygit2 dates a tag with the wall
    # clock and steps aside only when GIT_COMMITTER_DATE is set; dulwich, next, reads its own
    # clock (patched here) and git itself reads the variable. Patching dulwich alone, as this
    # test once did, left pygit2 writing the wall clock: agreement then held only by luck.
    original = dulwich_tag.time
    dulwich_tag.time = types.SimpleNamespace(time=lambda: at)  # type: ignore[assignment]
    saved = os.environ.get("GIT_COMMITTER_DATE")
    os.environ["GIT_COMMITTER_DATE"] = f"{at} +0000"
    try:
        yield
    finally:
        dulwich_tag.time = original  # type: ignore[assignment]
        if saved is None:
            os.environ.pop("GIT_COMMITTER_DATE", None)
        else:
            os.environ["GIT_COMMITTER_DATE"] = saved


def apply(repo: Path, step: Step) -> None:
    """Carry out one step; a step its writer refuses (not registered, already there) is skipped."""
    writer, action, model, version, stage = step
    try:
        if writer == "gto":
            with gto_clock(repo):
                gto_step(repo, action, model, version, stage)
        else:
            modelgit_step(repo, action, model, version, stage)
    except (ModelgitError, gto.exceptions.GTOException):
        pass


def gto_step(repo: Path, action: str, model: str, version: str, stage: str) -> None:
    v = f"v{version}"
    if action == "register":
        gto.api.register(repo, model, f"commit-{version}", version=v)
    elif action == "assign":
        gto.api.assign(repo, model, stage, version=v)
    elif action == "unassign":
        gto.api.unassign(repo, model, stage=stage, version=v)
    elif action == "deregister":
        gto.api.deregister(repo, model, version=v)
    else:
        gto.api.deprecate(repo, model)


def modelgit_step(repo: Path, action: str, model: str, version: str, stage: str) -> None:
    if action == "register":
        # `bump` needs a DVC pipeline (tested in tests/commands); here a registration is
        # written the way bump writes it, through the one tag writer.
        from modelgit.registry import record
        from modelgit.registry.tags import version_tag

        commit = git(repo, "rev-parse", f"commit-{version}").strip()
        message = f"{model} v{version}\n\nschema: 1\nmodel: {model}\nversion: {version}\n"
        tag = version_tag(model, version)
        record.write_tag(repo, model, lambda _: record.NewTag(tag, commit, message), retry=False)
    elif action == "assign":
        modelgit.promote(repo, model, version, stage)
    elif action == "unassign":
        current = modelgit.list_models(repo)
        holder = next((m.stages.get(stage) for m in current if m.name == model), None)
        if holder == version:
            modelgit.unassign(repo, model, stage)
    elif action == "deregister":
        modelgit.deprecate(repo, model, version, force=True)
    else:
        modelgit.deprecate(repo, model, force=True)


def assert_agree(repo: Path, history: list[Step]) -> None:
    result = runner.invoke(app, ["list", "--json", "-C", str(repo)])
    assert result.exit_code == 0, result.output
    ours = {m["name"]: m for m in json.loads(result.stdout)}
    theirs = gto.api.show(repo, deprecated=True)
    assert set(ours) == set(theirs), history
    for name, shown in theirs.items():
        mine = ours[name]
        assert shown["version"] == (f"v{mine['latest']}" if mine["latest"] else None), history
        their_stages = {s: v for s, v in shown["stage"].items() if v}
        my_stages = {s: f"v{v}" for s, v in mine["stages"].items() if v}
        assert my_stages == their_stages, (name, history)
        assert mine["deprecated"] is (not shown["active"]), (name, history)


def check_sequence(repo: Path, sequence: list[Step]) -> int:
    """Apply each step and check agreement after it; returns the number of checks."""
    for done, step in enumerate(sequence, 1):
        apply(repo, step)
        assert_agree(repo, sequence[:done])
    return len(sequence)


def seed_sequence(seed: int) -> list[Step]:
    rng = random.Random(seed)
    # Most sequences start by registering a few versions, so that stage moves have something
    # to move; the rest start anywhere.
    start = [
        (rng.choice(WRITERS), "register", rng.choice(MODELS), version, "staging")
        for version in rng.sample(VERSIONS, rng.randint(0, 3))
    ]
    rest = [
        (rng.choice(WRITERS), rng.choice(ACTIONS[1:] if rng.random() < 0.8 else ACTIONS),
         rng.choice(MODELS), rng.choice(VERSIONS), rng.choice(STAGES))
        for _ in range(STEPS_PER_SEQUENCE - len(start))
    ]  # fmt: skip
    return start + rest


@pytest.mark.slow
def test_seed_corpus_agrees_after_every_step(tmp_path):
    checks = 0
    for seed in range(SEED_CORPUS):
        checks += check_sequence(new_repo(tmp_path / f"seed-{seed}"), seed_sequence(seed))
    assert checks == SEED_CORPUS * STEPS_PER_SEQUENCE


@pytest.mark.slow
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=st.lists(steps, min_size=1, max_size=STEPS_PER_SEQUENCE))
def test_random_sequences_agree_after_every_step(tmp_path, sequence):
    repo = new_repo(Path(tempfile.mkdtemp(dir=tmp_path)) / "repo")
    check_sequence(repo, [("gto", "register", "m", "0.1.0", "staging"), *sequence])


def test_two_promotions_in_one_second_agree_with_gto(tmp_path):
    """Case 1: GTO orders by tag date; two promotions in one second used to tie."""
    repo = new_repo(tmp_path / "repo")
    gto.api.register(repo, "m", "commit-0.1.0", version="v0.1.0")
    gto.api.register(repo, "m", "commit-0.2.0", version="v0.2.0")
    first = modelgit.promote(repo, "m", "0.1.0", "production")
    second = modelgit.promote(repo, "m", "0.2.0", "production")
    dates = git(repo, "for-each-ref", "--format=%(taggerdate:unix)",
                f"refs/tags/{first.tag}", f"refs/tags/{second.tag}").split()  # fmt: skip
    assert int(dates[1]) > int(dates[0])
    assert gto.api.show(repo)["m"]["stage"]["production"] == "v0.2.0"
    assert held(modelgit.list_models(repo)[0].stages) == {"production": "0.2.0"}


def test_gto_unassignment_removes_only_the_version_it_names(tmp_path):
    """Case 2, as the issue tells it: prod v0.0.1, then v0.1.0, then GTO unassigns v0.0.1."""
    repo = new_repo(tmp_path / "repo")
    with gto_clock(repo):
        gto.api.register(repo, "mymodel", "commit-0.1.0", version="v0.0.1")
    with gto_clock(repo):
        gto.api.register(repo, "mymodel", "commit-0.2.0", version="v0.1.0")
    for version in ("v0.0.1", "v0.1.0"):
        with gto_clock(repo):
            gto.api.assign(repo, "mymodel", "prod", version=version)
    with gto_clock(repo):
        tag = gto.api.unassign(repo, "mymodel", stage="prod", version="v0.0.1").tag
    assert tag == "mymodel#prod!#3"
    assert gto.api.show(repo)["mymodel"]["stage"]["prod"] == "v0.1.0"
    assert held(modelgit.list_models(repo)[0].stages) == {"prod": "0.1.0"}


def test_deprecating_a_stage_held_version_agrees_with_gto(tmp_path):
    """Case 2: after `deprecate --force` of the version production holds, both fall back alike."""
    repo = new_repo(tmp_path / "repo")
    for version in ("0.1.0", "0.2.0"):
        gto.api.register(repo, "m", f"commit-{version}", version=f"v{version}")
        modelgit.promote(repo, "m", version, "production")
    with pytest.raises(ModelgitError, match=r"v0\.2\.0 is in production"):
        modelgit.deprecate(repo, "m", "0.2.0")
    modelgit.deprecate(repo, "m", "0.2.0", force=True)
    assert gto.api.show(repo)["m"]["stage"]["production"] == "v0.1.0"
    assert held(modelgit.list_models(repo)[0].stages) == {"production": "0.1.0"}
    with pytest.raises(ModelgitError, match=r"production holds v0\.1\.0"):
        modelgit.deprecate(repo, "m")
    modelgit.deprecate(repo, "m", force=True)
    assert gto.api.show(repo, deprecated=True)["m"]["active"] is False
    assert modelgit.list_models(repo)[0].deprecated
