"""Quoting for SQL text: the DuckDB engine's queries, and the timestamp formats (DuckDB's
strptime) that every engine detects on a sample."""


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
