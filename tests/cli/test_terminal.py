"""How the command line meets a person: global options, references, tables at 80 columns,
colour with meaning, pipes, push hints, configuration."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli import render
from modelgit.cli.app import app

runner = CliRunner()
MODELGIT = os.path.join(BIN, "modelgit")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def keep_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`modelgit -C DIR` changes directory, as git does: give it back after each test."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str, **env: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env=env or None)


def on_terminal(args: list[str], cwd: Path, **env: str) -> str:
    """Run the console script with stdout on a pseudo-terminal of 80 columns."""
    leader, follower = pty.openpty()
    environ = {**os.environ, "COLUMNS": "80", "LINES": "40", "TERM": "xterm", **env}
    proc = subprocess.Popen([MODELGIT, *args], cwd=cwd, stdout=follower, stderr=subprocess.PIPE,
                            env=environ)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_global_C_help_and_version(registry, tmp_path):
    assert invoke("-C", str(registry), "list", "--json").exit_code == 0
    assert invoke("--version").stdout == f"modelgit {modelgit_version()}\n"
    assert invoke("-h").stdout.startswith("Usage: modelgit [OPTIONS] COMMAND")
    assert (
        "Examples:\n    modelgit promote churn@v1.3.0 production" in invoke("promote", "-h").stdout
    )
    # init and scan take their paths relative to -C DIR, as git does.
    (tmp_path / "work").mkdir()
    assert invoke("-C", str(tmp_path / "work"), "init", "fresh").exit_code == 0
    assert (tmp_path / "work" / "fresh" / ".dvc").is_dir()
    scanned = invoke("-C", str(registry), "scan", "models", "--json")
    assert scanned.exit_code == 0 and modelgit_json(scanned.stdout)["paths"] == ["models"]
    missing = invoke("-C", str(tmp_path / "nowhere"), "list")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: cannot change to ")


def modelgit_version() -> str:
    from importlib.metadata import version

    return version("modelgit")


def modelgit_json(text: str):
    import json

    return json.loads(text)


def test_every_command_has_examples_quiet_and_plain():
    from typer.main import get_command

    group = get_command(app)
    names = []
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        for sub_name, sub in (subcommands or {name: command}).items():
            options = {opt for p in sub.params for opt in getattr(p, "opts", [])}
            assert {"--quiet", "--plain"} <= options, sub_name
            assert "Examples:" in (sub.epilog or ""), sub_name
            names.append(sub_name)
    assert {"promote", "rollback", "config", "release"} <= set(names)


def test_help_says_where_defaults_come_from():
    from typer.main import get_command

    for command in get_command(app).commands.values():
        for sub in (getattr(command, "commands", None) or {None: command}).values():
            for param in sub.params:
                takes_value = not getattr(param, "is_flag", False) and param.default is not None
                if takes_value and getattr(param, "opts", ["-"])[0].startswith("--"):
                    assert "default:" in (param.help or ""), f"{sub.name} {param.opts}"


def test_one_reference_syntax_for_stage_commands(registry):
    repo = ["-C", str(registry)]
    promoted = invoke("promote", "churn@v0.1.0", "staging", *repo)
    assert promoted.exit_code == 0 and "-> staging v0.1.0" in promoted.stdout
    # The hint: the tag is local, and the command that publishes it.
    assert "the tag is local; publish it with `git push origin churn#staging#1`" in promoted.stdout
    assert invoke("promote", "churn@0.2.0", "staging", *repo).exit_code == 0
    assert invoke("promote", "churn#staging", "production", "--force", *repo).exit_code == 0
    assert modelgit.list(registry)[0].stages == {"staging": "0.2.0", "production": "0.2.0"}
    back = invoke("rollback", "churn#staging", *repo)
    assert back.exit_code == 0 and "-> staging v0.1.0" in back.stdout
    dropped = invoke("deprecate", "churn@v0.2.0", "--force", *repo)
    assert dropped.exit_code == 0 and dropped.stdout.startswith("created churn@v0.2.0!")
    assert invoke("promote", "churn", "0.1.0", "production", *repo).exit_code == 0  # as before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "churn#prod"], "error: unknown stage 'prod'; stages: production, staging "
         "(did you mean production?)"),
        (["promote", "churn@v0.1.0", "prod"], "error: unknown stage 'prod'; stages: staging, "
         "production (did you mean production?)"),
        (["rollback", "churn#prodution"], "error: unknown stage 'prodution'"),
        (["bump", "mnor"], "error: unknown bump level 'mnor'; use one of major, minor, patch, "
         "auto (did you mean minor?)"),
        (["manifest", "--strategy", "canry"], "error: unknown strategy 'canry'; use bluegreen, "
         "canary, ab, kserve (did you mean canary?)"),
        (["show", "churn@v0.9.0"], "error: churn has no version 0.9.0 ("
         "versions: 0.1.0, 0.2.0)"),
    ],
)  # fmt: skip
def test_misspelled_names_are_input_errors(registry, args, message):
    result = invoke(*args, "-C", str(registry))
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_push_pushes_exactly_the_new_tag_and_a_failed_push_says_so(registry, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", str(remote))
    git(registry, "remote", "add", "origin", str(remote))
    pushed = invoke("promote", "churn@v0.2.0", "staging", "--push", "-C", str(registry))
    assert pushed.exit_code == 0 and "pushed churn#staging#1 to origin" in pushed.stdout
    assert git(remote, "tag").split() == ["churn#staging#1"]
    git(registry, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    failed = invoke("rollback", "churn#staging", "--to", "0.1.0", "--push", "-C", str(registry))
    assert failed.exit_code == 2
    assert failed.stderr.startswith(
        "error: created churn#staging#2 locally, but pushing it to origin failed: fatal: "
    )
    assert "does not appear to be a git repository" in failed.stderr  # git's first line
    assert failed.stderr.rstrip().endswith("publish it with `git push origin churn#staging#2`")
    assert "churn#staging#2" in git(registry, "tag").split()


def test_list_model_prints_its_versions(registry):
    modelgit.promote(registry, "churn@v0.1.0", None, "production", force=True)
    lines = invoke("list", "churn", "-C", str(registry)).stdout.splitlines()
    assert lines[0].split() == ["version", "stages", "created", "accuracy", "commit"]
    assert lines[1].split()[0] == "v0.2.0" and lines[2].split()[:2] == ["v0.1.0", "production"]
    assert invoke("show", "churn", "--versions", "-C", str(registry)).stdout.splitlines() == lines


def test_quiet_prints_nothing_but_errors(registry):
    assert invoke("history", "-q", "-C", str(registry)).stdout == ""
    assert invoke("-q", "list", "-C", str(registry)).stdout == ""
    failed = invoke("show", "nope", "--quiet", "-C", str(registry))
    assert failed.exit_code == 2 and failed.stderr.startswith("error: unknown model 'nope'")


def test_config_says_where_each_value_comes_from(registry):
    (registry / ".modelgit.yaml").write_text("deploy:\n  namespace: ml\n")
    rows = {s.key: s for s in modelgit.config(registry)}
    assert (rows["deploy.namespace"].value, rows["deploy.namespace"].source) == (
        "ml",
        ".modelgit.yaml",
    )
    assert (rows["stages"].value, rows["stages"].source) == (["staging", "production"], "built-in")
    text = invoke("config", "-C", str(registry)).stdout
    assert re.search(r"deploy\.namespace\s+ml\s+\.modelgit\.yaml", text)
    assert re.search(r"deploy\.replicas\s+1\s+built-in", text)


def test_a_closed_pipe_exits_quietly_with_0(registry):
    for _ in range(30):  # enough events that history outgrows the pipe's buffer
        modelgit.promote(registry, "churn@v0.1.0", None, "staging")
        modelgit.promote(registry, "churn@v0.2.0", None, "staging")
    proc = subprocess.run(f"'{MODELGIT}' history | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", cwd=registry, capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.split() == ["when", "event", "version", "stage", "tag", "by"]


def test_history_at_80_columns_keeps_tags_whole(registry):
    entries = [
        modelgit.HistoryEntry("assignment", "0.2.0", "production", "churn#production#12",
                              "c" * 40, "2026-11-27T23:16:58+00:00", "Jane Doe <j@example.com>"),
        modelgit.HistoryEntry("registration", "10.20.30", None, "customer-churn@v10.20.30",
                              "c" * 40, "2026-11-27T23:16:58+00:00", "A Long Author Name <a@b>"),
    ]  # fmt: skip
    text = render.history_table(entries, render.Look(terminal=True, width=80))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "churn#production#12" in text and "customer-churn@v10.20.30" in text
    assert "by" not in text.splitlines()[0].split()  # the author went first
    assert "…" not in text


def test_changelog_wraps_between_words_and_marks_better_and_worse(registry):
    text = render.changelog(modelgit.changelog(registry), look=render.Look(True, False, 80))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "accuracy 0.754 -> 0.756 (+0.002) ✓" in text and "(-0.0006) ✗" in text


def test_terminal_output_is_drawn_coloured_and_fits(registry):
    history = on_terminal(["history"], registry)
    assert "┃" in history and max(len(ANSI.sub("", line)) for line in history.splitlines()) <= 80
    diff = on_terminal(["diff", "churn@v0.1.0", "churn@v0.2.0"], registry)
    assert "\x1b[32m" in diff and "\x1b[31m" in diff  # better green, worse red
    assert "better ✓" in ANSI.sub("", diff) and "worse ✗" in ANSI.sub("", diff)
    plain = on_terminal(["diff", "churn@v0.1.0", "churn@v0.2.0"], registry, NO_COLOR="1")
    assert "\x1b[" not in plain and "worse ✗" in plain
    forced = on_terminal(["--plain", "history"], registry)
    assert "┃" not in forced and forced.split()[:6] == ["when", "event", "version", "stage",
                                                        "tag", "by"]  # fmt: skip


def test_completion_completes_references(registry):
    env = {"_MODELGIT_COMPLETE": "complete_bash", "COMP_WORDS": "modelgit show churn@",
           "COMP_CWORD": "2"}  # fmt: skip
    proc = subprocess.run([MODELGIT], cwd=registry, env={**os.environ, **env},
                          capture_output=True, text=True)  # fmt: skip
    assert set(proc.stdout.split()) >= {"churn@v0.1.0", "churn@v0.2.0"}, proc.stderr
    # Without typer's own switch, `--show-completion` ignores "bash" and asks shellingham which
    # shell is the parent process, which fails under a pytest-xdist worker ("Shell not supported").
    shell_named = {"SHELL": "/bin/bash", "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run([MODELGIT, "--show-completion", "bash"], capture_output=True,
                            text=True, env={**os.environ, **shell_named})  # fmt: skip
    assert "_MODELGIT_COMPLETE=complete_bash" in script.stdout


def test_show_summary_wraps_under_its_label(registry):
    text = render.version_text(modelgit.show(registry), render.Look(True, False, 60))
    lines = text.splitlines()
    metrics = next(i for i, line in enumerate(lines) if line.startswith("metrics   "))
    assert lines[metrics].startswith("metrics   accuracy ")  # one space-run, no doubled gap
    assert lines[metrics + 1].startswith(" " * 10) and lines[metrics + 1][10] != " "
    assert max(len(line) for line in lines if "verify" not in line) <= 60
