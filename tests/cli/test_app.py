"""The command line: output, exit codes, one-line errors, help text, and import discipline."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import BIN, git, tag_message
from typer.main import get_command
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app, app_for, funnel, invoked
from modelgit.cli.arguments import remote_url
from modelgit.cli.run import COMMAND_MODULES, command_name

runner = CliRunner()
PACKAGE = Path(modelgit.__file__).parent


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_show_history_json(registry):
    listed = json.loads(invoke("list", "--json", "-C", str(registry)).stdout)
    assert listed == [
        {
            "name": "churn",
            "latest": "0.2.0",
            "stages": {"staging": None, "production": None},
            "deprecated": False,
            "declared": True,
        }
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
    commit = git(registry, "rev-parse", "churn@v0.2.0^{commit}").strip()
    assert shown.stdout.splitlines()[:3] == [
        "churn v0.2.0",
        "tag       churn@v0.2.0",
        f"commit    {commit[:12]}",
    ]
    assert "bump      minor (from v0.1.0)" in shown.stdout
    assert "artifact  models/churn.pkl  1.3 KiB  md5 " in shown.stdout
    assert "metrics   accuracy " in shown.stdout and "(key)" in shown.stdout
    assert "train.C" not in shown.stdout  # the metadata document only with --yaml
    full = invoke("show", "--yaml", "-C", str(registry)).stdout
    assert "train.C: 0.3" in full and "features:" in full and full.startswith(shown.stdout)
    history = invoke("history", "-C", str(registry))
    assert "registration" in history.stdout and "churn@v0.1.0" in history.stdout


def test_piped_tables_are_plain_columns(registry):
    # CliRunner's stdout is not a terminal, as in `modelgit list | grep churn`.
    listed = invoke("list", "-C", str(registry)).stdout
    assert listed.splitlines() == [
        "model  latest  staging  production", "churn  v0.2.0  -        -",
    ]  # fmt: skip
    history = invoke("history", "-C", str(registry)).stdout.splitlines()
    assert history[0].split() == ["when", "event", "version", "stage", "tag", "by"]
    assert history[1].split()[2:5] == ["registration", "v0.2.0", "churn@v0.2.0"]
    assert not any(ch in "".join(history) for ch in "│┃━─╇")


def test_bump_output(project):
    dry = invoke("bump", "minor", "--dry-run", "-C", str(project))
    assert dry.exit_code == 0 and dry.stdout.startswith("would create churn@v0.1.0 on ")
    assert "schema: 1" in dry.stdout
    done = invoke("bump", "minor", "-C", str(project))
    assert done.exit_code == 0 and done.stdout.startswith("created churn@v0.1.0 on ")


# Exit codes: 2 bad input, 1 a failed check, 3 a bug, 130 Ctrl-C; always one line on stderr.


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
        (
            ["manifest", "churn@v0.2.0", "--strategy", "canary", "--router", "nginx"],
            2,
            "error: unknown canary router 'nginx'; use argo or istio",
        ),
        (
            ["diff", "churn@v0.1.0", "churn@v0.2.0", "--fail-on", "any-metric-worse"],
            1,
            "error: 1 gate(s) failed: any-metric-worse",
        ),
    ],
)
def test_errors_are_one_line_with_exit_codes(registry, args, code, message):
    result = invoke(*args, "-C", str(registry))
    assert result.exit_code == code
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_passing_gate_exits_0_and_a_failing_one_1(registry):
    # v0.2.0 is better on accuracy but worse on f1 and recall than v0.1.0.
    args = ["diff", "churn@v0.1.0", "churn@v0.2.0", "-C", str(registry), "--fail-on"]
    passed = invoke(*args, "accuracy<-0.05")
    assert passed.exit_code == 0 and "gate passed: accuracy<-0.05" in passed.stdout
    assert passed.stderr == ""
    failed = invoke(*args, "any-metric-worse")
    assert failed.exit_code == 1 and "gate FAILED: any-metric-worse" in failed.stdout


def test_a_tampered_version_fails_verify_with_exit_1(registry):
    assert invoke("verify", "churn@v0.2.0", "-C", str(registry)).exit_code == 0
    message = tag_message(registry, "churn@v0.2.0").replace("train.C: 0.3", "train.C: 0.9")
    git(registry, "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", "churn@v0.2.0",
        "churn@v0.2.0^{commit}", stdin=message)  # fmt: skip
    result = invoke("verify", "churn@v0.2.0", "-C", str(registry))
    assert result.exit_code == 1
    assert result.stderr == "error: churn@v0.2.0 did not verify\n"
    assert "fingerprint" in result.stdout


def _broken_app(error: Exception) -> typer.Typer:
    """A one-command app whose command, behind the CLI's funnel, raises `error`."""
    broken = typer.Typer()

    @broken.command()
    @funnel
    def fail() -> None:
        """Raise."""
        raise error

    return broken


