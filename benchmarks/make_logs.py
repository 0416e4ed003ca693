"""Make the benchmark logs: the example generator's shop log at 100k, 1M and 10M events.

    python benchmarks/make_logs.py                      # into /tmp/cjm-bench
    python benchmarks/make_logs.py /data/bench --sizes 100k 1m

Each size is written as CSV by ``examples/generate.py --events N`` (seed 42, so the same
bytes every time) and converted to Parquet with DuckDB, every column kept as text and the
rows kept in file order, so that both formats hold the same log. Files that exist already
are kept. The folder must lie outside the repository: the logs are large (10M events is
about 800 MB of CSV).

The real log ``../shared/data/bpic2012.xes.gz`` is read in place by the benchmarks.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "examples" / "generate.py"
DEFAULT_FOLDER = Path("/tmp/cjm-bench")
SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}


def csv_path(folder: Path, size: str) -> Path:
    return folder / f"shop-{size}.csv"


def parquet_path(folder: Path, size: str) -> Path:
    return folder / f"shop-{size}.parquet"


def make_csv(path: Path, events: int) -> None:
    tmp = path.with_suffix(".csv.part")
    subprocess.run([sys.executable, str(GENERATOR), "--events", str(events), "-o", str(tmp)],
                   check=True)
    tmp.rename(path)


def make_parquet(source: Path, path: Path) -> None:
    """The CSV as Parquet: every column VARCHAR, rows in file order (one thread)."""
    import duckdb

    con = duckdb.connect()
    # One thread and preserved insertion order keep the rows exactly in file order.
    con.execute("SET threads = 1")
    con.execute("SET preserve_insertion_order = true")
    header = source.open(encoding="utf-8").readline().rstrip("\r\n").split(",")
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in header) + "}"
    tmp = path.with_suffix(".parquet.part")
    con.execute(
        f"COPY (SELECT * FROM read_csv('{source}', header=true, auto_detect=false, "
        f"columns={columns}, quote='\"', escape='\"')) TO '{tmp}' "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
    )
    con.close()
    tmp.rename(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where to write the logs (default {DEFAULT_FOLDER})")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES),
                        help="which sizes to make (default: all)")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if folder == ROOT or ROOT in folder.parents:
        raise SystemExit(f"{folder}: inside the repository; give a folder outside it")
    folder.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        csv_file, parquet_file = csv_path(folder, size), parquet_path(folder, size)
        if not csv_file.exists():
            start = time.perf_counter()
            make_csv(csv_file, SIZES[size])
            print(f"{csv_file}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if not parquet_file.exists():
            start = time.perf_counter()
            make_parquet(csv_file, parquet_file)
            print(f"{parquet_file}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    for size in args.sizes:
        for path in (csv_path(folder, size), parquet_path(folder, size)):
            print(f"{path.stat().st_size / 2**20:9.1f} MiB  {path}")


if __name__ == "__main__":
    main()
