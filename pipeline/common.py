"""Shared by the example stages: the feature list and CSV helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "contract_months",
    "support_calls",
    "has_fiber",
]
TARGET = "churned"


def params(section: str) -> dict:
    """One section of params.yaml."""
    return yaml.safe_load(Path("params.yaml").read_text())[section]


def write_csv(path: str, table: np.ndarray) -> None:
    """Write rows with the feature header and the target column."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    header = ",".join([*FEATURES, TARGET])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.6g")


def read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and target of a CSV that write_csv wrote."""
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)
