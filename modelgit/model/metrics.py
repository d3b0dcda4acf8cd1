"""Metric names, directions and the key metric: how a model's metrics are read and ranked."""

from __future__ import annotations

import re
from typing import Any

from modelgit.sources.pipeline import Artifact
from modelgit.values import is_number

# Direction of common metric names when the artifact's meta does not say.
_LOWER = {
    "loss", "error", "err", "mse", "mae", "rmse", "mape", "msle", "latency", "time", "duration",
    "perplexity", "fpr", "fnr", "cost", "memory", "size", "logloss", "wer", "cer",
}  # fmt: skip
_HIGHER = {
    "accuracy", "acc", "f1", "auc", "roc", "precision", "recall", "r2", "map", "ndcg", "bleu",
    "rouge", "iou", "dice", "score", "tpr", "tnr", "specificity", "sensitivity", "throughput",
}  # fmt: skip


def directions_of(artifact: Artifact) -> dict[str, str]:
    """Metric directions the declaration states (`higher_is_better`, `lower_is_better`)."""
    directions = {}
    for key, direction in (("higher_is_better", "higher"), ("lower_is_better", "lower")):
        for name in artifact.meta.get(key) or []:
            directions[str(name)] = direction
    return directions


def direction_of(name: str, declared: dict[str, str]) -> str | None:
    """`higher` or `lower` is better for a metric: declared in meta, else guessed from its name."""
    leaf = name.rsplit(":", 1)[-1]
    for candidate in (name, leaf, leaf.rsplit(".", 1)[-1]):
        if candidate in declared:
            return declared[candidate]
    tokens = set(re.split(r"[._\-/ ]+", leaf.lower()))
    if tokens & _LOWER:
        return "lower"
    if tokens & _HIGHER:
        return "higher"
    return None


def key_metric(
    metrics: dict[str, Any], directions: dict[str, str], preferred: str | None = None
) -> str | None:
    """The metric to headline: the declared `key_metric`, else the first metric with a declared
    direction, else the first number whose name says its direction, else the first number."""
    if preferred and preferred in metrics:
        return preferred
    for name in directions:
        if name in metrics and is_number(metrics[name]):
            return name
    numeric = [name for name, value in metrics.items() if is_number(value)]
    known = [name for name in numeric if direction_of(name, directions) is not None]
    candidates = known or numeric
    return candidates[0] if candidates else None


def metric_names(keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Display names of (file, key) metrics: the key, or `file:key` when two files share it."""
    counts: dict[str, int] = {}
    for _, key in keys:
        counts[key] = counts.get(key, 0) + 1
    return {(file, key): key if counts[key] == 1 else f"{file}:{key}" for file, key in keys}


def merged_metrics(per_file: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every file's metrics in one flat mapping, named by `metric_names`."""
    keys = [(file, key) for file, values in per_file.items() for key in values]
    names = metric_names(keys)
    return {names[(file, key)]: per_file[file][key] for file, key in keys}
