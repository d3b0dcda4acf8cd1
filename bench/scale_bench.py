"""How modelgit's costs grow against their floors: each row at three sizes, the largest 100x the
smallest, each time beside its floor (the DVC command or tool doing the same work) in one run.

    python bench/scale_bench.py --repeat 3              # every size (the largest takes long)
    python bench/scale_bench.py --smallest --repeat 1   # what the smoke test runs

Prints one Markdown table (medians, peak RSS of modelgit's process, ratio to the floor) and the
growth exponent of each row: log(time at largest / time at smallest) / log(100), so 1.0 grows
linearly with the work and 0.0 not at all.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import scale_projects
from timing import BIN

MB = 1024 * 1024
TIME = Path("/usr/bin/time")  # GNU time reports the peak RSS; without it the column is blank


@dataclass(frozen=True)
class Run:
    """A median wall time and the largest peak RSS over the repeats (KiB; 0 when unknown)."""

    seconds: float
    peak_kib: int


def measure(
    command: list[str], cwd: Path, repeat: int, reset: Callable[[], None] | None = None
) -> Run:
    """Run `command` `repeat` times (calling `reset` after each, untimed); abort on failure."""
    times, peaks = [], []
    with tempfile.NamedTemporaryFile(prefix="modelgit-rss-") as report:
        prefix = [str(TIME), "-f", "%M", "-o", report.name] if TIME.exists() else []
        for _ in range(repeat):
            started = time.perf_counter()
            proc = subprocess.run(
                [*prefix, *command], cwd=cwd, capture_output=True, text=True, check=False
            )
            times.append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
            if prefix:
                peaks.append(int(Path(report.name).read_text().split()[-1]))
            if reset is not None:
                reset()
    return Run(statistics.median(times), max(peaks, default=0))


def _untag(root: Path) -> Callable[[], None]:
    """Remove the version a timed bump created, so that the next repeat bumps the same commit."""
    return lambda: subprocess.run(["git", "tag", "-d", "model@v0.1.0"], cwd=root,
                                  capture_output=True, check=True)  # fmt: skip


def _modelgit(*args: str) -> list[str]:
    return [str(BIN / "modelgit"), *args]


def _dvc(*args: str) -> list[str]:
    return [str(BIN / "dvc"), *args]


@dataclass(frozen=True)
class Row:
    work: str
    size: str
    mine: Run
    floor_name: str
    floor: Run


def _bump_rows(work: str, size: str, root: Path, repeat: int) -> list[Row]:
    # One untimed status first: DVC hashes what its state database has not seen yet (a fresh
    # project's files) once, and both sides then read the same warm state.
    measure(_dvc("status"), root, 1)
    floor = measure(_dvc("status"), root, repeat)
    mine = measure(_modelgit("bump", "minor", "-C", str(root)), root, repeat, _untag(root))
    return [Row(work, size, mine, "dvc status", floor)]


def artifact_rows(workdir: Path, size_mb: int, repeat: int) -> list[Row]:
    root = workdir / f"artifact-{size_mb}"
    scale_projects.artifact(root, size_mb * MB)
    size = f"{size_mb:,} MB"
    rows = _bump_rows("bump, joblib artifact", size, root, repeat)
    model = str(root / "models" / "model.joblib")
    scan = measure(_modelgit("scan", model), root, repeat)
    md5sum = measure(["md5sum", model], root, repeat)
    rows.append(Row("scan, joblib artifact", size, scan, "md5sum", md5sum))
    return rows


def chain_rows(workdir: Path, stages: int, repeat: int) -> list[Row]:
    root = workdir / f"chain-{stages}"
    scale_projects.chain(root, stages)
    return _bump_rows("bump, stage chain", f"{stages:,} stages", root, repeat)


def foreach_rows(workdir: Path, items: int, repeat: int) -> list[Row]:
    root = workdir / f"foreach-{items}"
    old = scale_projects.foreach(root, items, quality=0.8)
    size = f"{items:,} items"
    rows = _bump_rows("bump, `foreach`", size, root, repeat)
    dag = measure(_dvc("dag", "--dot"), root, repeat)
    for work, args in (("lineage", ["lineage", "model"]), ("impact", ["impact", "rate"])):
        rows.append(Row(f"{work}, `foreach`", size, measure(_modelgit(*args), root, repeat),
                        "dvc dag --dot", dag))  # fmt: skip
    new = scale_projects.foreach(root, items, quality=0.9)
    metrics = measure(_dvc("metrics", "diff", old, new), root, repeat)
    params = measure(_dvc("params", "diff", old, new), root, repeat)
    both = Run(metrics.seconds + params.seconds, max(metrics.peak_kib, params.peak_kib))
    diff = measure(_modelgit("diff", old, new, "--json"), root, repeat)
    rows.append(Row("diff, `foreach`", size, diff, "dvc metrics diff + params diff", both))
    return rows


def directory_rows(workdir: Path, files: int, repeat: int) -> list[Row]:
    root = workdir / f"directory-{files}"
    scale_projects.directory(root, files)
    return _bump_rows("bump, directory artifact", f"{files:,} files", root, repeat)


SIZES = {  # smallest, middle, largest (100x the smallest)
    artifact_rows: (10, 100, 1000),
    chain_rows: (10, 100, 1000),
    foreach_rows: (10, 100, 1000),
    directory_rows: (1000, 10_000, 100_000),
}


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| work | size | modelgit s | peak RSS MB | floor | floor s | modelgit / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rss = f"{r.mine.peak_kib / 1024:.0f}" if r.mine.peak_kib else "-"
        ratio = r.mine.seconds / r.floor.seconds
        lines.append(f"| {r.work} | {r.size} | {r.mine.seconds:.2f} | {rss} | {r.floor_name} | "
                     f"{r.floor.seconds:.2f} | {ratio:.2f}x |")  # fmt: skip
    return lines


def growth(rows: list[Row]) -> list[str]:
    """Each row's exponent: log(largest / smallest time) / log(100), for modelgit and its floor."""
    lines = ["| work | modelgit exponent | floor exponent |", "|---|---|---|"]
    by_work: dict[str, list[Row]] = {}
    for r in rows:
        by_work.setdefault(r.work, []).append(r)
    for work, runs in by_work.items():
        if len(runs) < 3:
            continue
        first, last = runs[0], runs[-1]
        mine = math.log(last.mine.seconds / first.mine.seconds) / math.log(100)
        floor = math.log(last.floor.seconds / first.floor.seconds) / math.log(100)
        lines.append(f"| {work} | {mine:.2f} | {floor:.2f} |")
    return lines


