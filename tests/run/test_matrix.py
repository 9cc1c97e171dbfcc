"""Matrix expansions when they run, in process: max_parallel, fail_fast, dependents and outputs."""

from __future__ import annotations

from pathlib import Path

from engine.run.recorder import RecordedEvent
from engine.run.scheduler import Scheduler
from engine.states import RunStatus
from tests.run.test_scheduler import run_plan, sh


def _peak(events: list[tuple[str | None, str]], members: set[str]) -> int:
    running = peak = 0
    for step_id, kind in events:
        if step_id in members:
            running += {"step_started": 1}.get(kind, 0)
            running -= kind in ("step_succeeded", "step_failed", "step_canceled")
            peak = max(peak, running)
    return peak


def test_max_parallel_limits_the_expansions_of_one_matrix_only(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            sh("t", "sleep 0.2", matrix={"n": [1, 2, 3, 4, 5], "max_parallel": 2}),
            sh("free", "sleep 0.2", matrix={"n": [1, 2, 3]}),
        ],
        max_concurrency=10,
    )
    assert ran.status is RunStatus.SUCCEEDED, ran.error
    events = [(e.step_id, e.type) for e in ran.events]
    assert _peak(events, {f"t[n={n}]" for n in range(1, 6)}) == 2
    assert ran.statuses == {
        **{f"t[n={n}]": "succeeded" for n in range(1, 6)},
        **{f"free[n={n}]": "succeeded" for n in range(1, 4)},
    }


def test_fail_fast_cancels_the_siblings_running_and_waiting(tmp_path: Path) -> None:
    started = tmp_path / "started"
    ran = run_plan(
        tmp_path,
        [
            # n=2 fails once n=1 runs, so fail_fast finds one sibling running and two waiting.
            sh(
                "t",
                f'if [ "${{matrix.n}}" = 2 ]; then while [ ! -e {started} ]; do sleep 0.01; done;'
                f" exit 3; fi; touch {started}; exec sleep 30",
                on_failure="continue",
                matrix={"n": [1, 2, 3, 4], "max_parallel": 2, "fail_fast": True},
            ),
            sh("other", "true"),
        ],
    )
    assert ran.status is RunStatus.PARTIAL
    assert ran.statuses == {
        "t[n=1]": "canceled", "t[n=2]": "failed", "t[n=3]": "canceled", "t[n=4]": "canceled",
        "other": "succeeded",
    }  # fmt: skip
    assert ran.attempts["t[n=3]"] == ran.attempts["t[n=4]"] == 0
    reasons = {e.step_id: e.data.get("reason") for e in ran.events if e.type == "step_canceled"}
    assert reasons["t[n=1]"] == reasons["t[n=4]"] == 'fail_fast: "t[n=2]" failed'


def test_without_fail_fast_the_siblings_go_on(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [sh("t", 'test "${matrix.n}" != 2', on_failure="continue", matrix={"n": [1, 2, 3]})],
    )
    assert ran.status is RunStatus.PARTIAL
    assert ran.statuses == {"t[n=1]": "succeeded", "t[n=2]": "failed", "t[n=3]": "succeeded"}


def test_a_dependent_starts_after_every_expansion_and_reads_their_outputs(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            sh(
                "t",
                'sleep 0.${matrix.n}; echo "v=${matrix.n}" >> "$ENGINE_OUTPUT"',
                provides=["v"],
                matrix={"n": [3, 1, 2]},
            ),
            sh(
                "sum",
                'test "$A$B$C" = 312',
                depends_on=["t"],
                env={
                    "A": "${steps.t[n=3].outputs.v}",
                    "B": "${steps.t[n=1].outputs.v}",
                    "C": "${steps.t[n=2].outputs.v}",
                },
            ),
        ],
    )
    assert ran.status is RunStatus.SUCCEEDED, ran.error
    order = [e.step_id for e in ran.events if e.type in ("step_succeeded",)]
    assert order[-1] == "sum" and set(order[:3]) == {"t[n=1]", "t[n=2]", "t[n=3]"}


def test_canceling_a_matrix_step_by_its_written_id_cancels_every_expansion(
    tmp_path: Path,
) -> None:
    def cancel_when_both_run(scheduler: Scheduler, event: RecordedEvent) -> None:
        if event.type == "step_started" and event.step_id is not None:
            started.add(event.step_id)
            if started >= {"t[n=1]", "t[n=2]"} and not canceled:
                canceled.append(scheduler.cancel_step("t"))

    started: set[str] = set()
    canceled: list[bool] = []
    ran = run_plan(
        tmp_path,
        [sh("t", "exec sleep 30", on_failure="continue", matrix={"n": [1, 2]}), sh("u", "true")],
        on_event=cancel_when_both_run,
    )
    assert canceled == [True]
    assert ran.statuses == {"t[n=1]": "canceled", "t[n=2]": "canceled", "u": "succeeded"}
