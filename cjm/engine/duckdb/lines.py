"""The lines of a file read in place: given by the events' row ids, written only if need be.

The one pass that makes the events of a file read in place (cjm.engine.duckdb.readers)
inserts its rows in file order, so an event's row id + 2 is its line until a row is removed:
a checkpoint may then compact the table and number the rows after it again. Writing every
row's line (an update of the whole table, compressed again after it) took 0.45 s of 11.6 s
at 10M events. So when no row goes and no line needs fixing, the events are the table
``event_rows`` under a view ``events`` whose ``_line`` is the row id + 2 (by_row_id());
otherwise the lines are written into the table (write()).
"""

from __future__ import annotations

from cjm.sql import sql_name

ROWS = "event_rows"


def write(con) -> None:
    """Write into the events table the lines of its rows, as inserted in file order."""
    con.execute("UPDATE events SET _line = rowid + 2")


def by_row_id(con) -> None:
    """Make the events a view of the table ``event_rows`` that gives each row its line from
    its row id, in place of the column ``_line`` (which is dropped): no row may have been
    removed from the table since it was filled."""
    con.execute(f"ALTER TABLE events RENAME TO {ROWS}")
    con.execute(f"ALTER TABLE {ROWS} DROP COLUMN _line")
    _view(con)


def drop_column(con, column: str) -> None:
    """Drop ``column`` from the events, be they a table or by_row_id()'s view."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                       "AND database_name = current_database()", [ROWS]).fetchall()[0][0]:
        con.execute(f"ALTER TABLE events DROP COLUMN {sql_name(column)}")
        return
    con.execute(f"ALTER TABLE {ROWS} DROP COLUMN {sql_name(column)}")
    _view(con)


def _view(con) -> None:
    """The view ``events`` of the table ``event_rows``: its columns, with ``_line`` after
    ``_file`` as in the events table."""
    columns = [name for name, *_ in con.execute(f"DESCRIBE {ROWS}").fetchall()]
    at = columns.index("_file") + 1
    select = [*map(sql_name, columns[:at]), "rowid + 2 AS _line",
              *map(sql_name, columns[at:])]
    con.execute(f"CREATE OR REPLACE VIEW events AS SELECT {', '.join(select)} FROM {ROWS}")
