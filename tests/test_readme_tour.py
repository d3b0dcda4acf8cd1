"""The README's tour runs in order, from an empty directory, and each step does what its
comment says: a step whose comment names an exit code exits with it, every other one with 0."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import modelgit

README = Path(__file__).resolve().parent.parent / "README.md"
COMMENT = re.compile(r"\s{2,}#\s(?P<comment>.*)$")


def tour() -> list[tuple[str, str]]:
    """(command, comment) for every `$ ` line of the tour's console block."""
    text = README.read_text()
    start = text.index("## Tour")
    block = text[text.index("```console", start) : text.index("```\n", start + 20)]
    steps = []
    for line in block.splitlines():
        if line.startswith("$ "):
            found = COMMENT.search(line)
            command = line[2 : found.start()] if found else line[2:]
            steps.append((command.strip(), found["comment"] if found else ""))
    return steps


@pytest.mark.slow
def test_the_tour_runs_in_order_and_each_step_does_what_it_says(tmp_path):
    steps = tour()
    assert any(command.startswith("modelgit rollout") for command, _ in steps)
    codes = tmp_path / "codes"
    script = ["set +e"]
    for number, (command, _) in enumerate(steps):
        script.append(f"{{ {command} ; }} > {tmp_path}/out-{number} 2>&1; echo $? >> {codes}")
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, check=False, timeout=600)
    exits = [int(code) for code in codes.read_text().split()]
    assert len(exits) == len(steps)
    for number, ((command, comment), code) in enumerate(zip(steps, exits, strict=True)):
        expected = re.search(r"\(exit (\d)\)", comment)
        output = (tmp_path / f"out-{number}").read_text()
        assert code == (int(expected[1]) if expected else 0), f"$ {command}\n{output}"
    project = tmp_path / "churn-demo"
    outputs = [(command, (tmp_path / f"out-{n}").read_text()) for n, (command, _) in
               enumerate(steps)]  # fmt: skip
    bumps = [out for command, out in outputs if command == "modelgit bump minor"]
    assert bumps[0].startswith("created churn@v0.1.0") and "churn@v0.2.0" in bumps[1]
    # The canary keeps v0.1.0 stable; the failed rollout went back to it and said why.
    assert 'stable-version: "0.1.0"' in (project / "deploy" / "rollout.yaml").read_text()
    assert modelgit.list_models(project)[0].stages["production"] == "0.1.0"
    rollback = next(out for command, out in outputs if command.startswith("modelgit rollback"))
    assert "failed there: v0.2.0" in rollback
