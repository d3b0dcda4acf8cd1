"""Generated DVC projects that grow along one axis: stages, `foreach` items, artifact bytes, files.

Pipelines are written the way `dvc repro` of trivial stages leaves them, without running 1,000
commands: every output file is written, hashed into `dvc.lock` (DVC 3's lock format) and copied
into the DVC cache, so `dvc status` calls the project up to date. A directory artifact is hashed
by DVC itself (`dvc commit`), since its `.dir` listing is DVC's own format.

    python bench/scale_projects.py chain 5000 /tmp/p   # a project to inspect by hand
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

BIN = Path(sys.executable).parent
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
GIT_IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
CODE = {
    "step.py": "import sys\nprint(sys.argv)\n",
    "train.py": "import joblib\n",
    "evaluate.py": "import json\n",
}


class Writer:
    """Writes a project's files and records DVC's view of each (md5, size) as it goes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hashes: dict[str, dict[str, Any]] = {}
        root.mkdir(parents=True, exist_ok=True)

    def write(self, path: str, content: bytes, *, cache: bool = True) -> dict[str, Any]:
        """Write a file; with `cache`, also put it in the DVC cache as `dvc commit` would."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        md5 = hashlib.md5(content).hexdigest()
        if cache:
            _cache_object(self.root, md5, target)
        self.hashes[path] = {"hash": "md5", "md5": md5, "size": len(content)}
        return self.hashes[path]

    def record_large(self, path: str) -> dict[str, Any]:
        """Hash a file written elsewhere (streamed: it may be larger than memory) and cache it."""
        target = self.root / path
        digest = hashlib.md5()
        with target.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        _cache_object(self.root, digest.hexdigest(), target)
        entry = {"hash": "md5", "md5": digest.hexdigest(), "size": target.stat().st_size}
        self.hashes[path] = entry
        return entry

    def entry(self, path: str) -> dict[str, Any]:
        """A lock entry (`path`, `hash`, `md5`, `size`) for a file written before."""
        return {"path": path, **self.hashes[path]}


def _cache_object(root: Path, md5: str, source: Path) -> None:
    """Link the file into DVC 3's cache layout (`.dvc/cache/files/md5/ab/cdef...`)."""
    target = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)


def _init(root: Path) -> Writer:
    if not (root / ".dvc").is_dir():  # a second commit of the same project reuses the repo
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", str(root)], check=True)
        subprocess.run([str(BIN / "dvc"), "init", "--quiet"], cwd=root, check=True)
    writer = Writer(root)
    for name, text in CODE.items():
        writer.write(name, text.encode(), cache=False)
    raw = writer.write("data/raw.csv", b"x,y\n1,2\n")
    (root / "data" / "raw.csv.dvc").write_text(
        yaml.safe_dump({"outs": [{"md5": raw["md5"], "size": raw["size"], "hash": "md5",
                                  "path": "raw.csv"}]}, sort_keys=False)
    )  # fmt: skip
    (root / "data" / ".gitignore").write_text("/raw.csv\n")
    return writer


def commit(root: Path, message: str) -> str:
    """Commit everything (git ignores what DVC tracks); returns the commit id."""
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)
    subprocess.run(["git", *GIT_IDENTITY, "commit", "--quiet", "-m", message], cwd=root, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def _stage_lock(
    writer: Writer, cmd: str, deps: list[str], outs: list[str], params: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"cmd": cmd, "deps": [writer.entry(d) for d in sorted(deps)]}
    if params:
        entry["params"] = {"params.yaml": params}
    entry["outs"] = [writer.entry(o) for o in sorted(outs)]
    return entry


def _finish(
    writer: Writer, dvc_yaml: dict[str, Any], lock: dict[str, Any], params: dict[str, Any]
) -> None:
    root = writer.root
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "dvc.yaml").write_text(yaml.dump(dvc_yaml, Dumper=_Dumper, sort_keys=False))
    document = {"schema": "2.0", "stages": lock}
    (root / "dvc.lock").write_text(yaml.dump(document, Dumper=_Dumper, sort_keys=False))
    ignored = sorted({p for stage in lock.values() for p in (o["path"] for o in stage["outs"])})
    (root / ".gitignore").write_text("".join(f"/{p}\n" for p in ignored if p != "metrics.json"))


def _train_and_evaluate(
    writer: Writer,
    inputs: list[str],
    lock: dict[str, Any],
    stages: dict[str, Any],
    quality: float,
    model_bytes: int = 0,
) -> None:
    """The train stage reading `inputs` and writing the model, and evaluate writing metrics."""
    model = "models/model.joblib"
    # A real joblib file (bump scans pickles), of random bytes so that every commit differs.
    _write_joblib(writer.root / model, model_bytes or 1024)
    writer.record_large(model)
    stages["train"] = {
        "cmd": "python train.py",
        "deps": ["train.py", *inputs],
        "params": ["train.C"],
        "outs": [model],
    }
    lock["train"] = _stage_lock(
        writer, "python train.py", ["train.py", *inputs], [model], {"train.C": quality}
    )
    metrics = json.dumps({"accuracy": quality, "f1": quality / 2}).encode()
    writer.write("metrics.json", metrics, cache=False)
    stages["evaluate"] = {
        "cmd": "python evaluate.py",
        "deps": ["evaluate.py", model],
        "metrics": [{"metrics.json": {"cache": False}}],
    }
    lock["evaluate"] = _stage_lock(writer, "python evaluate.py", ["evaluate.py", model], [], None)
    lock["evaluate"]["outs"] = [writer.entry("metrics.json")]


