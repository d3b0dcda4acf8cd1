"""A failed git command is reported by the line that says why: git's first `fatal:`/`error:`
line, else its first line; never the last line of an explanation, always one line."""

from __future__ import annotations

import pytest
from conftest import git

from modelgit.errors import GitError
from modelgit.sources import git as git_source


def test_a_push_to_a_missing_remote_names_the_remote_not_the_advice(project):
    git(project, "tag", "churn@v0.1.0")
    with pytest.raises(GitError) as raised:
        git_source.push_tag(project, "churn@v0.1.0", "nowhere")
    message = str(raised.value)
    assert "\n" not in message
    assert message.endswith("fatal: 'nowhere' does not appear to be a git repository"), message
    assert "the repository exists" not in message


def test_without_a_fatal_line_the_first_line_says_why(project):
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'commits are frozen today' >&2\necho 'ask ops' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = git(project, "rev-parse", "HEAD")
    with pytest.raises(GitError) as raised:
        git_source._run(project, ["commit", "--allow-empty", "-m", "blocked"])
    assert str(raised.value) == (
        "`git commit --allow-empty -m blocked` failed: commits are frozen today"
    )
    assert git(project, "rev-parse", "HEAD") == before
