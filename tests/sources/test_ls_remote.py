"""Reading a remote's tags ahead: the console script starts `git ls-remote` before its imports,
and the read that follows takes that output once, from the same directory only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git

import modelgit
from modelgit.errors import GitError
from modelgit.sources import git as git_module


def _bare_with_tags(where: Path, *tags: str) -> Path:
    work = where / "work"
    git(where, "init", "-q", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "start")
    for tag in tags:
        git(work, "tag", "-a", "-m", tag, tag)
    bare = where / "origin.git"
    git(where, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def _names(tags: list[git_module.TagRow]) -> set[str]:
    return {tag[0] for tag in tags}


def test_a_read_started_ahead_serves_the_next_read_once(tmp_path):
    bare = _bare_with_tags(tmp_path, "churn@v0.1.0")
    url = bare.as_uri()
    modelgit.prefetch_remote(url)
    git_module._STARTED[url].process.wait()  # the read is over before the remote changes
    git(tmp_path / "work", "tag", "-a", "-m", "new", "churn@v0.2.0")
    git(tmp_path / "work", "push", "-q", str(bare), "--tags")
    assert _names(git_module.ls_remote_tags(url)) == {"churn@v0.1.0"}  # what was read ahead
    assert _names(git_module.ls_remote_tags(url)) == {"churn@v0.1.0", "churn@v0.2.0"}  # anew
    assert git_module._STARTED == {}


def test_a_read_started_in_another_directory_is_not_used(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _bare_with_tags(first, "churn@v0.1.0")
    _bare_with_tags(second, "fraud@v1.0.0")
    monkeypatch.chdir(first)
    git_module.start_ls_remote_tags("origin.git")  # a relative path names another repository
    monkeypatch.chdir(second)
    assert _names(git_module.ls_remote_tags("origin.git")) == {"fraud@v1.0.0"}
    assert git_module._STARTED == {}


def test_a_failed_read_ahead_fails_as_a_direct_read_does(tmp_path):
    url = (tmp_path / "nothing.git").as_uri()
    with pytest.raises(GitError) as direct:
        git_module.ls_remote_tags(url)
    git_module.start_ls_remote_tags(url)
    with pytest.raises(GitError) as ahead:
        git_module.ls_remote_tags(url)
    assert ahead.value.stderr == direct.value.stderr and "does not appear" in direct.value.stderr


def test_a_url_is_never_taken_for_an_option(tmp_path):
    # Without `--`, git would run `--upload-pack`'s command.
    planted = tmp_path / "planted"
    url = f"--upload-pack=touch {planted}"
    with pytest.raises(GitError):
        git_module.ls_remote_tags(url)
    git_module.start_ls_remote_tags(url)
    with pytest.raises(GitError):
        git_module.ls_remote_tags(url)
    with pytest.raises(GitError):
        git_module.fetch_tag_objects(tmp_path / "cache.git", url, {"t": "0" * 40})
    assert not planted.exists()


def _processes_naming(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if text in argv:
            found.append(argv.replace("\0", " "))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_a_read_nobody_takes_is_stopped_at_exit(tmp_path):
    # A transport that never answers (`cat` waits for git to speak first), as a remote that
    # hangs would: the process that started the read must not leave it behind.
    marker = tmp_path / "never-answers"
    marker.write_text("")
    url = f"ext::cat - {marker}"
    env = dict(os.environ, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="protocol.ext.allow",
               GIT_CONFIG_VALUE_0="always")  # fmt: skip
    code = f"import modelgit, time\nmodelgit.prefetch_remote({url!r})\ntime.sleep(0.5)\n"
    started = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=False)
    assert started.returncode == 0
    assert _processes_naming(str(marker)) == []


def test_the_console_script_reads_a_remote_from_a_removed_directory(tmp_path):
    url = _bare_with_tags(tmp_path, "churn@v0.1.0").as_uri()
    gone = tmp_path / "gone"
    gone.mkdir()
    script = Path(sys.executable).parent / "modelgit"
    listed = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "{script}" list --remote "{url}"'],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-1].split()[:2] == ["churn", "v0.1.0"]
