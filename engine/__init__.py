"""A local-first plan engine: JSON plans of subprocess steps, recorded in a SQLite ledger."""

__version__ = "0.1.0"
