"""The ledger: the only code that owns SQL (schema, migrations, the writer, the read API)."""
