"""The wheel carries the example project and the Kubernetes templates, and works from them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    [built] = out.glob("modelgit-*.whl")
    return built


def test_the_wheel_ships_templates_and_example(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "modelgit/_templates/k8s/canary/rollout.yaml.j2" in names
    assert "modelgit/_templates/k8s/_macros.j2" in names
    assert "modelgit/_example/dvc.yaml" in names and "modelgit/_example/pipeline/train.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_manifests_render_from_the_installed_wheel(wheel, registry, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import modelgit.deploy.manifests as m, modelgit.project as p\n"
        "print(m.packaged_templates()); print(p.example_source())\n"
        "from modelgit import deploying, stages\n"
        f"stages.promote({str(registry)!r}, 'churn', '0.1.0', 'production')\n"
        f"r = deploying.manifest({str(registry)!r}, 'churn@v0.2.0', 'canary')\n"
        "print(sorted(r.files))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    templates, example, files = proc.stdout.splitlines()
    assert templates == str(site / "modelgit" / "_templates")
    assert example == str(site / "modelgit" / "_example")
    assert files == "['rollout.yaml', 'services.yaml']"
