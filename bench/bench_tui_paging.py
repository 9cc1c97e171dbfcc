"""Navigation at scale: rows per second while PageDown is held, and `end` to the oldest run.

Builds (or reuses, `--keep PATH`) bench_tui.py's ledger of 10,000 runs and drives the real app
headless: PageDown pressed as fast as the app takes keys for `--seconds`, then the rows the cursor
advanced per second and the longest wait for one key (a stall: the cursor at the end of what is
loaded until the next page arrives); then `end` and the time until the oldest run is under the
cursor.
Usage: python bench/bench_tui_paging.py [--keep PATH] [--seconds S]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_tui import build

from engine.ledger.reader import LedgerReader
from ledger_tui.app import LedgerApp
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.widgets.live_table import LiveTable


async def hold_page_down(path: Path, seconds: float) -> tuple[float, float, int]:
    """(rows per second, longest key in seconds, rows reached)."""
    app = LedgerApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, RunsScreen) and app.screen.loaded):
            await asyncio.sleep(0.005)
        table = app.screen.query_one(LiveTable)
        start = time.perf_counter()
        longest = 0.0
        while time.perf_counter() - start < seconds:
            before = time.perf_counter()
            await pilot.press("pagedown")
            longest = max(longest, time.perf_counter() - before)
        elapsed = time.perf_counter() - start
        return table.cursor_row / elapsed, longest, table.cursor_row


async def end_to_oldest(path: Path) -> float:
    """Seconds from `end` until the oldest run is under the cursor."""
    with LedgerReader.open(path) as reader:
        every = reader.list_runs(limit=1_000_000)
    oldest = every[-1].id
    app = LedgerApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, RunsScreen) and app.screen.loaded):
            await asyncio.sleep(0.005)
        table = app.screen.query_one(LiveTable)
        start = time.perf_counter()
        await pilot.press("end")
        while table.selected_key != oldest:
            if time.perf_counter() - start > 120:
                raise SystemExit("end did not reach the oldest run within 120 s")
            await asyncio.sleep(0.005)
        return time.perf_counter() - start


def main() -> None:
    args = sys.argv[1:]
    keep = args[args.index("--keep") + 1] if "--keep" in args else None
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 10.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep) if keep else Path(tmp) / "framework.db"
        if not path.exists():
            build(path, 10_000)
        rate, longest, reached = asyncio.run(hold_page_down(path, seconds))
        print(
            f"holding PageDown for {seconds:.0f} s: {rate:,.0f} rows/s ({reached:,} rows),"
            f" longest key {longest * 1000:.0f} ms"
        )
        print(f"end to the oldest run: {asyncio.run(end_to_oldest(path)) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
