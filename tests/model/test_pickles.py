"""The pickle scanner: unsafe globals are found in every container form without being loaded,
and a plain scikit-learn model has none."""

from __future__ import annotations

import pickle
import zipfile

import pytest
from conftest import Payload

from modelgit.model.pickles import scan


def test_a_plain_scikit_learn_model_passes(example_template):
    # Read in place, never written: the example's trained model, as `dvc repro` made it.
    assert scan(example_template / "models" / "churn.pkl") == []


@pytest.mark.parametrize("form", ["pickle", "joblib", "joblib-compressed", "torch-zip"])
def test_malicious_payloads_are_found_in_every_form(tmp_path, form):
    import joblib
    import numpy as np

    marker = tmp_path / "pwned"
    payload = {"weights": np.arange(1000), "hook": Payload(f"touch {marker}")}
    path = tmp_path / "model.bin"
    if form == "pickle":
        path.write_bytes(pickle.dumps(payload))
    elif form == "joblib":
        joblib.dump(payload, path)
    elif form == "joblib-compressed":
        joblib.dump(payload, path, compress=3)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model/data.pkl", pickle.dumps(payload))
            archive.writestr("model/version", "3\n")
    [finding] = scan(path)
    assert (finding.module, finding.name) == ("posix", "system")
    assert not marker.exists()  # scanning never executes the pickle