def test_unexpected_exceptions_exit_3_in_one_line(monkeypatch):
    broken = _broken_app(RuntimeError("boom"))
    result = runner.invoke(broken, [], catch_exceptions=False)
    assert result.exit_code == 3
    assert result.stderr == (
        "error: unexpected error: RuntimeError: boom (rerun with MODELGIT_DEBUG=1 for the "
        "traceback)\n"
    )
    assert "Traceback" not in result.output
    monkeypatch.setenv("MODELGIT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        runner.invoke(broken, [], catch_exceptions=False)


def test_git_failures_are_one_line_and_debug_shows_the_traceback(registry, monkeypatch):
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


def test_ctrl_c_exits_130(registry):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, mid-rollout."""
    command = [
        os.path.join(BIN, "modelgit"), "rollout", "churn", "0.2.0", "--health-cmd", "sleep 30",
        "--window", "30", "--interval", "1", "-C", str(registry),
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        first = proc.stdout.readline()  # the promotion: the health check is running now
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "promoted: churn#production#" in first, stderr
    assert proc.returncode == 130
    # Ctrl-C rolls the promotion back (production held nothing before: it is emptied again)
    # and says so; `--on-interrupt keep` would leave it and name the way back.
    told, error = stderr.splitlines()
    assert told == "interrupted: rolled back, production held nothing before; unassigned " \
        "(churn#production!#2)"  # fmt: skip
    assert error == "error: interrupted"
    assert [line.split("] ", 1)[1] for line in stdout.splitlines()][-2:] == [
        "interrupted: rolling back",
        "rolled-back: production held nothing before; unassigned (churn#production!#2)",
    ]
    assert modelgit.list_models(registry)[0].stages.get("production") is None


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


# Help text, and what the CLI imports and raises.


def test_every_command_and_option_has_help():
    from typer.main import get_command

    seen = []

    def check(command, path: str) -> None:
        assert command.help, path
        for param in command.params:
            assert getattr(param, "help", None), f"{path} {param.name}"
        seen.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            check(sub, f"{path} {name}")

    check(get_command(app), "modelgit")
    # Every command, and the walk reaches into the `ci` group.
    assert {"modelgit bump", "modelgit rollout", "modelgit ci", "modelgit ci report"} <= set(seen)
    assert len(seen) == 1 + len(app.registered_commands) + 1 + 3


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


# What the read path and `--help` never load: DVC, GitPython, networkx, Jinja2, rich (output
# into a pipe is plain), and the layers only other commands need.
READ_PATH_NEVER_IMPORTS = (
    "dvc", "git", "networkx", "jinja2", "rich",
    "modelgit.analysis", "modelgit.deploy", "modelgit.pages", "importlib.metadata",
)  # fmt: skip


def _forbidden(modules: set[str]) -> set[str]:
    return {m for m in modules for f in READ_PATH_NEVER_IMPORTS if m == f or m.startswith(f"{f}.")}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"], ["list"], ["list", "--json"], ["show"], ["history"], ["show", "--json"],
        ["list", "--remote", "."], ["history", "--remote", "."], ["bump", "--help"],
        ["manifest", "--help"], ["ci", "--help"],
    ],
)  # fmt: skip
def test_read_commands_never_import_dvc(registry, args):
    modules = _modules_after(args, registry)
    assert "modelgit.cli" in modules
    assert "modelgit.registry.state" in modules or "--help" in args
    assert _forbidden(modules) == set()


def test_list_remote_loads_no_yaml_parser(registry):
    # `ls-remote` output is all `list --remote` and `history --remote` read: no metadata, no
    # config, no PyYAML.
    modules = _modules_after(["list", "--remote", ".", "--json"], registry)
    assert "modelgit.commands.remote" in modules and "yaml" not in modules
    assert "yaml" not in _modules_after(["history", "--remote", ".", "--json"], registry)
    assert "yaml" in _modules_after(["show", "--remote", ".", "--json"], registry)


def test_the_import_guard_can_fail(registry):
    # `diff` needs the analysis layer and `--version` the package metadata: the guard sees both.
    assert "modelgit.analysis.compare" in _forbidden(_modules_after(["diff"], registry))
    assert "importlib.metadata" in _forbidden(_modules_after(["--version"], registry))


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


def test_each_command_is_loaded_from_the_module_that_declares_it(registry):
    declared = {command_name(c): c.callback.__module__ for c in app.registered_commands}
    for group in app.registered_groups:
        (module,) = {c.callback.__module__ for c in group.typer_instance.registered_commands}
        declared[group.name] = module
    assert {name: f"modelgit.cli.{m}" for name, m in COMMAND_MODULES.items()} == declared
    # A run imports its own command's module only.
    modules = _modules_after(["list", "--json"], registry)
    assert {m for m in modules if m.startswith("modelgit.cli.")} == {
        "modelgit.cli.arguments", "modelgit.cli.base", "modelgit.cli.entry", "modelgit.cli.read",
        "modelgit.cli.render", "modelgit.cli.run",
    }  # fmt: skip


def test_the_entry_point_finds_the_url_to_read_ahead():
    assert remote_url(["list", "--remote", "u", "--json"]) == "u"
    assert remote_url(["-q", "--plain", "history", "churn", "--remote=u"]) == "u"
    assert remote_url(["show", "churn@v1.0.0", "--json", "--remote", "u"]) == "u"
    # Not from another directory, not for other commands, not past `--`, not without a value.
    assert remote_url(["-C", "elsewhere", "list", "--remote", "u"]) is None
    assert remote_url(["promote", "--remote", "u"]) is None
    assert remote_url(["list", "--", "--remote", "u"]) is None
    assert remote_url(["list", "--remote"]) is None and remote_url(["--remote", "u"]) is None
    assert remote_url(["list", "--help", "--remote", "u"]) is None


def test_the_console_script_reads_a_remote_as_the_api_does(registry, tmp_path):
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry), str(bare))
    script = os.path.join(BIN, "modelgit")
    listed = subprocess.run(
        [script, "list", "--remote", bare.as_uri(), "--json"], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    shown = [(m["name"], m["latest"], m["stages"]) for m in json.loads(listed.stdout)]
    assert shown == [(m.name, m.latest, m.stages) for m in modelgit.list_remote(bare.as_uri())]
    assert shown[0][:2] == ("churn", "0.2.0")
    missing = (tmp_path / "missing.git").as_uri()
    failed = subprocess.run([script, "list", "--remote", missing], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"error: cannot read tags of {missing}: fatal:")
    assert failed.stderr.count("\n") == 1


def test_the_entry_point_builds_only_the_invoked_command(tmp_path):
    assert invoked(["-C", "repo", "-q", "--plain", "list", "--json"]) == "list"
    assert invoked(["--help", "list"]) is None and invoked(["-Crepo", "list"]) is None
    assert invoked([]) is None and invoked(["-C"]) is None
    assert list(get_command(app_for(["list", "--remote", "url"])).commands) == ["list"]
    assert list(get_command(app_for(["ci", "init"])).commands) == ["ci"]
    everything = get_command(app_for(["lst"])).commands
    assert len(everything) == len(app.registered_commands) + len(app.registered_groups)
    # Through the console script: `--help` lists every command in the order a user meets
    # them, and a mistyped name is still matched against every command.
    script = os.path.join(BIN, "modelgit")
    shown = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True)
    listed = [line.split()[0] for line in shown.stdout.split("Commands:")[1].splitlines() if line]
    assert listed[:6] == ["init", "bump", "list", "show", "history", "diff"]
    assert len(listed) == len(everything) and listed[-1] == "ci"
    typo = subprocess.run([script, "lst"], cwd=tmp_path, capture_output=True, text=True)
    assert typo.returncode == 2 and "Did you mean 'list'?" in typo.stderr


def _dotted(node: ast.AST) -> str:
    """`typer.Exit` for the expression typer.Exit (and `typer.Exit` for typer.Exit(1))."""
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


EXITS = ("typer.", "click.", "SystemExit", "sys.exit")


def _exits(path: Path, helpers: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """(enclosing function, dotted when nested; line; expression) of each way out of the CLI."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{function}.{child.name}".removeprefix("<module>."))
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                name = _dotted(child.exc)
                if name.startswith(EXITS) or name in helpers:
                    found.append((function, child.lineno, f"raise {name}"))
            elif isinstance(child, (ast.Attribute, ast.Call)):
                name = _dotted(child)
                if name in ("typer.Exit", "typer.Abort", "sys.exit", *helpers):
                    found.append((function, child.lineno, name))
            elif isinstance(child, ast.ImportFrom) and child.module in ("typer", "click", "sys"):
                names = {alias.name for alias in child.names} & {"Exit", "Abort", "exit"}
                found.extend((function, child.lineno, f"from {child.module} import {n}")
                             for n in names)  # fmt: skip
            visit(child, function)

    visit(ast.parse(path.read_text()), "<module>")
    return found


