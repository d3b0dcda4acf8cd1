"""Write a registry repo of N models x M versions plus stage tags through one `git fast-import`.

The repo is a real DVC project: dvc.yaml declares every model, each version's commit has a
dvc.lock with that version's hashes, and every version tag carries a metadata YAML document.
HEAD holds one unregistered change to the first model, so `bump` has something to register.

    python bench/generate_registry.py DIR --models 50 --versions 250 --stage-tags 20
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import time
from pathlib import Path

import yaml

PERSON = "Bench Bot <bench@example.com>"
START = 1_700_000_000


def model_bytes(model: int, version: int) -> bytes:
    """The content of a model file at one version (distinct per model and version)."""
    return f"model m{model} version {version}\n".encode() * 8


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # DVC's own content hash


def dvc_yaml(models: int) -> str:
    stages = {
        f"train_m{i}": {"cmd": "true", "params": [f"m{i}"], "outs": [f"models/m{i}.bin"]}
        for i in range(models)
    }
    artifacts = {f"m{i}": {"path": f"models/m{i}.bin", "type": "model"} for i in range(models)}
    return yaml.safe_dump({"stages": stages, "artifacts": artifacts}, sort_keys=False)


def params_yaml(versions: list[int]) -> str:
    return yaml.safe_dump({f"m{i}": {"lr": 0.001 * (v + 1)} for i, v in enumerate(versions)})


def dvc_lock(versions: list[int]) -> str:
    stages = {}
    for i, v in enumerate(versions):
        data = model_bytes(i, v)
        stages[f"train_m{i}"] = {
            "cmd": "true",
            "params": {"params.yaml": {f"m{i}": {"lr": 0.001 * (v + 1)}}},
            "outs": [
                {"path": f"models/m{i}.bin", "hash": "md5", "md5": md5(data), "size": len(data)}
            ],
        }
    return yaml.safe_dump({"schema": "2.0", "stages": stages}, sort_keys=False)


def tag_message(model: int, version: int, commit_hint: str) -> str:
    data = model_bytes(model, version)
    name = f"m{model}"
    document = {
        "schema": 1,
        "model": name,
        "version": f"0.{version + 1}.0",
        "previous": f"0.{version}.0" if version else None,
        "bump": {"level": "minor", "reasons": [f"params changed: {name}.lr"]},
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": PERSON,
        "commit": commit_hint,
        "artifact": {
            "path": f"models/{name}.bin",
            "hash": "md5",
            "md5": md5(data),
            "size": len(data),
        },
        "fingerprint": md5(data)[:12],
        "data": [],
        "stages": [f"train_{name}"],
        "params": {f"{name}.lr": 0.001 * (version + 1)},
        "metrics": {"accuracy": round(0.7 + version * 0.001, 4), "f1": 0.6},
        "parents": [],
    }
    body = yaml.safe_dump(document, sort_keys=False)
    return f"{name} v0.{version + 1}.0: minor bump\n\n{body}"


class Stream:
    """Builds a fast-import stream in memory."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0
        self.clock = START

    def data(self, payload: bytes) -> None:
        self.parts.append(b"data %d\n" % len(payload) + payload + b"\n")

    def blob(self, payload: str) -> int:
        self.mark += 1
        self.parts.append(b"blob\nmark :%d\n" % self.mark)
        self.data(payload.encode())
        return self.mark

    def commit(self, files: dict[str, str], message: str, parent: int | None) -> int:
        blobs = {path: self.blob(content) for path, content in files.items()}
        self.mark += 1
        self.clock += 1
        self.parts.append(b"commit refs/heads/main\nmark :%d\n" % self.mark)
        self.parts.append(f"committer {PERSON} {self.clock} +0000\n".encode())
        self.data(message.encode())
        if parent is not None:
            self.parts.append(b"from :%d\n" % parent)
        for path, mark in blobs.items():
            self.parts.append(f"M 100644 :{mark} {path}\n".encode())
        return self.mark

    def tag(self, name: str, commit: int, message: str) -> None:
        self.clock += 1
        self.parts.append(
            f"tag {name}\nfrom :{commit}\ntagger {PERSON} {self.clock} +0000\n".encode()
        )
        self.data(message.encode())


def generate(root: Path, models: int, versions: int, stage_tags: int) -> int:
    """Create the repo at `root`; returns how many registry tags it holds."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(root)], check=True)
    stream = Stream()
    static = {
        "dvc.yaml": dvc_yaml(models),
        ".dvc/config": "",
        ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
        ".dvcignore": "",
        ".gitignore": "/models/\n",
    }
    commits: list[int] = []
    parent = None
    for v in range(versions):
        state = [v] * models
        files = {**static, "dvc.lock": dvc_lock(state), "params.yaml": params_yaml(state)}
        parent = stream.commit(files, f"version {v}", parent)
        commits.append(parent)
    count = 0
    for i in range(models):
        for v in range(versions):
            stream.tag(f"m{i}@v0.{v + 1}.0", commits[v], tag_message(i, v, "see tag"))
            count += 1
        for k in range(1, stage_tags + 1):
            stage = "production" if k % 2 else "staging"
            v = min(versions - 1, k * versions // (stage_tags + 1))
            stream.tag(f"m{i}#{stage}#{k}", commits[v], f"Assigning stage {stage} to m{i}")
            count += 1
    head_state = [versions - 1] * models
    head_state[0] = versions  # one model changed since its last version
    files = {**static, "dvc.lock": dvc_lock(head_state), "params.yaml": params_yaml(head_state)}
    stream.commit(files, "retrain m0", parent)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream.parts), check=True
    )
    subprocess.run(["git", "reset", "--quiet", "--hard", "main"], cwd=root, check=True)
    (root / "models").mkdir()
    for i, v in enumerate(head_state):
        data = model_bytes(i, v)
        (root / "models" / f"m{i}.bin").write_bytes(data)
        # In the DVC cache too, as `dvc repro` leaves it, so `dvc status` is clean.
        digest = md5(data)
        cached = root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=250)
    parser.add_argument("--stage-tags", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    count = generate(args.root, args.models, args.versions, args.stage_tags)
    print(f"{count} tags in {args.root} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
