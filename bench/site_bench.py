"""`modelgit site` on a generated registry: a first build with cold caches, and a rebuild.

    python bench/site_bench.py --models 50 --versions 250 --stage-tags 20 --repeat 3

A first build starts with no `.git/modelgit` caches (tag objects, parsed documents) and a new
output folder; a rebuild runs again on the folder the last first build wrote. Each row is the
median wall time and the median CPU time (user + system of modelgit and the processes it
forks), with the load average before and after the row, because this machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate_registry import generate
from timing import BIN, registry_arguments


def _run(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall, user and system seconds of `command` (and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _row(label: str, samples: list[tuple[float, float, float]], load: str) -> str:
    wall = statistics.median(s[0] for s in samples)
    user = statistics.median(s[1] for s in samples)
    system = statistics.median(s[2] for s in samples)
    return f"| {label} | {wall:.2f} | {user:.2f} | {system:.2f} | {load} → {_load()} |"


def run(
    models: int,
    versions: int,
    stage_tags: int,
    repeat: int,
    jobs: list[str],
    root: Path | None,
    workdir_parent: Path | None = None,
    keep: bool = False,
) -> list[str]:
    """Generate (or reuse) the registry, time the builds, return the Markdown rows."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-site-bench-", dir=workdir_parent))
    try:
        repo = root or workdir / "registry"
        tags = generate(repo, models, versions, stage_tags) if root is None else None
        described = f"{tags} tags" if tags is not None else str(repo)
        rows = [
            f"{described} ({models} models x {versions} versions + {models * stage_tags} stage "
            f"tags); median of {repeat}; {os.cpu_count()} cores; pages written under {workdir}",
            "",
            "| build | wall s | user s | system s | load average (1/5/15 min) before → after |",
            "|---|---|---|---|---|",
        ]
        for job in jobs:
            option = ["--jobs", job] if job != "auto" else []
            command = [str(BIN / "modelgit"), "site", *option]
            first, again = [], []
            load = _load()
            for attempt in range(repeat):
                shutil.rmtree(repo / ".git" / "modelgit", ignore_errors=True)
                # A new folder each time: removing 12,600 files just before a build slows the
                # file system's next creations, which is not what a first build meets.
                out = workdir / f"site-{job}-{attempt}"
                first.append(_run([*command, "-o", str(out)], repo))
            rows.append(_row(f"first build, --jobs {job}", first, load))
            load = _load()
            for _ in range(repeat):
                again.append(_run([*command, "-o", str(out)], repo))
            rows.append(_row(f"rebuild (nothing changed), --jobs {job}", again, load))
        return rows
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    registry_arguments(parser)
    parser.add_argument(
        "--jobs", default="auto,1", help="comma-separated --jobs values to time (auto: default)"
    )
    parser.add_argument("--root", type=Path, help="an existing generated registry to reuse")
    parser.add_argument(
        "--workdir", type=Path, help="where to write the sites (default: the system's temp folder)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the sites written (deleting them slows the next runs' file creation here)",
    )
    args = parser.parse_args()
    os.environ.update(DVC_NO_ANALYTICS="1")
    rows = run(
        args.models,
        args.versions,
        args.stage_tags,
        args.repeat,
        args.jobs.split(","),
        args.root,
        args.workdir,
        args.keep,
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
