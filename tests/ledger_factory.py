"""The fixed clock and engine owner the ledger and dashboard tests write their ledgers with."""

from __future__ import annotations

from engine.ledger.owner import Owner

T0 = 1_795_000_000.0  # 2026-11-18T07:46:40Z
OWNER = Owner(pid=4242, process_start_time=T0 - 5, host="testhost", boot_id="boot-1")
