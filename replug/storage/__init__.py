"""The data layer: one set of tables and queries that runs on SQLite and PostgreSQL."""
