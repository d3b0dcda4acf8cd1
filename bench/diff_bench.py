"""modelgit diff and history --metrics side by side with dvc metrics/params diff and show -T.

    python bench/diff_bench.py --versions 100 --repeat 3

Generates one DVC project whose model has N versions (a commit each with its params.yaml,
metrics.json and dvc.lock, and a version tag with metadata), then times, on the same repo:
`modelgit diff A B` against `dvc metrics diff A B` + `dvc params diff A B`, and
`modelgit history --metrics` against `dvc metrics show -T` (all tags).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from generate_registry import Stream, md5, model_bytes
from timing import BIN, timed_output

DVC_YAML = {
    "stages": {
        "train": {
            "cmd": "true",
            "deps": ["train.py"],
            "params": ["train"],
            "outs": ["model.bin"],
            "metrics": [{"metrics.json": {"cache": False}}],
        }
    },
    "artifacts": {"m": {"path": "model.bin", "type": "model"}},
}


def files_at(version: int) -> dict[str, str]:
    """The committed files of one version."""
    params = {"train": {"lr": round(0.1 / (version + 1), 6), "epochs": 10 + version}}
    metrics = {
        "accuracy": round(0.80 + version * 0.001, 4),
        "loss": round(0.5 - version * 0.002, 4),
    }
    metrics_text = json.dumps(metrics)
    model = model_bytes(0, version)
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "cmd": "true",
                "deps": [{"path": "train.py", "hash": "md5", "md5": md5(b"pass\n"), "size": 5}],
                "params": {"params.yaml": params},
                "outs": [
                    {"path": "metrics.json", "hash": "md5", "md5": md5(metrics_text.encode()),
                     "size": len(metrics_text)},
                    {"path": "model.bin", "hash": "md5", "md5": md5(model), "size": len(model)},
                ],
            }
        },
    }  # fmt: skip
    return {
        "dvc.yaml": yaml.safe_dump(DVC_YAML, sort_keys=False),
        "dvc.lock": yaml.safe_dump(lock, sort_keys=False),
        "params.yaml": yaml.safe_dump(params),
        "metrics.json": metrics_text,
        "train.py": "pass\n",
        ".dvc/config": "",
        ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
        ".gitignore": "/model.bin\n",
    }


def generate(root: Path, versions: int) -> None:
    """A repo with `versions` tagged versions of model `m`."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(root)], check=True)
    stream = Stream()
    parent = None
    for v in range(versions):
        files = files_at(v)
        parent = stream.commit(files, f"version {v}", parent)
        trained = yaml.safe_load(files["params.yaml"])["train"]
        document = {
            "schema": 1, "model": "m", "version": f"0.{v + 1}.0",
            "params": {f"train.{k}": x for k, x in trained.items()},
            "metrics": json.loads(files["metrics.json"]),
        }  # fmt: skip
        stream.tag(f"m@v0.{v + 1}.0", parent, f"m v0.{v + 1}.0\n\n{yaml.safe_dump(document)}")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream.parts), check=True
    )
    subprocess.run(["git", "reset", "--quiet", "--hard", "main"], cwd=root, check=True)


def check_same_numbers(ours: str, metrics: str, params: str) -> None:
    """Refuse to report a speed-up for different answers."""
    comparison = json.loads(ours)["comparisons"][0]
    mine = {m["name"]: (m["old"], m["new"], m["diff"]) for m in comparison["metrics"]}
    for name, entry in json.loads(metrics)["metrics.json"].items():
        # Our JSON drops float noise (0.30000000000000004 is 0.3); DVC's keeps it.
        theirs = tuple(round(v, 9) for v in (entry["old"], entry["new"], entry["diff"]))
        assert tuple(round(v, 9) for v in mine[name]) == theirs, name
    changed = {
        p["name"]: (p["old"], p["new"]) for p in comparison["params"] if p["status"] != "unchanged"
    }
    for name, entry in json.loads(params)["params.yaml"].items():
        assert changed[name] == (entry["old"], entry["new"]), name


def run(versions: int, repeat: int) -> list[str]:
    """Generate, time, and return the Markdown rows."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-diff-bench-"))
    os.environ["DVC_NO_ANALYTICS"] = "1"
    try:
        repo = workdir / "project"
        generate(repo, versions)
        a, b = "m@v0.1.0", f"m@v0.{versions}.0"
        mine, ours = timed_output([str(BIN / "modelgit"), "diff", a, b, "--json"], repo, repeat)
        metrics_t, metrics = timed_output(
            [str(BIN / "dvc"), "metrics", "diff", a, b, "--json"], repo, repeat
        )
        params_t, params = timed_output(
            [str(BIN / "dvc"), "params", "diff", a, b, "--json"], repo, repeat
        )
        check_same_numbers(ours, metrics, params)
        hist, _ = timed_output(
            [str(BIN / "modelgit"), "history", "m", "--metrics", "--json"], repo, repeat
        )
        show, _ = timed_output([str(BIN / "dvc"), "metrics", "show", "-T", "--json"], repo, repeat)
        peer = metrics_t + params_t
        return [
            f"{versions} versions of one model; median of {repeat}; numbers checked equal",
            "",
            "| command | modelgit s | DVC s | DVC / modelgit |",
            "|---|---|---|---|",
            _row("diff A B (vs metrics diff + params diff)", mine, peer),
            _row("history --metrics (vs metrics show -T)", hist, show),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _row(label: str, mine: float, peer: float) -> str:
    return f"| {label} | {mine:.3f} | {peer:.3f} | {peer / mine:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.versions, args.repeat)))


if __name__ == "__main__":
    main()
