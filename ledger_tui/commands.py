"""Command palette: jump to a run by id (or plan), besides the screen's own commands."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.ledger.records import RunSummary
from ledger_tui.history import read_history

if TYPE_CHECKING:
    from ledger_tui.app import LedgerApp

MATCHES = 10


class RunJumpProvider(Provider):
    """Offers the runs whose id (or plan, or status) matches what was typed."""

    @property
    def ledger_app(self) -> LedgerApp:
        from ledger_tui.app import LedgerApp

        assert isinstance(self.app, LedgerApp)
        return self.app

    async def _runs(self, text: str) -> list[RunSummary]:
        reader = self.ledger_app.ledger_watch.reader
        if reader is None:
            return []
        page = await asyncio.to_thread(read_history, reader, text, limit=MATCHES)
        return list(page.runs)

    def _label(self, run: RunSummary) -> str:
        return f"Open run {run.id}  {run.plan_name}  {run.status}"

    async def discover(self) -> Hits:
        for run in await self._runs(""):
            yield DiscoveryHit(
                self._label(run), partial(self.ledger_app.open_run, run.id), help="Recent run"
            )

    async def search(self, query: str) -> Hits:
        text = query.strip().removeprefix("run ").strip()
        if not text:
            return
        matcher = self.matcher(query)
        for run in await self._runs(text):
            label = self._label(run)
            score = matcher.match(label) or 0.5
            yield Hit(
                score,
                matcher.highlight(label),
                partial(self.ledger_app.open_run, run.id),
                help="Jump to this run",
            )
