"""What declares a breaking change in a commit message (conventional commits and footers)."""

from __future__ import annotations

from modelgit.analysis.autobump import is_breaking


def test_breaking_markers():
    assert is_breaking("feat!: drop a feature", "")
    assert is_breaking("fix(model)!: new output", "")
    assert is_breaking("Retrain", "BREAKING CHANGE: x")
    assert not is_breaking("Retrain", "not breaking")
