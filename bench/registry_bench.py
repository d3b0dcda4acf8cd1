"""modelgit list/show/history/bump side by side with GTO on one generated registry repo.

    python bench/registry_bench.py --models 50 --versions 250 --stage-tags 20 --repeat 3

Prints medians of wall-clock time per command and the ratios: GTO / modelgit, and modelgit /
(`python -c pass` + a bare `git for-each-ref` over the same tags).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate_registry import generate
from timing import BIN, ratio_row, registry_arguments, timed


def run(models: int, versions: int, stage_tags: int, repeat: int, gto: bool) -> list[str]:
    """Generate the repo, time everything, and return the Markdown table rows."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-bench-"))
    os.environ.update(DVC_NO_ANALYTICS="1", GTO_NO_ANALYTICS="1")
    try:
        repo = workdir / "registry"
        tags = generate(repo, models, versions, stage_tags)
        modelgit = [str(BIN / "modelgit")]
        peer = [str(BIN / "gto")]
        python = timed([sys.executable, "-c", "pass"], repo, repeat)
        bare = timed(["git", "for-each-ref", "refs/tags"], repo, repeat)
        floor = python + bare
        rows = [
            f"{tags} tags ({models} models x {versions} versions + {models * stage_tags} stage "
            f"tags); median of {repeat}; `python -c pass` {python:.3f} s, bare "
            f"`git for-each-ref` {bare:.3f} s",
            "",
            "| command | modelgit s | GTO s | GTO / modelgit | modelgit / (python + git) |",
            "|---|---|---|---|---|",
        ]
        cases = [
            ("list", ["list", "--json"], ["show", "--json"]),
            ("show MODEL", ["show", "m1", "--json"], ["show", "m1", "--json"]),
            ("history MODEL", ["history", "m1", "--json"], ["history", "m1", "--json"]),
            ("bump --dry-run", ["bump", "minor", "m0", "--dry-run"], None),
        ]
        for label, ours, theirs in cases:
            mine = timed(modelgit + ours, repo, repeat)
            other = timed(peer + theirs, repo, repeat) if gto and theirs else None
            rows.append(ratio_row(label, mine, other, floor))
        # A real registration happens once: a second would be refused (or be another version).
        mine = timed([*modelgit, "bump", "minor", "m0"], repo, 1)
        other = timed([*peer, "register", "m1", "--bump-minor"], repo, 1) if gto else None
        rows.append(ratio_row("bump (register) once", mine, other, floor))
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    registry_arguments(parser)
    parser.add_argument("--no-gto", action="store_true", help="time modelgit alone")
    args = parser.parse_args()
    rows = run(args.models, args.versions, args.stage_tags, args.repeat, not args.no_gto)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
