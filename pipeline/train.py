"""Fit a scaled logistic regression and write the model with its input schema."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from common import FEATURES, params, read_csv
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    """Write models/churn.pkl and models/schema.json."""
    p = params("train")
    features, target = read_csv("data/train.csv")
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=float(p["C"]), max_iter=int(p["max_iter"]))
    )
    model.fit(features, target)
    Path("models").mkdir(exist_ok=True)
    Path("models/churn.pkl").write_bytes(pickle.dumps(model))
    schema = {
        "inputs": [{"name": name, "type": "float"} for name in FEATURES],
        "outputs": [{"name": "churn_probability", "type": "float"}],
    }
    Path("models/schema.json").write_text(json.dumps(schema, indent=2) + "\n")


if __name__ == "__main__":
    main()
