"""modelgit lineage/impact side by side with `dvc dag --dot` on a generated 1,000-stage dvc.yaml.

    python bench/lineage_bench.py --chains 10 --length 100 --repeat 3

The pipeline is `chains` chains of `length` stages; every tenth stage also reads the previous
chain's output at that depth (fan-in), and a final `train` stage reads every chain's end and
produces the model. Every stage declares a param.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from timing import BIN, timed


def generate(root: Path, chains: int, length: int) -> int:
    """Write the project; returns the number of stages."""
    stages: dict[str, dict] = {}
    for c in range(chains):
        for i in range(length):
            deps = [f"data/raw_{c}.csv"] if i == 0 else [f"out/c{c}_s{i - 1}.csv"]
            if i and i % 10 == 0 and c:
                deps.append(f"out/c{c - 1}_s{i}.csv")
            stages[f"c{c}_s{i}"] = {
                "cmd": f"python step.py {c} {i}",
                "deps": ["step.py", *deps],
                "params": [f"chain{c}.rate"],
                "outs": [f"out/c{c}_s{i}.csv"],
            }
    stages["train"] = {
        "cmd": "python train.py",
        "deps": ["train.py", *(f"out/c{c}_s{length - 1}.csv" for c in range(chains))],
        "outs": ["models/model.bin"],
    }
    document = {"stages": stages, "artifacts": {"model": {"path": "models/model.bin"}}}
    root.mkdir(parents=True)
    (root / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    (root / "params.yaml").write_text(
        yaml.safe_dump({f"chain{c}": {"rate": 0.1 * c} for c in range(chains)})
    )
    for name in ("step.py", "train.py"):
        (root / name).write_text("pass\n")
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    subprocess.run([str(BIN / "dvc"), "init", "--quiet"], cwd=root, check=True)
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit",
         "--quiet", "-m", "generated pipeline"],
        cwd=root, check=True,
    )  # fmt: skip
    return len(stages)


def run(chains: int, length: int, repeat: int) -> list[str]:
    """Generate, time, and return the Markdown rows."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgit-lineage-bench-"))
    os.environ["DVC_NO_ANALYTICS"] = "1"
    try:
        root = workdir / "project"
        count = generate(root, chains, length)
        modelgit = str(BIN / "modelgit")
        peer = timed([str(BIN / "dvc"), "dag", "--dot"], root, repeat)
        rows = [
            f"{count} stages ({chains} chains x {length}, fan-in every 10th stage); median of "
            f"{repeat}; `dvc dag --dot` {peer:.3f} s",
            "",
            "| command | modelgit s | dvc dag --dot s | dvc / modelgit |",
            "|---|---|---|---|",
        ]
        cases = [
            ("lineage --format dot", [modelgit, "lineage", "model", "--format", "dot"]),
            ("lineage (tree)", [modelgit, "lineage", "model"]),
            ("impact data/raw_0.csv", [modelgit, "impact", "data/raw_0.csv"]),
            ("impact chain0.rate", [modelgit, "impact", "chain0.rate"]),
        ]
        for label, command in cases:
            mine = timed(command, root, repeat)
            rows.append(f"| {label} | {mine:.3f} | {peer:.3f} | {peer / mine:.1f}x |")
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=10)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.chains, args.length, args.repeat)))


if __name__ == "__main__":
    main()
