"""docs/scenario.schema.json (`backstop schema`) under a complete draft-07 validator
(the `jsonschema` package): tests/schema.rs checks the same with its own small
validator; this one cross-checks it, keyword semantics included."""

from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")
tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "docs" / "scenario.schema.json"


def validator():
    import json

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def examples():
    files = sorted((REPO / "scenarios").rglob("*.toml")) + sorted((REPO / "benches").glob("*.toml"))
    assert len(files) >= 20, files
    return files


def test_every_example_scenario_validates():
    v = validator()
    failures = []
    for f in examples():
        doc = tomllib.loads(f.read_text())
        failures += [f"{f}: {'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(doc)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d.update(sed=1), "sed"),
    (lambda d: d.update(seed="seven"), "seven"),
    (lambda d: d.update(seed=-7), "-7"),
    (lambda d: d.update(venue="bitmax"), "bitmax"),
    (lambda d: d["path"].update(kind="lienar"), "lienar"),
    (lambda d: d["market"]["btc"].pop("tiers"), "tiers"),
])
def test_the_schema_rejects_what_the_parser_rejects(edit, needle):
    doc = tomllib.loads((REPO / "scenarios" / "linear-crash.toml").read_text())
    assert not list(validator().iter_errors(doc))
    edit(doc)
    errors = list(validator().iter_errors(doc))
    assert errors and any(needle in str(e) for e in errors), [e.message for e in errors]
