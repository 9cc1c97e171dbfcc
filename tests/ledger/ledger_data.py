"""Constants the ledger tests share (a uniquely named module: every test folder has a conftest.py,
so `from conftest import ...` would pick up whichever one was imported first)."""

from __future__ import annotations

from engine.ledger.owner import Owner

T0 = 1_795_000_000.0  # 2026-11-18T07:46:40Z: a fixed clock so answers are exact
OWNER = Owner(pid=4242, process_start_time=T0 - 5, host="testhost", boot_id="boot-1")
