"""What a consumer must change between two versions: the migration guide of a major bump."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelgit.values import TextEnum


class Migration(TextEnum):
    """How one input or output changed, as a consumer of the model sees it."""

    REMOVED = "removed"
    RENAMED = "renamed"
    RETYPED = "retyped"
    ADDED = "added"


@dataclass(frozen=True)
class MigrationNote:
    """One change a consumer must make: a feature or output removed, renamed, retyped or added."""

    kind: str  # input | output
    change: Migration
    name: str
    new_name: str | None = None
    old_type: str | None = None
    new_type: str | None = None

    @property
    def text(self) -> str:
        """The note as one sentence."""
        what = "feature" if self.kind == "input" else "output"
        if self.change is Migration.RENAMED:
            return f"{what} `{self.name}` is now `{self.new_name}` (same position and type)"
        if self.change is Migration.RETYPED:
            return f"{what} `{self.name}` changed type: {self.old_type} -> {self.new_type}"
        if self.change is Migration.REMOVED:
            return f"{what} `{self.name}` was removed: stop sending it"
        if self.kind == "input":
            return f"feature `{self.name}` ({self.new_type or 'untyped'}) is new: send it"
        return f"output `{self.name}` ({self.new_type or 'untyped'}) is new"


def _fields(metadata: dict[str, Any], kind: str) -> list[tuple[str, str | None]]:
    """(name, type) of a version's inputs or outputs, in their declared order."""
    signature = metadata.get("schema_signature") or {}
    items = signature.get(f"{kind}s") if isinstance(signature, dict) else None
    if not items and kind == "input":
        items = metadata.get("features") or []
    fields = []
    for item in items or []:
        if isinstance(item, dict):
            kind_type = item.get("type")
            fields.append((str(item.get("name")), None if kind_type is None else str(kind_type)))
        else:
            fields.append((str(item), None))
    return fields


def _compare(
    kind: str, old: list[tuple[str, str | None]], new: list[tuple[str, str | None]]
) -> list[MigrationNote]:
    old_types, new_types = dict(old), dict(new)
    notes: list[MigrationNote] = []
    renamed_to: dict[str, str] = {}
    # A rename is a name that left and another that arrived at the same position, same type.
    for position, (name, kind_type) in enumerate(old):
        if name in new_types or position >= len(new):
            continue
        arrived, arrived_type = new[position]
        if arrived not in old_types and arrived_type == kind_type:
            renamed_to[name] = arrived
    for name, kind_type in old:
        if name in renamed_to:
            notes.append(MigrationNote(kind, Migration.RENAMED, name, renamed_to[name], kind_type))
        elif name not in new_types:
            notes.append(MigrationNote(kind, Migration.REMOVED, name, old_type=kind_type))
        elif new_types[name] != kind_type:
            notes.append(
                MigrationNote(kind, Migration.RETYPED, name, None, kind_type, new_types[name])
            )
    arrivals = set(renamed_to.values())
    for name, kind_type in new:
        if name not in old_types and name not in arrivals:
            notes.append(MigrationNote(kind, Migration.ADDED, name, new_type=kind_type))
    return notes


def migration_notes(old: dict[str, Any], new: dict[str, Any]) -> list[MigrationNote]:
    """What changed in the inputs and outputs from one version's metadata to the next's.

    >>> old = {"schema_signature": {"inputs": [{"name": "age", "type": "int"},
    ...     {"name": "plan", "type": "str"}], "outputs": [{"name": "p", "type": "float"}]}}
    >>> new = {"schema_signature": {"inputs": [{"name": "age_years", "type": "int"},
    ...     {"name": "plan", "type": "int"}], "outputs": [{"name": "p", "type": "float"}]}}
    >>> for note in migration_notes(old, new):
    ...     print(note.text)
    feature `age` is now `age_years` (same position and type)
    feature `plan` changed type: str -> int
    """
    notes = []
    for kind in ("input", "output"):
        notes.extend(_compare(kind, _fields(old, kind), _fields(new, kind)))
    return notes
