"""The size of the tag message `bump` writes as the pipeline upstream of a model grows.

    python bench/metadata_sizes.py            # chains of 11, 1,001 and 5,000 stages
    python bench/metadata_sizes.py 11 101     # other sizes

Each chain comes from scale_projects.chain; `bump --dry-run` composes the message exactly as a
real bump would (DVC's status included) and creates nothing. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import scale_projects

import modelgit
from modelgit.registry import metadata


def message_bytes(stages: int, workdir: Path) -> tuple[int, int, str]:
    """(message bytes, files listed in `data`, intermediate outputs summarised) of a dry-run
    bump on a chain of `stages` (up to 100 intermediates are listed, not summarised)."""
    root = workdir / f"chain-{stages}"
    scale_projects.chain(root, stages)
    try:
        result = modelgit.bump(root, modelgit.BumpRequest("minor", dry_run=True))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summarised = (result.metadata.get("intermediate") or {}).get("count")
    listed = len(result.metadata.get("data") or [])
    return len(result.message.encode()), listed, f"{summarised:,}" if summarised else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stages", type=int, nargs="*", default=[11, 1001, 5000])
    args = parser.parse_args()
    os.environ["DVC_NO_ANALYTICS"] = "1"
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-metadata-sizes-"))
    limit = metadata.MAX_MESSAGE_BYTES
    print(f"| stages | message bytes | files in `data` | intermediates as count + sha256 | "
          f"share of the {limit:,}-byte limit |")  # fmt: skip
    print("|---|---|---|---|---|")
    try:
        for stages in args.stages:
            size, listed, summarised = message_bytes(stages, workdir)
            print(f"| {stages:,} | {size:,} | {listed} | {summarised} | {size / limit:.1%} |",
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
