"""`ledger-tui`: a live Textual dashboard over the engine's ledger (read-only, except cancel)."""
