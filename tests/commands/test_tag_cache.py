"""The tag-object cache: reading the registry warm or cold gives the same answer, always."""

from __future__ import annotations

from conftest import git

import modelgit

CACHE = ".git/modelgit/tag-objects-v1.json"


def _state(repo):
    return [(m.name, m.latest, m.stages) for m in modelgit.list_models(repo)], [
        (e.tag, e.commit, e.created_at, e.author) for e in modelgit.history(repo, "churn")
    ]


def test_warm_cold_and_corrupt_caches_read_the_same_registry(registry):
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    (registry / CACHE).unlink(missing_ok=True)
    cold = _state(registry)
    assert (registry / CACHE).is_file()  # the cold read filled it
    assert _state(registry) == cold
    (registry / CACHE).write_bytes(b"\xff\xfe not a cache\n\0\0\n")
    assert _state(registry) == cold
    assert cold[0] == [("churn", "0.2.0", {"staging": "0.1.0", "production": None})]


def test_a_recreated_tag_is_a_new_object_and_is_read_afresh(registry):
    before = dict(_state(registry)[1][i][:2] for i in range(2))
    v1_commit = before["churn@v0.1.0"]
    message = git(registry, "tag", "-l", "--format=%(contents)", "churn@v0.2.0")
    # Someone outside modelgit re-creates a version tag on another commit (git allows it).
    git(registry, "tag", "-a", "-f", "--cleanup=verbatim", "-F", "-", "churn@v0.2.0", v1_commit,
        stdin=message)  # fmt: skip
    after = dict(entry[:2] for entry in _state(registry)[1])
    assert after["churn@v0.2.0"] == v1_commit
    assert modelgit.show(registry, "churn@v0.2.0").commit == v1_commit


def test_a_linked_worktree_keeps_its_cache_in_the_main_repository(registry, tmp_path):
    # A linked worktree's .git is a file naming its git directory; the cache goes to the main
    # repository's, which holds the objects its keys name.
    (registry / CACHE).unlink(missing_ok=True)
    worktree = tmp_path / "linked"
    git(registry, "worktree", "add", "--quiet", "--detach", str(worktree))
    assert (worktree / ".git").is_file()
    from_worktree = _state(worktree)
    assert (registry / CACHE).is_file()  # the worktree's cold read filled the shared cache
    assert _state(registry) == from_worktree == _state(worktree)
