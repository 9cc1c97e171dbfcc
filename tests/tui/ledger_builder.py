"""A small, deterministic ledger for the dashboard tests, written through the real LedgerWriter."""

from __future__ import annotations

from pathlib import Path

from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from tests.ledger_factory import T0, LedgerFactory, chain_plan

NOW = T0 + 3600.0  # the frozen clock the app is given
RELEASE = ["setup", "test", "merge"]
ACTIVE_RUN = "1m00activeaaa"
FAILED_RUN = "1m00failedbbb"
RELEASE_PLAN = chain_plan("release", RELEASE)  # each step depends on the one before


def ok_run(b: LedgerFactory, run_id: str, plan: str, at: float, seconds: list[float]) -> None:
    steps = RELEASE if plan == "release" else [f"s{i}" for i in range(len(seconds))]
    b.create(run_id, plan, steps, at, document=chain_plan(plan, steps))
    t = at
    for step, sec in zip(steps, seconds, strict=True):
        t = b.attempt(run_id, step, t, sec)
    b.end(run_id, RunStatus.SUCCEEDED, t)


async def build_ledger(path: Path) -> None:
    """Six finished runs over the last hour (succeeded, retried, failed, canceled), one active."""
    async with await LedgerWriter.open(path) as w:
        b = LedgerFactory(w, logs=path.parent / "logs", measured=True)
        ok_run(b, "1m00okaaaaaa1", "release", T0, [1.0, 2.0, 3.0])
        ok_run(b, "1m00okaaaaaa2", "release", T0 + 600, [1.5, 2.5, 3.5])
        ok_run(b, "1m00nightly01", "nightly", T0 + 900, [10.0, 20.0])
        # A retried step that then succeeded.
        b.create("1m00retryccc3", "release", RELEASE, T0 + 1200, document=RELEASE_PLAN)
        b.attempt("1m00retryccc3", "setup", T0 + 1200, 1)
        b.attempt("1m00retryccc3", "test", T0 + 1201, 2, ok=False, final=False)
        b.attempt("1m00retryccc3", "test", T0 + 1204, 2, attempt=2)
        b.attempt("1m00retryccc3", "merge", T0 + 1206, 1)
        b.end("1m00retryccc3", RunStatus.SUCCEEDED, T0 + 1207)
        # A failed run: test fails, merge is skipped.
        b.create(FAILED_RUN, "release", RELEASE, T0 + 1800, document=RELEASE_PLAN)
        b.attempt(FAILED_RUN, "setup", T0 + 1800, 1)
        b.start(FAILED_RUN, "test", T0 + 1801, text="running tests\nFAILED test_merge\n")
        b.finish(FAILED_RUN, "test", T0 + 1804, ok=False)
        b.skip(FAILED_RUN, "merge", T0 + 1804, "dependency test failed")
        b.end(FAILED_RUN, RunStatus.FAILED, T0 + 1804, error="step test failed")
        # A canceled run.
        b.create("1m00canceledd", "nightly", ["s0", "s1"], T0 + 2400)
        b.attempt("1m00canceledd", "s0", T0 + 2400, 2)
        b.end(
            "1m00canceledd", RunStatus.CANCELED, T0 + 2403, error="canceled by user", exit_code=130
        )
        # The active run: setup done, test running for 3 s with some output.
        b.create(ACTIVE_RUN, "release", RELEASE, NOW - 5, document=RELEASE_PLAN)
        b.attempt(ACTIVE_RUN, "setup", NOW - 5, 2)
        lines = "".join(f"test line {i}\n" for i in range(1, 41))
        b.start(ACTIVE_RUN, "test", NOW - 3, text=lines)
