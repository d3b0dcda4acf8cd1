"""Reading a registry you have not cloned, side by side with cloning it, and `get` beside
`dvc get`, on one generated registry pushed to a bare repository.

    python bench/remote_bench.py --models 50 --versions 250 --stage-tags 20 --repeat 3

Floors: `python -c pass` plus a bare `git ls-remote --tags` of the same URL. Peer: a full
`git clone` followed by `modelgit list`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate_registry import generate
from timing import BIN, ratio_row, registry_arguments, timed


def run(models: int, versions: int, stage_tags: int, repeat: int) -> list[str]:
    """Generate and push the registry, time everything, return the Markdown table rows."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-bench-remote-"))
    env = dict(os.environ, DVC_NO_ANALYTICS="1", XDG_CACHE_HOME=str(workdir / "cache"))
    try:
        repo = workdir / "registry"
        tags = generate(repo, models, versions, stage_tags)
        bare = workdir / "origin.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
        url = bare.as_uri()
        modelgit = [str(BIN / "modelgit")]
        python = timed([sys.executable, "-c", "pass"], workdir, repeat, env)
        ls_remote = timed(["git", "ls-remote", "--tags", url], workdir, repeat, env)
        floor = python + ls_remote
        clone_dir = workdir / "clone"

        def clone_and_list() -> list[str]:
            # Each repeat clones afresh (the removal is part of the peer's timed command).
            return ["sh", "-c", f"rm -rf {clone_dir} && git clone -q {url} {clone_dir} && "
                    f"cd {clone_dir} && {modelgit[0]} list --json >/dev/null"]  # fmt: skip

        rows = [
            f"{tags} tags ({models} models x {versions} versions + {models * stage_tags} stage "
            f"tags) in a bare repository over file://; median of {repeat}; `python -c pass` "
            f"{python:.3f} s, bare `git ls-remote --tags` {ls_remote:.3f} s",
            "",
            "| command | modelgit s | peer s | peer / modelgit | modelgit / (python + ls-remote) |",
            "|---|---|---|---|---|",
        ]
        mine = timed([*modelgit, "list", "--remote", url, "--json"], workdir, repeat, env)
        peer = timed(clone_and_list(), workdir, repeat, env)
        rows.append(ratio_row("list --remote (peer: clone + list)", mine, peer, floor))
        mine = timed([*modelgit, "history", "m1", "--remote", url, "--json"], workdir, repeat, env)
        rows.append(ratio_row("history MODEL --remote", mine, None, floor))
        first = timed([*modelgit, "show", "m1@v0.1.0", "--remote", url, "--json"], workdir, 1, env)
        again = timed(
            [*modelgit, "show", "m1@v0.1.0", "--remote", url, "--json"], workdir, repeat, env
        )
        rows.append(ratio_row("show MODEL@v --remote, first (fetches one tag)", first, None, floor))
        rows.append(ratio_row("show MODEL@v --remote, cached", again, None, floor))
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    registry_arguments(parser)
    args = parser.parse_args()
    print("\n".join(run(args.models, args.versions, args.stage_tags, args.repeat)))


if __name__ == "__main__":
    main()
