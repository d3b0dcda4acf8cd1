"""The command line: output, exit codes, one-line errors, help text, and import discipline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from conftest import BIN, git
from typer.testing import CliRunner

from modelgit.cli.app import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_show_history_json(registry):
    listed = json.loads(invoke("list", "--json", "-C", str(registry)).stdout)
    assert listed == [
        {"name": "churn", "latest": "0.2.0", "stages": {}, "deprecated": False, "declared": True}
    ]
    shown = json.loads(invoke("show", "churn@v0.1.0", "--json", "-C", str(registry)).stdout)
    assert shown["tag"] == "churn@v0.1.0" and shown["version"] == "0.1.0"
    assert shown["commit"] == git(registry, "rev-parse", "churn@v0.1.0^{commit}").strip()
    assert shown["params"]["train.C"] == 1.0 and "accuracy" in shown["metrics"]
    history = json.loads(invoke("history", "churn", "--json", "-C", str(registry)).stdout)
    assert [h["tag"] for h in history] == ["churn@v0.2.0", "churn@v0.1.0"]
    assert set(history[0]) >= {"event", "version", "stage", "tag", "created_at"}


def test_terminal_output(registry):
    listed = invoke("list", "-C", str(registry))
    assert listed.exit_code == 0 and "churn" in listed.stdout and "v0.2.0" in listed.stdout
    shown = invoke("show", "-C", str(registry))
    assert shown.stdout.startswith("churn@v0.2.0  commit ")
    assert "train.C: 0.3" in shown.stdout and "features:" in shown.stdout
    history = invoke("history", "-C", str(registry))
    assert "registration" in history.stdout and "churn@v0.1.0" in history.stdout


def test_bump_output(project):
    dry = invoke("bump", "minor", "--dry-run", "-C", str(project))
    assert dry.exit_code == 0 and dry.stdout.startswith("would create churn@v0.1.0 on ")
    assert "schema: 1" in dry.stdout
    done = invoke("bump", "minor", "-C", str(project))
    assert done.exit_code == 0 and done.stdout.startswith("created churn@v0.1.0 on ")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "nope"], 2, "error: unknown model 'nope'"),
        (["show", "churn@v7.0.0"], 2, "error: churn has no version 7.0.0"),
        (["show", "churn@vX"], 2, "error: 'vX' is not a semantic version"),
        (
            ["bump", "minor"],
            2,
            "error: the artifact models/churn.pkl at HEAD is already registered",
        ),
        (["bump", "minor", "--version", "0.0.1"], 2, "error: version 0.0.1 is not greater"),
        (["bump", "minor", "Bad_Name"], 2, "error: unknown model 'Bad_Name'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(registry, args, code, message):
    result = invoke(*args, "-C", str(registry))
    assert result.exit_code == code
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_not_a_repo(tmp_path):
    result = invoke("list", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {tmp_path} is not inside a git repository; run `git init` "
        "(or `modelgit init`) first\n"
    )


def test_bad_usage_exits_2(registry):
    result = runner.invoke(app, ["bump", "sideways", "-C", str(registry)])
    assert result.exit_code == 2 and "sideways" in result.output


def _commands(group: typer.Typer) -> list:
    return [c.callback for c in group.registered_commands]


def test_every_command_and_option_has_help():
    from typer.main import get_command

    command = get_command(app)
    assert command.help
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        assert sub.help, name
        for param in sub.params:
            assert getattr(param, "help", None), f"{name} {param.name}"


def _modules_after(args: list[str], cwd) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['modelgit', *{args!r}]\n"
        "try:\n    runpy.run_module('modelgit', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )
    return set(proc.stderr.split())


@pytest.mark.parametrize(
    "args", [["--help"], ["list"], ["show"], ["history"], ["show", "--json"], ["bump", "--help"]]
)
def test_read_commands_never_import_dvc(registry, args):
    modules = _modules_after(args, registry)
    assert "modelgit.cli" in modules
    assert not {m for m in modules if m == "dvc" or m.startswith("dvc.")}
    assert "git" not in modules and "networkx" not in modules


def test_bump_does_import_dvc(registry):
    # The guard above must be able to fail: bump needs DVC's status and imports it.
    assert "dvc.repo" in _modules_after(["bump", "minor"], registry)


def test_console_script_smoke(registry):
    script = os.path.join(BIN, "modelgit")
    proc = subprocess.run([script, "list", "--json"], cwd=registry, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["latest"] == "0.2.0"
    proc = subprocess.run([script, "show", "nope"], cwd=registry, capture_output=True, text=True)
    assert (
        proc.returncode == 2 and proc.stderr == "error: unknown model 'nope'; known models: churn\n"
    )


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(registry, monkeypatch):
    (registry / ".git" / "refs" / "tags").mkdir(exist_ok=True)
    # A corrupt packed-refs line makes git itself fail: a GitError, reported in one line.
    packed = registry / ".git" / "packed-refs"
    packed.write_text("this is not a ref line\n")
    result = invoke("list", "-C", str(registry))
    assert result.exit_code == 2 and result.stderr.startswith("error: `git for-each-ref")
    assert result.stderr.count("\n") == 1
    monkeypatch.setenv("MODELGIT_DEBUG", "1")
    with pytest.raises(Exception, match="for-each-ref"):
        invoke("list", "-C", str(registry))
