"""Command palette: jump to a run by id (or plan), besides the screen's own commands."""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.ledger.records import RunSummary
from ledger_tui.context import ScreenContext
from ledger_tui.history import read_history
from ledger_tui.messages import OpenRun

MATCHES = 10


class RunJumpProvider(Provider):
    """Offers the runs whose id (or plan, or status) matches what was typed."""

    async def _runs(self, text: str) -> list[RunSummary]:
        context = getattr(self.app, "context", None)
        reader = context.reader() if isinstance(context, ScreenContext) else None
        if reader is None:
            return []
        page = await asyncio.to_thread(read_history, reader, text, limit=MATCHES)
        return list(page.runs)

    def _open(self, run_id: str) -> None:
        self.app.post_message(OpenRun(run_id))

    def _label(self, run: RunSummary) -> str:
        return f"Open run {run.id}  {run.plan_name}  {run.status}"

    async def discover(self) -> Hits:
        for run in await self._runs(""):
            yield DiscoveryHit(self._label(run), partial(self._open, run.id), help="Recent run")

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
                partial(self._open, run.id),
                help="Jump to this run",
            )
