"""The household ledger: the hash chain (pure), the append-only guard, and the entries use cases write and read."""
