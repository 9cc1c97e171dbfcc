"""Plan tags and plan and step metadata: stored with the plan, `engine runs --tag`, `engine show`,
and the dashboard's `tag:` filter and plan tab (docs/plans.md, "Tags and metadata")."""

from __future__ import annotations

import json

from engine.ledger.reader import LedgerReader
from ledger_tui.history import read_history
from ledger_tui.widgets.run_texts import plan_text
from tests.e2e.conftest import Engine
from tests.e2e.test_json_shapes import check

METADATA = {"owner": "platform-team", "links": {"runbook": "https://example.invalid/rb"}}


def _runs(engine: Engine) -> dict[str, str]:
    """Run a tagged plan with metadata, an untagged one, and the tagged one again."""
    tagged = engine.plan(
        [
            {"id": "a", "command": "true", "metadata": {"ticket": "OPS-42", "n": [1, None]}},
            {"id": "b", "command": "true", "depends_on": ["a"]},
        ],
        name="tagged",
        tags=["nightly", "db"],
        metadata=METADATA,
    )
    ids = {}
    for name, path in (("first", tagged), ("plain", engine.plan([{"id": "x", "command": "true"}]))):
        result = engine.run("run", path)
        assert result.returncode == 0, result.stdout + result.stderr
        ids[name] = engine.last_run().id
    assert engine.run("run", tagged).returncode == 0
    ids["second"] = engine.last_run().id
    return ids


def test_runs_filters_by_tag_and_every_run_shows_its_plans_tags(engine: Engine) -> None:
    ids = _runs(engine)
    listed = engine.run("runs", "--tag", "db", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [run["id"] for run in runs] == [ids["second"], ids["first"]]
    for run in runs:
        check(run, "run")
        assert run["tags"] == ["nightly", "db"]
    assert json.loads(engine.run("runs", "--tag", "nope", "--json").stdout) == []
    everything = json.loads(engine.run("runs", "--json").stdout)
    assert {run["id"]: run["tags"] for run in everything}[ids["plain"]] == []
    table = engine.run("runs", "--tag", "nightly").stdout
    assert ids["first"] in table and ids["plain"] not in table


def test_show_gives_the_plan_and_step_metadata(engine: Engine) -> None:
    ids = _runs(engine)
    result = engine.run("show", ids["first"], "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    check(shown, "show")
    assert shown["run"]["metadata"] == METADATA
    assert shown["run"]["tags"] == ["nightly", "db"]
    assert {s["step_id"]: s["metadata"] for s in shown["steps"]} == {
        "a": {"ticket": "OPS-42", "n": [1, None]},
        "b": {},
    }
    plain = json.loads(engine.run("show", ids["plain"], "--json").stdout)
    assert (plain["run"]["metadata"], plain["run"]["tags"]) == ({}, [])
    text = engine.run("show", ids["first"]).stdout
    assert "tags      nightly, db" in text
    assert '"owner": "platform-team"' in text


def test_the_dashboard_filters_by_tag_and_shows_them_in_the_plan_tab(engine: Engine) -> None:
    ids = _runs(engine)
    with LedgerReader.open(engine.ledger_path) as reader:
        page = read_history(reader, "tag:nightly", limit=10)
        assert [run.id for run in page.runs] == [ids["second"], ids["first"]]
        assert read_history(reader, "TAG: db", limit=1).next_before == ids["second"]
        assert read_history(reader, "tag:other", limit=10).runs == ()
        detail = reader.get_run(ids["first"])
        plain = reader.get_run(ids["plain"])
    assert detail is not None and plain is not None
    head = plan_text(detail).split("\n\n")[0]  # above the whole plan
    assert "\ntags  nightly, db\nmetadata  {\n    " in head
    assert '\n    "owner": "platform-team"\n  }' in head
    assert "tags" not in plan_text(plain).split("\n\n")[0]
