"""The DuckDB engine: logs read into a DuckDB database, and every aggregate in SQL."""
