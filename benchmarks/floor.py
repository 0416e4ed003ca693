"""The floor of the 10M target: DuckDB alone parsing the columns cjm maps into a table.

    python benchmarks/floor.py LOG.csv --case journey_id --show     # the mapped columns
    python benchmarks/floor.py LOG.csv --columns journey_id,stage,...   # the floor itself

``--show`` prints the columns that ``cjm discover LOG --case journey_id`` maps (cjm's own
mapping, so that no column no role takes slips in); the floor is then timed with them, in a
process that imports nothing of cjm:

    CREATE TABLE t AS SELECT <the columns> FROM read_csv(LOG, header=true, all_varchar=true)
"""

from __future__ import annotations

import argparse
import csv


def mapped(log: str, case: str | None) -> list[str]:
    from cjm.accounting import given_roles
    from cjm.config import Config
    from cjm.schema import mapped_columns

    with open(log, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    kept = mapped_columns(given_roles({"case": case} if case else None, Config()))(header)
    if kept is None:
        raise SystemExit(f"{log}: cjm cannot map its columns; pass --case")
    return kept.columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log")
    parser.add_argument("--case", help="the journey id's column, as given to cjm")
    parser.add_argument("--show", action="store_true", help="print the mapped columns")
    parser.add_argument("--columns", help="the columns to parse, comma-separated")
    args = parser.parse_args()
    if args.show:
        print(",".join(mapped(args.log, args.case)))
        return
    if not args.columns:
        parser.error("give --columns (from --show)")
    import duckdb

    columns = ", ".join('"' + c.replace('"', '""') + '"' for c in args.columns.split(","))
    path = args.log.replace("'", "''")
    duckdb.connect().execute(f"CREATE TABLE t AS SELECT {columns} FROM "
                             f"read_csv('{path}', header=true, all_varchar=true)")


if __name__ == "__main__":
    main()
