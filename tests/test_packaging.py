"""The wheel carries the example project, the Kubernetes templates and the CRD schemas, and
works from them."""

from __future__ import annotations

import configparser
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


@pytest.mark.slow
def test_the_wheel_ships_templates_example_and_schemas(wheel):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert "modelgit/_templates/k8s/canary/rollout.yaml.j2" in names
    assert "modelgit/_templates/k8s/_macros.j2" in names
    assert "modelgit/_example/dvc.yaml" in names and "modelgit/_example/pipeline/train.py" in names
    assert "modelgit/deploy/schemas/serving.kserve.io_inferenceservice_v1beta1.json" in names
    assert not any(name.startswith("tests/") for name in names)
    [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    scripts = configparser.ConfigParser()
    scripts.read_string(archive.read(entry_points).decode())
    assert dict(scripts["console_scripts"]) == {"modelgit": "modelgit.cli.entry:main"}


@pytest.mark.slow
def test_manifests_render_and_validate_from_the_installed_wheel(wheel, registry, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import modelgit, modelgit.deploy.manifests as m, modelgit.commands.init as p\n"
        "import modelgit.deploy.validate as v, modelgit.cli.app as cli\n"
        "print(m.packaged_templates()); print(p.example_source()); print(v.PACKAGED_SCHEMAS)\n"
        "print(callable(cli.main))\n"
        f"modelgit.promote({str(registry)!r}, 'churn', '0.1.0', 'production')\n"
        "request = modelgit.ManifestRequest('churn@v0.2.0', 'canary', validate=True,\n"
        "                                   image='acme/{model}:{version}')\n"
        f"r = modelgit.manifest({str(registry)!r}, request)\n"
        "print(sorted(r.files)); print(sorted({c.schema for c in r.checks}))\n"
        "print([c.errors for c in r.checks if c.errors])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    templates, example, schemas, main, files, checked, errors = proc.stdout.splitlines()
    assert templates == str(site / "modelgit" / "_templates")
    assert example == str(site / "modelgit" / "_example")
    assert schemas == str(site / "modelgit" / "deploy" / "schemas")
    assert main == "True"
    assert files == "['analysis.yaml', 'rollout.yaml', 'routing.yaml', 'services.yaml']"
    assert checked == (
        "['argoproj.io_analysistemplate_v1alpha1.json', 'argoproj.io_rollout_v1alpha1.json', "
        "'kubernetes 1.30 (strict)', 'networking.istio.io_destinationrule_v1.json', "
        "'networking.istio.io_virtualservice_v1.json']"
    )
    assert errors == "[]"
