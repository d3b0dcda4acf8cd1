"""Score the model on the held-out split and write metrics.json."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from common import read_csv
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score


def main() -> None:
    """Write metrics.json."""
    model = pickle.loads(Path("models/churn.pkl").read_bytes())
    features, target = read_csv("data/test.csv")
    predicted = model.predict(features)
    scores = model.predict_proba(features)[:, 1]
    metrics = {
        "accuracy": round(float(accuracy_score(target, predicted)), 4),
        "f1": round(float(f1_score(target, predicted)), 4),
        "precision": round(float(precision_score(target, predicted)), 4),
        "recall": round(float(recall_score(target, predicted)), 4),
        "roc_auc": round(float(roc_auc_score(target, scores)), 4),
    }
    Path("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
