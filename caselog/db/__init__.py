"""Storage: the tables, the engine set-up for SQLite and PostgreSQL, and the schema migrations."""
