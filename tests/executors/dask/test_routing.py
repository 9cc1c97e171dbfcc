"""Which steps of a plan stay on the engine's host, which resources the others ask for, and which
of them need the sealing key."""

from __future__ import annotations

from engine.executors.dask.routing import Placement
from engine.plan.model import Plan as PlanModel
from engine.plan.spec import plan_from_dict


def test_the_placement_of_a_plans_steps_and_hooks() -> None:
    document = {
        "name": "p",
        "secrets": ["TOKEN"],
        "steps": [
            {"id": "train", "command": "true", "resources": {"gpu": 1}, "secrets": ["TOKEN"]},
            {"id": "push", "command": "true", "executor": "local", "secrets": ["TOKEN"],
             "resources": {"gpu": 1}},
            {"id": "plain", "command": "true"},
        ],
        "on_exit": [{"id": "notify", "command": "true", "executor": "local"}],
    }  # fmt: skip
    plan = plan_from_dict(PlanModel.model_validate(document).model_dump(by_alias=True))
    placement = Placement.of(plan, set_secrets=["TOKEN"])
    assert placement.local == {"push", "notify"}
    assert placement.resources == {"train": {"gpu": 1}}  # a local step's are not asked for
    assert placement.secret_steps == ("train",)  # a local step's secrets never leave the host
    # A secret without a value this run (an optional one, unset) is never sent: nothing to seal.
    assert Placement.of(plan, set_secrets=[]).secret_steps == ()
