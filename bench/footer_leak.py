"""Textual's Footer keeps every FooterKey it ever composed: a reproduction for the upstream report.

Each FooterKey binds `compact` to its Footer (`data_bind`), which adds a watcher to the Footer's
watcher list; a recompose (on every screen switch) removes the keys but not their watchers, which
are pruned only when `compact` changes, so the removed keys stay reachable. Usage:
python bench/footer_leak.py [SWITCHES]; prints the watcher count and traced memory, which grow.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc

from textual.app import App
from textual.screen import Screen
from textual.widgets import Footer


class Mode(Screen[None]):
    BINDINGS = [("a", "bell", "Alpha"), ("b", "bell", "Beta"), ("c", "bell", "Gamma")]  # noqa: RUF012

    def compose(self):  # type: ignore[no-untyped-def]
        yield Footer()


class Modes(App[None]):
    MODES = {"one": Mode, "two": Mode, "three": Mode}  # noqa: RUF012


async def main(switches: int) -> None:
    app = Modes()
    async with app.run_test() as pilot:
        await app.switch_mode("one")
        tracemalloc.start()
        for i in range(switches + 1):
            if i % 100 == 0:
                await pilot.pause(0.2)
                gc.collect()
                watchers = getattr(app.screen.query_one(Footer), "__watchers")["compact"]
                size = tracemalloc.get_traced_memory()[0] / 1e6
                print(f"{i:5d} switches: {len(watchers):5d} compact watchers, {size:.1f} MB")
            await app.switch_mode(("one", "two", "three")[i % 3])
            await pilot.pause()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
