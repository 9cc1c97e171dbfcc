"""Drive the dashboard on a ledger and try a cancel; print what it showed, as JSON.

Run by test_read_only.py inside a mount namespace where the ledger's directory is read-only,
which a test process itself cannot be put into.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, until_loaded, wait_for


async def main(ledger: Path) -> dict[str, Any]:
    app = make_app(ledger)
    notes: list[str] = []
    notify = app.notify

    def noting(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    app.notify = noting  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("enter")
        await until_loaded(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        run_id = app.screen.run_id
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(notes), timeout=30)
    return {"run_id": run_id, "notes": notes}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
