"""What a screen may use of the dashboard, handed to it on construction (no Textual).

Screens get this instead of reaching into the app: the ledger, the shared reader, the clock,
a way to poll at once and the two requests it may write: cancel, and extend a timeout.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.ledger.control import request_cancel
from engine.ledger.reader import LedgerReader

Clock = Callable[[], float]


@dataclass(frozen=True)
class ScreenContext:
    """The dashboard's services for its screens."""

    ledger_path: Path
    clock: Clock  # time.time, frozen in tests
    reader: Callable[[], LedgerReader | None]  # the shared read-only connection, once open
    poll_now: Callable[[], None]  # run the next poll at once (after a filter changed)

    def request_cancel(self, run_id: str, step_id: str | None) -> None:
        """Ask the engine to cancel a run or one step (blocking: call from a worker thread).

        Raises UserError when the run is unknown or finished.
        """
        request_cancel(self.ledger_path, run_id, step_id, requested_by=_asker())

    def request_extend(self, run_id: str, step_id: str | None, by_sec: float) -> int:
        """Ask the engine to lengthen a run's or a step's timeout; the request's id (blocking).

        Raises UserError when the run is unknown or finished.
        """
        from engine.ledger.extend import request_extend

        return request_extend(
            self.ledger_path, run_id, step_id, by_sec=by_sec, until=None, requested_by=_asker()
        )


def _asker() -> str:
    return f"ledger-tui@{socket.gethostname()}:{os.getpid()}"
