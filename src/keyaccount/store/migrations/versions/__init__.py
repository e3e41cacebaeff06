"""The revisions of the store's schema (Alembic scripts; Alembic skips this file)."""
