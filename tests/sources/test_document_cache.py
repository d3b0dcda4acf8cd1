"""The document cache keeps only what JSON gives back exactly; the rest is parsed again."""

from __future__ import annotations

import datetime
import math

from modelgit.sources import document_cache


def test_only_documents_json_carries_exactly_are_kept(tmp_path):
    (tmp_path / ".git").mkdir()
    plain = {"model": "m", "metrics": {"f1": 0.5, "n": 3}, "data": [{"path": "a", "ok": True}]}
    entries = {
        "plain": [plain, False],
        "signed": [{"model": "m", "labels": [], "meta": {}}, True],
        "number key": [{"model": "m", "params": {1: "one"}}, False],
        "deep number key": [{"model": "m", "data": [{"x": {2.5: "y"}}]}, False],
        "timestamp": [{"model": "m", "created_at": datetime.date(2026, 1, 1)}, False],
        "not a number": [{"model": "m", "metrics": {"loss": math.nan}}, False],
        "infinite": [{"model": "m", "metrics": {"loss": -math.inf}}, False],  # not JSON either
    }
    document_cache.save(tmp_path, "m", entries)
    assert document_cache.load(tmp_path, "m") == {
        "plain": [plain, False],
        "signed": entries["signed"],
    }
    document_cache.save(tmp_path, "m", {"plain": [plain, False]})  # all exact: one encoding
    assert document_cache.load(tmp_path, "m") == {"plain": [plain, False]}
