"""``cjm convert``: a log as Parquet, read once and then in seconds."""

from pathlib import Path
from typing import Annotated

import typer

import cjm.cli.options as options
from cjm.cli.common import OUTPUT, LogArgs, log_command, stderr, stdout
from cjm.errors import UsageError
from cjm.files import is_pattern


@log_command
def convert_command(
    args: LogArgs,
    output: Annotated[str, typer.Option(
        "-o", "--output", help="The Parquet file to write, or a database (duckdb:///, "
        "sqlite:///, postgresql://, adbc:DRIVER:URI) to write the new table --table to.",
        rich_help_panel=OUTPUT, metavar="FILE.parquet|URL", show_default=False)],
    parse_timestamps: Annotated[bool, typer.Option(
        "--parse-timestamps", help="Write the timestamp column as instants (TIMESTAMP WITH "
        "TIME ZONE), parsed as cjm reads them (format, --timezone, --dayfirst): for engines "
        "that read only ISO 8601, such as Spark.", rich_help_panel=OUTPUT)] = False,
    quiet: options.Quiet = False,
) -> None:
    """Convert a log to Parquet for repeated runs: every row as read (columns as text), in
    file order, with its original line in cjm_line, so that rejects still name the line of
    the original file.

    Example: cjm convert examples/shop.csv -o shop.parquet; or, for a table that is read
    often: cjm convert examples/shop.csv -o duckdb:///shop.duckdb --table events
    """
    from cjm.engine.duckdb.convert import convert, convert_to_table
    from cjm.render.terminal import notes_and_warnings
    from cjm.sources import DatabaseSource, is_database_url

    table = None
    if is_database_url(output):
        if not args.table:
            raise UsageError("-o URL: give --table NAME, the new table to write",
                             "e.g. cjm convert log.csv -o duckdb:///log.duckdb --table events")
        table, args.table = DatabaseSource(output, args.table), None  # --table: the target's
    elif Path(output).suffix.lower() != ".parquet":
        raise UsageError(f"-o {output}: cjm convert writes Parquet or a database table",
                         "Use -o FILE.parquet, or -o duckdb:///FILE.duckdb --table NAME.")
    if args.pseudonymize or args.min_journeys:
        # The file holds the rows as read: ids and rare rows alike. Privacy applies to results.
        raise UsageError("cjm convert copies the rows as they are; --pseudonymize and "
                         "--min-journeys apply to the commands that read the Parquet file")
    if len(args.paths) != 1 or is_pattern(args.paths[0]):
        raise UsageError("cjm convert takes one file",
                         "Convert each file to its own Parquet file; read them together "
                         "later (cjm discover 'logs/*.parquet').")
    with args.read(keep_rows=True) as log:
        done = (convert_to_table(log, table, parse_timestamps) if table
                else convert(log, output, parse_timestamps))
    if not quiet:
        columns = (f"every column as text but {log.mapping.column('timestamp')!r} (parsed as "
                   f"{log.timestamp_format.description})" if parse_timestamps else
                   "every column as text")
        _summary(done, log.rejected, columns)
    for line in notes_and_warnings(log):
        stderr().print(line)
    args.check_strict(log)


def _summary(done, rejected: int, columns: str) -> None:
    """What was written, and which rows will be rejected again or were left out."""
    from cjm.units import format_counted

    stdout().print(f"Wrote {done.target}: {format_counted(done.rows, 'rows')}, {columns}, in "
                   "file order, each with its original line (cjm_line)", markup=False,
                   highlight=False)
    again = rejected - done.unreadable
    if again:
        were = "was" if again == 1 else "were"
        stdout().print(f"{format_counted(again, 'rows')} in the file {were} rejected as read and "
                       "will be again, "
                       "at the same lines (--rejects FILE.csv says why)", markup=False,
                       highlight=False)
    if done.unreadable:
        are = "is" if done.unreadable == 1 else "are"
        stdout().print(f"{format_counted(done.unreadable, 'rows')} could not be split into "
                       f"fields and {are} not in the file", markup=False, highlight=False)
