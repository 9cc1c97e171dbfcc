"""What the Stats view reads: how runs went over a window of time, and the circuit breakers
open now (no Textual)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.ledger.circuits import CircuitReport
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Stats
from ledger_tui.queries import Clock, Query

WINDOWS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
BUCKETS = 48
SLIDE_SEC = 30.0  # refetch stats at least this often so the window moves with the clock


@dataclass(frozen=True)
class StatsPayload:
    window: str
    stats: Stats
    circuits: tuple[CircuitReport, ...] = ()
    now: float = 0.0


class StatsQuery(Query[str, StatsPayload]):
    """How runs went over a window of time (params: "1h", "24h" or "7d")."""

    def __init__(self, clock: Clock) -> None:
        super().__init__("24h")
        self._clock = clock
        self._fetched_at = 0.0

    def wants(self, version: int) -> bool:
        return self._clock() - self._fetched_at > SLIDE_SEC or super().wants(version)

    def read(self, reader: LedgerReader, params: str) -> StatsPayload:
        now = self._clock()
        self._fetched_at = now
        stats = reader.stats(now - WINDOWS[params], until=now, buckets=BUCKETS, top=8)
        return StatsPayload(params, stats, tuple(reader.circuits(now)), now)