def compile_modelgit() -> None:
    """Write modelgit's bytecode before anything is timed.

    An installed package has it (pip compiles on install), and DVC's is there; an editable
    checkout under PYTHONDONTWRITEBYTECODE never writes it, and each run would then compile
    modelgit's modules afresh (about 0.15 s), which is not what a user's `bump` costs.
    """
    import modelgit

    package = Path(modelgit.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smallest", action="store_true", help="Only the smallest size.")
    parser.add_argument(
        "--only", choices=["artifact", "chain", "foreach", "directory"], action="append",
        help="Only these projects (repeatable; default: all).",
    )  # fmt: skip
    args = parser.parse_args()
    os.environ["DVC_NO_ANALYTICS"] = "1"
    compile_modelgit()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-scale-bench-"))
    rows: list[Row] = []
    try:
        for rows_of, sizes in SIZES.items():
            if args.only and rows_of.__name__.removesuffix("_rows") not in args.only:
                continue
            for size in sizes[:1] if args.smallest else sizes:
                rows.extend(rows_of(workdir, size, args.repeat))
                # one project at a time on disk: the largest are gigabytes
                for child in workdir.iterdir():
                    shutil.rmtree(child, ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    order = {work: n for n, work in enumerate(dict.fromkeys(r.work for r in rows))}
    rows.sort(key=lambda r: order[r.work])  # each work's sizes together, smallest first
    before = ", ".join(f"{n:.2f}" for n in load_before)
    after = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"median of {args.repeat}; load average (1, 5, 15 min) {before} before, {after} after")
    print()
    print("\n".join(table(rows)))
    if not args.smallest:
        print()
        print("\n".join(growth(rows)))


if __name__ == "__main__":
    main()
