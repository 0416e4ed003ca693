"""Journeys ordered a bucket at a time give byte-identical results; small memory limits hold."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cjm.engine.duckdb.buckets import _q, _quantile, buckets_for
from tests.conftest import run_cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "shop.csv"


def _outputs(args: list[str], buckets: str) -> tuple[str, str]:
    result = run_cli("discover", *args, "--buckets", buckets, "--json", "-", "-o", "m.dot")
    assert result.exit_code == 0, result.output
    return result.stdout, Path("m.dot").read_text()


@pytest.mark.parametrize("args", [
    [],
    ["--goal", "Purchase", "--still-active", "30d"],
    ["--stages", "60%", "--handoff-column", "device"],
    ["--case", "customer_id", "--journey-gap", "14d"],
    ["--min-journeys", "5"],
], ids=["outcome", "goal-open", "simplified", "gap", "private"])
def test_buckets_give_identical_json_and_maps(args):
    one = _outputs([str(EXAMPLE), *args], "1")
    assert _outputs([str(EXAMPLE), *args], "3") == one


def test_more_buckets_than_journeys(write):
    log = write("few.csv", "journey,stage,timestamp\n" + "".join(
        f"j{j},{stage},2024-01-0{j + 1}T10:0{k}:00Z\n"
        for j in range(4) for k, stage in enumerate(["A", "B" if j % 2 else "C", "D"])))
    assert _outputs([str(log)], "1") == _outputs([str(log)], "9")


@pytest.mark.parametrize("name", ["sepsis.csv", "helpdesk.xes.gz", "bpic2012.xes.gz"])
def test_buckets_give_identical_json_on_the_shared_logs(shared_data, name):
    path = shared_data / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert _outputs([str(path)], "1") == _outputs([str(path)], "4")


def test_a_small_memory_limit_completes_with_the_same_results():
    unlimited = _outputs([str(EXAMPLE)], "1")
    result = run_cli("discover", str(EXAMPLE), "--memory-limit", "64MB", "--json", "-",
                     "-o", "m.dot")
    assert result.exit_code == 0, result.output
    assert (result.stdout, Path("m.dot").read_text()) == unlimited


def test_buckets_follow_the_memory_limit():
    assert buckets_for(1_000_000, None) == 1
    assert buckets_for(1_000, 4_000_000_000) == 1
    assert buckets_for(100_000_000, 4_000_000_000) == 31  # 40 GB of ordering in 1.33 GB parts


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-5, 40)), min_size=1, max_size=80),
       st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
def test_quantiles_from_histograms_equal_duckdb_quantile_cont(rows, q):
    con = duckdb.connect()
    con.execute("CREATE TABLE raw (k INTEGER, v DOUBLE)")
    con.executemany("INSERT INTO raw VALUES (?, ?)", rows)
    expected = dict(con.execute(
        f"SELECT k, quantile_cont(v, {q}) FROM raw GROUP BY k").fetchall())
    histogram = "SELECT k, v, count(*) AS n FROM raw GROUP BY k, v"
    sizes = dict(con.execute("SELECT k, count(*) FROM raw GROUP BY k").fetchall())
    got = {k: _q([a, b], sizes[k], q)
           for k, a, b in con.execute(_quantile(histogram, ["k"], q)).fetchall()}
    assert got == expected  # to the bit: bucketed figures equal those of one pass
    con.close()


def test_quantile_of_a_whole_histogram():
    con = duckdb.connect()
    values = [random.Random(7).randint(0, 1000) for _ in range(999)]
    con.execute("CREATE TABLE raw AS SELECT unnest(?::DOUBLE[]) AS v", [values])
    expected = con.execute("SELECT median(v), quantile_cont(v, 0.9) FROM raw").fetchall()[0]
    histogram = "SELECT v, count(*) AS n FROM raw GROUP BY v"
    got = (con.execute(_quantile(histogram, [], 0.5)).fetchall()[0][0],
           con.execute(_quantile(histogram, [], 0.9)).fetchall()[0][0])
    assert got == pytest.approx(expected)
    con.close()
