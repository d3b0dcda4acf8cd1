"""A version's upstream data in bounded form: external inputs in full, intermediates bounded.

External inputs are the DVC-tracked files no stage of the pipeline writes (`dvc add`ed data,
imports): what a version was built from, always listed path by path in `data`. Intermediate
outputs are what the upstream stages wrote on the way to the model. A pipeline of a few stages
lists them in `data` too; past `LISTED_INTERMEDIATE_MAX` of them (a pipeline of thousands of
stages) they follow from the inputs, params and code, so the metadata records only their count
and one digest over their paths and md5s as `intermediate: {count, sha256}`. The document then
grows with the inputs, not with the pipeline's length, and `verify` still catches any
intermediate output that differs from dvc.lock.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelgit.sources.pipeline import FileEntry, Pipeline

LISTED_INTERMEDIATE_MAX = 100  # about 83 bytes each in the tag message


def split(pipe: Pipeline, data: dict[str, FileEntry]) -> tuple[list[FileEntry], list[FileEntry]]:
    """(external inputs, intermediate outputs) of a model's upstream data, each sorted by path."""
    external = [entry for path, entry in sorted(data.items()) if pipe.producer(path) is None]
    intermediate = [entry for path, entry in sorted(data.items()) if pipe.producer(path)]
    return external, intermediate


def listed(entries: list[FileEntry]) -> list[dict[str, Any]]:
    """The metadata's `data` list: path, md5 and size of each entry."""
    return [{"path": e.path, "md5": e.md5, "size": e.size} for e in entries]


def summary(entries: list[FileEntry]) -> dict[str, Any]:
    """The metadata's `intermediate` record: how many, and sha256 over sorted (path, md5) pairs.

    >>> summary([FileEntry("out/b.csv", "2" * 32), FileEntry("out/a.csv", "1" * 32)])["count"]
    2
    """
    pairs = sorted((e.path, e.md5 or "") for e in entries)
    canonical = json.dumps(pairs, separators=(",", ":"))
    return {"count": len(pairs), "sha256": hashlib.sha256(canonical.encode()).hexdigest()}


def recorded(
    pipe: Pipeline, data: dict[str, FileEntry], *, list_all: bool = False
) -> tuple[list[dict[str, Any]], Any]:
    """The metadata's `data` list, and its `intermediate` summary (None when all are listed).

    `list_all` lists every intermediate whatever their number: the form tags written before the
    bound took, which `verify` must still be able to confirm.
    """
    external, intermediate = split(pipe, data)
    if list_all or len(intermediate) <= LISTED_INTERMEDIATE_MAX:
        return listed(sorted(external + intermediate, key=lambda e: e.path)), None
    return listed(external), summary(intermediate)