# The ways out of the CLI besides the funnel: --version's eager callback (exit 0) and the entry
# point's guard for a pipe closed while click itself wrote help or usage (exit 0).
ALLOWED_EXITS = {("cli/run.py", "_version"), ("cli/run.py", "main")}
FUNNEL = ("funnel", "_fail", "_closed_pipe")


def test_only_the_funnel_exits():
    outside = []
    inside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        # In cli/base.py, `_fail` (which makes the typer.Exit) counts as a way out too.
        helpers = ("_fail", "_closed_pipe") if where == "cli/base.py" else ()
        for function, line, what in _exits(path, helpers):
            top = function.split(".")[0]
            in_funnel = where == "cli/base.py" and top in FUNNEL
            if (where, top) in ALLOWED_EXITS:
                continue
            (inside if in_funnel else outside).append(f"{where}:{line} {function}: {what}")
    assert outside == []
    # The scan sees the funnel's own exits: `_fail` builds typer.Exit, `funnel` raises it.
    assert any("_fail: typer.Exit" in i for i in inside), inside
    assert any("funnel.wrapper: raise _fail" in i for i in inside), inside


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module imported outside `if TYPE_CHECKING:` (annotations only), with its line."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _dotted(child.test).endswith("TYPE_CHECKING"):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.lineno, child.module))
                if child.module == "modelgit":
                    found.extend((child.lineno, f"modelgit.{a.name}") for a in child.names)
            visit(child)

    visit(tree)
    return found


# The CLI calls the public API (`modelgit`, which also exports the enums typer reads when
# commands are declared) and renders; besides its own modules it needs only the errors and the
# small value helpers.
CLI_MAY_IMPORT = ("modelgit", "modelgit.errors", "modelgit.values")


def test_the_cli_imports_only_the_public_api():
    names = set(modelgit.__all__)
    bad = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for line, module in _runtime_imports(ast.parse(path.read_text())):
            if not module.startswith("modelgit"):
                continue
            allowed = module in CLI_MAY_IMPORT or module.startswith("modelgit.cli")
            allowed = allowed or module.removeprefix("modelgit.") in names
            if not allowed:
                bad.append(f"{path.name}:{line} imports {module}")
    assert bad == []
    # The check can fail: a command module's own imports are seen.
    read_imports = _runtime_imports(ast.parse((PACKAGE / "cli/read.py").read_text()))
    assert {"modelgit", "modelgit.cli", "modelgit.errors"} <= {m for _, m in read_imports}
