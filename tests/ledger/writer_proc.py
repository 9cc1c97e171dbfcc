"""A writer process for the multi-process tests: `python writer_proc.py DB RUN_ID STEPS`.

STEPS = 0 means 20,000: more than a test waits for before it kills the process.
Prints "ready" once its run is committed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from engine.ledger.owner import Owner
from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, EventType, RunStatus, StepStatus


async def main(path: Path, run_id: str, steps: int) -> None:
    async with await LedgerWriter.open(path) as w:
        step_ids = [f"s{i}" for i in range(steps or 20_000)]
        w.create_run(
            run_id=run_id,
            plan_hash="h",
            plan_name="proc",
            plan_version=None,
            plan_json="{}",
            plan_path=None,
            vars={},
            step_ids=step_ids,
            hook_ids=[],
            owner=Owner.current(),
            resumed_from=None,
            created_at=time.time(),
        )
        await w.flush()
        print("ready", flush=True)
        for i, step_id in enumerate(step_ids):
            now = time.time()
            w.step_ready(run_id=run_id, step_id=step_id, at=now)
            w.attempt_started(
                run_id=run_id,
                step_id=step_id,
                attempt=1,
                at=now,
                pid=i,
                log_path=None,
                retry_reason=None,
                delay_sec=None,
            )
            await asyncio.sleep(0)
            w.attempt_finished(
                run_id=run_id,
                step_id=step_id,
                attempt=1,
                at=time.time(),
                status=AttemptStatus.SUCCEEDED,
                error_code=None,
                exit_code=0,
                signal=None,
                output_tail="x" * 200,
                message=None,
            )
            w.step_status(
                run_id=run_id,
                step_id=step_id,
                status=StepStatus.SUCCEEDED,
                at=time.time(),
                event=EventType.STEP_SUCCEEDED,
                reason=None,
            )
            if i % 50 == 0:
                await w.flush()  # let commits interleave with the other process
        w.run_finished(
            run_id=run_id, status=RunStatus.SUCCEEDED, at=time.time(), error=None, exit_code=0
        )


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
