"""verify's hashing beside md5sum on one large artifact, and `ci release` on the example.

    python bench/verify_bench.py --size-mb 1024 --repeat 3

Makes a DVC project whose model is a `dvc add`-ed file of the given size, registers it, then
times on the same file: `md5sum`, modelgit's own hashing loop, and the whole `modelgit verify`
(which also reads the registry and the commit's dvc.lock). Throughput ratios are md5sum's time
over modelgit's (1.0 = as fast as md5sum). Then times `modelgit ci release` (verify, render
manifests, write the summary) on the example project, no DVC pull involved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from timing import BIN, timed

ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
}  # fmt: skip


def sh(*command: str, cwd: Path) -> str:
    return subprocess.run(
        command, cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def big_project(root: Path, size_mb: int) -> Path:
    """A git + DVC project whose registered model is a `size_mb` MiB file."""
    root.mkdir(parents=True)
    sh("git", "init", "--quiet", cwd=root)
    sh(str(BIN / "dvc"), "init", "--quiet", cwd=root)
    model = root / "model.bin"
    block = os.urandom(1 << 20)
    with model.open("wb") as handle:
        for _ in range(size_mb):
            handle.write(block)
    sh(str(BIN / "dvc"), "add", "--quiet", "model.bin", cwd=root)
    document = {"artifacts": {"big": {"path": "model.bin", "type": "model"}}}
    (root / "dvc.yaml").write_text(yaml.safe_dump(document))
    sh("git", "add", "--all", cwd=root)
    sh("git", "commit", "--quiet", "-m", "A large model", cwd=root)
    sh(str(BIN / "modelgit"), "bump", "minor", "--allow-unsafe-pickle", cwd=root)
    return model


def hashing_loop(path: Path) -> float:
    """modelgit's own hashing loop, timed inside one process."""
    code = (
        "import sys, time\n"
        "from modelgit.model.rehash import md5_stream\n"
        "start = time.perf_counter()\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    md5_stream(f)\n"
        "print(time.perf_counter() - start)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=ENV, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return float(out)


def release_time(root: Path, repeat: int) -> float:
    """`ci release` on the example project with two versions."""
    project = root / "example"
    sh(str(BIN / "modelgit"), "init", "--example", str(project), cwd=root)
    sh(str(BIN / "dvc"), "repro", "--quiet", cwd=project)
    # The manifests' pods download the model from the default remote, so a release needs one.
    sh(str(BIN / "dvc"), "remote", "add", "-d", "storage", str(root / "dvc-remote"), cwd=project)
    sh("git", "add", "--all", cwd=project)
    sh("git", "commit", "--quiet", "-m", "train", cwd=project)
    sh(str(BIN / "modelgit"), "bump", "minor", cwd=project)
    return timed([str(BIN / "modelgit"), "ci", "release", "churn@v0.1.0", "--out", "release"],
                 project, repeat, ENV)  # fmt: skip


def run(size_mb: int, repeat: int) -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-verify-bench-"))
    try:
        model = big_project(workdir / "big", size_mb)
        md5sum = timed(["md5sum", str(model)], workdir, repeat, ENV)
        loop = statistics.median(hashing_loop(model) for _ in range(repeat))
        whole = timed([str(BIN / "modelgit"), "verify", "big"], model.parent, repeat, ENV)
        release = release_time(workdir, repeat)
        return [
            f"{size_mb} MiB artifact; median of {repeat}; ratio = md5sum time / modelgit time",
            "",
            "| what | seconds | throughput ratio vs md5sum |",
            "|---|---|---|",
            f"| md5sum | {md5sum:.3f} | 1.00 |",
            f"| modelgit hashing loop | {loop:.3f} | {md5sum / loop:.2f} |",
            f"| modelgit verify (whole command) | {whole:.3f} | {md5sum / whole:.2f} |",
            f"| modelgit ci release (example project) | {release:.3f} | - |",
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.size_mb, args.repeat)))


if __name__ == "__main__":
    main()
