"""The migration guide: what a consumer changes when inputs or outputs change."""

from __future__ import annotations

from modelgit.analysis.migration import Migration, migration_notes


def signature(inputs, outputs=()):
    return {
        "schema_signature": {
            "inputs": [{"name": n, "type": t} for n, t in inputs],
            "outputs": [{"name": n, "type": t} for n, t in outputs],
        }
    }


def test_removed_renamed_retyped_added_and_outputs():
    old = signature([("age", "int"), ("plan", "str"), ("spend", "float")], [("p", "float")])
    new = signature(
        [("age_years", "int"), ("plan", "int"), ("region", "str")], [("p", "float"), ("q", "int")]
    )
    notes = {(n.kind, n.change, n.name) for n in migration_notes(old, new)}
    assert notes == {
        ("input", Migration.RENAMED, "age"),
        ("input", Migration.RETYPED, "plan"),
        ("input", Migration.REMOVED, "spend"),
        ("input", Migration.ADDED, "region"),
        ("output", Migration.ADDED, "q"),
    }


def test_a_new_name_of_another_type_is_a_removal_and_an_addition():
    notes = migration_notes(signature([("age", "int")]), signature([("age_s", "str")]))
    assert [(n.change, n.name) for n in notes] == [
        (Migration.REMOVED, "age"),
        (Migration.ADDED, "age_s"),
    ]


def test_features_without_types_and_no_change():
    old = {"features": ["a", "b"]}
    assert migration_notes(old, {"features": ["a", "b"]}) == []
    assert [n.change for n in migration_notes(old, {"features": ["a"]})] == [Migration.REMOVED]