def _write_joblib(path: Path, size: int) -> None:
    """A joblib file of about `size` bytes: a dict with one large uint8 array of random bytes."""
    import joblib
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    weights = np.frombuffer(os.urandom(size), dtype=np.uint8)
    joblib.dump({"weights": weights, "classes": ["stay", "churn"]}, path)


def chain(root: Path, stages: int, quality: float = 0.9) -> str:
    """A chain of `stages` stages (steps, then train, then evaluate); returns the commit."""
    writer = _init(root)
    definitions: dict[str, Any] = {}
    lock: dict[str, Any] = {}
    previous = "data/raw.csv"
    for i in range(stages - 2):
        out = f"out/s{i}.csv"
        writer.write(out, f"step {i}\n".encode())
        definitions[f"s{i}"] = {
            "cmd": f"python step.py {i}",
            "deps": ["step.py", previous],
            "params": ["chain.rate"],
            "outs": [out],
        }
        lock[f"s{i}"] = _stage_lock(
            writer, f"python step.py {i}", ["step.py", previous], [out], {"chain.rate": 0.5}
        )
        previous = out
    _train_and_evaluate(writer, [previous], lock, definitions, quality)
    document = {"stages": definitions, "artifacts": {"model": {"path": "models/model.joblib"}}}
    _finish(writer, document, lock, {"chain": {"rate": 0.5}, "train": {"C": quality}})
    return commit(root, f"a chain of {stages} stages")


def foreach(root: Path, items: int, quality: float = 0.9) -> str:
    """One `foreach` stage over `items` items, then train and evaluate; returns the commit."""
    writer = _init(root)
    names = [f"i{n}" for n in range(items)]
    lock: dict[str, Any] = {}
    outs = []
    for name in names:
        out = f"out/{name}.csv"
        writer.write(out, f"item {name}\n".encode())
        outs.append(out)
        cmd = f"python step.py {name}"
        lock[f"build@{name}"] = _stage_lock(
            writer, cmd, ["step.py", "data/raw.csv"], [out], {"rate": 0.5}
        )
    definitions: dict[str, Any] = {
        "build": {
            "foreach": names,
            "do": {
                "cmd": "python step.py ${item}",
                "deps": ["step.py", "data/raw.csv"],
                "params": ["rate"],
                "outs": ["out/${item}.csv"],
            },
        }
    }
    _train_and_evaluate(writer, outs, lock, definitions, quality)
    document = {"stages": definitions, "artifacts": {"model": {"path": "models/model.joblib"}}}
    params = {"rate": 0.5, "train": {"C": quality}}
    _finish(writer, document, lock, params)
    return commit(root, f"a foreach over {items} items, C={quality}")


def artifact(root: Path, size: int) -> str:
    """Train (one stage) writing a joblib model of `size` bytes, then evaluate."""
    writer = _init(root)
    definitions: dict[str, Any] = {}
    lock: dict[str, Any] = {}
    _train_and_evaluate(writer, ["data/raw.csv"], lock, definitions, 0.9, model_bytes=size)
    document = {"stages": definitions, "artifacts": {"model": {"path": "models/model.joblib"}}}
    _finish(writer, document, lock, {"train": {"C": 0.9}})
    return commit(root, f"a {size}-byte joblib model")


def directory(root: Path, files: int) -> str:
    """Train writing a directory artifact of `files` small files, hashed by `dvc commit`."""
    _init(root)
    folder = root / "models" / "model_dir"
    for n in range(files):
        shard = folder / f"shard{n // 1000:03d}"
        if n % 1000 == 0:
            shard.mkdir(parents=True, exist_ok=True)
        (shard / f"w{n}.txt").write_text(f"weight {n}\n")
    definitions = {
        "train": {
            "cmd": "python train.py",
            "deps": ["train.py", "data/raw.csv"],
            "params": ["train.C"],
            "outs": ["models/model_dir"],
        }
    }
    (root / "params.yaml").write_text(yaml.safe_dump({"train": {"C": 0.9}}))
    document = {"stages": definitions, "artifacts": {"model": {"path": "models/model_dir"}}}
    (root / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    subprocess.run([str(BIN / "dvc"), "commit", "--force", "--quiet"], cwd=root, check=True)
    return commit(root, f"a directory model of {files} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["chain", "foreach", "artifact", "directory"])
    parser.add_argument("size", type=int, help="stages, items, bytes or files")
    parser.add_argument("root", type=Path)
    args = parser.parse_args()
    os.environ["DVC_NO_ANALYTICS"] = "1"
    make = {"chain": chain, "foreach": foreach, "artifact": artifact, "directory": directory}
    print(make[args.kind](args.root, args.size))


if __name__ == "__main__":
    main()
