"""Generate a deterministic synthetic churn data set and split it into train and test."""

from __future__ import annotations

import numpy as np
from common import params, write_csv


def generate(n_samples: int, seed: int) -> np.ndarray:
    """Customers whose churn odds fall with tenure and contract length and rise with calls."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, n_samples)
    monthly = rng.uniform(20, 120, n_samples).round(2)
    total = (tenure * monthly + rng.normal(0, 30, n_samples)).clip(0).round(2)
    contract = rng.choice([1, 12, 24], n_samples, p=[0.5, 0.3, 0.2])
    calls = rng.poisson(1.5, n_samples)
    fiber = rng.integers(0, 2, n_samples)
    logit = -1.0 - 0.05 * tenure + 0.02 * monthly + 0.45 * calls - 0.06 * contract + 0.7 * fiber
    churned = rng.random(n_samples) < 1 / (1 + np.exp(-logit))
    return np.column_stack([tenure, monthly, total, contract, calls, fiber, churned])


def main() -> None:
    """Write data/train.csv and data/test.csv."""
    p = params("prepare")
    table = generate(int(p["n_samples"]), int(p["seed"]))
    n_test = int(len(table) * float(p["test_size"]))
    write_csv("data/test.csv", table[:n_test])
    write_csv("data/train.csv", table[n_test:])


if __name__ == "__main__":
    main()
