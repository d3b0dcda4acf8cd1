"""What every benchmark shares: run a command a few times and keep the median wall time."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed_output(
    command: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None
) -> tuple[float, str]:
    """Median wall time and the last stdout of `command`; a failure aborts the benchmark."""
    times, out = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
        out = proc.stdout
    return statistics.median(times), out


def timed(command: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of `command`."""
    return timed_output(command, cwd, repeat, env)[0]


def ratio_row(label: str, mine: float, other: float | None, floor: float) -> str:
    """A Markdown row: modelgit's time, the peer's, peer / modelgit, and modelgit / floor."""
    peer = f"{other:.3f}" if other is not None else "-"
    ratio = f"{other / mine:.1f}x" if other is not None else "-"
    return f"| {label} | {mine:.3f} | {peer} | {ratio} | {mine / floor:.1f}x |"


def registry_arguments(parser: argparse.ArgumentParser) -> None:
    """The generated registry's shape (`generate_registry.py`) and the repeat count, which the
    registry, remote and site benchmarks all take."""
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=250)
    parser.add_argument("--stage-tags", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
