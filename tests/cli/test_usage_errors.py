"""Usage errors click finds (an unknown option, a bad choice, a missing argument) leave the
console script as one `error:` line on stderr with exit 2, naming the help to read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)


def modelgit(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    script = os.path.join(BIN, "modelgit")
    return subprocess.run([script, *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["list", "--bogus"], "error: no such option: --bogus (see modelgit list --help)"),
        (
            ["lineage", "--format", "xml"],
            "error: invalid value for '--format' / '-f': 'xml' is not one of 'tree', 'dot', "
            "'mermaid', 'json' (see modelgit lineage --help)",
        ),
        (["bump"], "error: missing argument 'LEVEL' (see modelgit bump --help)"),
        (["nosuch"], "error: no such command 'nosuch' (see modelgit --help)"),
    ],
)
def test_click_usage_errors_are_one_line(tmp_path, args, line):
    proc = modelgit(tmp_path, *args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", line + "\n")


def test_help_version_and_a_bare_command_still_work(tmp_path):
    helped = modelgit(tmp_path, "bump", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: modelgit bump")
    version = modelgit(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("modelgit ")
    bare = modelgit(tmp_path)  # no command: the help, as git and click give it
    assert bare.returncode == 2 and "Commands:" in bare.stderr + bare.stdout
