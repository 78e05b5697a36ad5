"""Persistence: tables, engine set-up, the tenant-scoped store, migrations."""
