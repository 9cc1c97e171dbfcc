"""A program blocked in the API on its main thread, for the Ctrl-C tests: prints JSON results.

`python -m tests.api.interrupted LEDGER one|loop|setup`: `one` runs one long plan with run_plan,
then a short one in a worker thread; `loop` runs two long plans at once with arun_plan; `setup`
prints `created` when its run is recorded but not yet committed (the test holds the ledger's write
lock, so the run is held there) and runs a long plan.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

import engine

LONG = {"name": "long", "steps": [{"id": "wait", "command": "sleep 120", "shell": True}]}
SHORT = {"name": "short", "steps": [{"id": "a", "command": "true", "shell": True}]}


def main(ledger: str, mode: str) -> None:
    if mode == "one":
        results: list[Any] = [engine.run_plan(LONG, ledger=ledger)]
        after: list[Any] = []
        worker = threading.Thread(
            target=lambda: after.append(engine.run_plan(SHORT, ledger=ledger))
        )
        worker.start()
        worker.join()
        results += after
    elif mode == "setup":

        def created(event: engine.RunEvent) -> None:
            if event.type == "run_created":
                print("created", flush=True)

        results = [engine.run_plan(LONG, ledger=ledger, on_event=created)]
    else:

        async def both() -> list[Any]:
            runs = (engine.arun_plan(LONG, ledger=ledger) for _ in range(2))
            return list(await asyncio.gather(*runs))

        results = asyncio.run(both())
    print(json.dumps([result.to_dict() for result in results]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
