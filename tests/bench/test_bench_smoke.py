"""The benchmarks run at a tiny size (a smoke test: their figures are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.mark.slow
def test_registry_benchmark_runs_side_by_side_with_gto():
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "registry_bench.py"),
            "--models",
            "2",
            "--versions",
            "3",
            "--stage-tags",
            "2",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("10 tags (2 models x 3 versions + 4 stage tags)")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| list",
        "| show MODEL",
        "| history MODEL",
        "| bump --dry-run",
        "| bump (register) once",
    ]
    assert all(row.endswith("x |") for row in rows[1:])


def test_generated_registry_is_readable_and_bumpable(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from generate_registry import generate

    import modelgit

    assert generate(tmp_path / "r", models=2, versions=3, stage_tags=2) == 10
    listed = {m.name: (m.latest, m.stages) for m in modelgit.list_models(tmp_path / "r")}
    assert listed == {
        "m0": ("0.3.0", {"production": "0.2.0", "staging": "0.3.0"}),
        "m1": ("0.3.0", {"production": "0.2.0", "staging": "0.3.0"}),
    }
    assert modelgit.show(tmp_path / "r", "m1@v0.2.0").problem is None
    assert modelgit.bump(tmp_path / "r", "minor", "m0").tag == "m0@v0.4.0"


@pytest.mark.slow
def test_diff_benchmark_checks_numbers_against_dvc():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "diff_bench.py"), "--versions", "3", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("3 versions of one model; median of 1; numbers checked equal")
    assert proc.stdout.count("x |") == 2


@pytest.mark.slow
def test_lineage_benchmark_runs_side_by_side_with_dvc_dag():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "lineage_bench.py"), "--chains", "2", "--length", "3",
         "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("7 stages (2 chains x 3")
    assert proc.stdout.count("x |") == 4


@pytest.mark.slow
def test_verify_benchmark_runs_beside_md5sum():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "verify_bench.py"), "--size-mb", "2", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 MiB artifact; median of 1")
    assert "| modelgit ci release (example project) |" in proc.stdout


@pytest.mark.slow
def test_remote_benchmark_runs_beside_clone_and_list():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "remote_bench.py"), "--models", "2", "--versions", "3",
         "--stage-tags", "2", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("10 tags (2 models x 3 versions + 4 stage tags)")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| list --remote (peer: clone + list)",
        "| history MODEL --remote",
        "| show MODEL@v --remote, first (fetches one tag)",
        "| show MODEL@v --remote, cached",
    ]


@pytest.mark.slow
def test_scale_benchmark_runs_every_row_at_its_smallest_size():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "scale_bench.py"), "--smallest", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(" | ") for line in proc.stdout.splitlines() if line.startswith("| ")][1:]
    assert [(row[0], row[1]) for row in rows] == [
        ("| bump, joblib artifact", "10 MB"),
        ("| scan, joblib artifact", "10 MB"),
        ("| bump, stage chain", "10 stages"),
        ("| bump, `foreach`", "10 items"),
        ("| lineage, `foreach`", "10 items"),
        ("| impact, `foreach`", "10 items"),
        ("| diff, `foreach`", "10 items"),
        ("| bump, directory artifact", "1,000 files"),
    ]
    assert all(row[-1].endswith("x |") and float(row[2]) > 0 for row in rows)


def test_generated_pipelines_are_up_to_date_as_dvc_sees_them(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from scale_projects import chain, foreach

    for make, root in ((chain, tmp_path / "chain"), (foreach, tmp_path / "foreach")):
        make(root, 4)
        status = subprocess.run(
            [str(Path(sys.executable).parent / "dvc"), "status", "--json"],
            cwd=root, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert status.stdout.strip() == "{}", status.stdout


def test_site_benchmark_times_first_builds_and_rebuilds():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "site_bench.py"), "--models", "2", "--versions", "3",
         "--stage-tags", "1", "--repeat", "1", "--jobs", "auto,2"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("8 tags (2 models x 3 versions + 2 stage tags); median of 1;")
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| first build")]
    assert [row.split(" | ")[0] for row in rows] == ["| first build, --jobs auto",
                                                      "| first build, --jobs 2"]  # fmt: skip
    assert proc.stdout.count("| rebuild (nothing changed)") == 2
