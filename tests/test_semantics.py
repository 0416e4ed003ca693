"""The shared definitions every engine must meet (cjm.engine.semantics), checked against
DuckDB, whose figures cjm's outputs have always carried."""

from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import pytest

from cjm.engine.semantics import (
    decimal_value,
    epoch_seconds,
    exact_float,
    exact_mean,
    exact_squares,
    is_number,
    open_from,
    quantile_cont,
    quantile_position,
)


@pytest.fixture()
def con():
    con = duckdb.connect()
    yield con
    con.close()


def test_quantiles_interpolate_as_duckdb_does(con) -> None:
    rng = random.Random(5)
    # Two values whose 0.9 quantile differs with and without a fused multiply-add.
    cases = [[13114189.588902203, 34787169.63528702]]
    for _ in range(300):
        cases.append(sorted(rng.choice([rng.random() * 1e9, float(rng.randint(0, 10**5)),
                                        round(rng.random() * 1e4, 3)])
                            for _ in range(rng.randint(1, 30))))
    for values in cases:
        for q in (0.5, 0.9):
            duck = con.execute(f"SELECT quantile_cont(x, {q}) FROM "
                               "(SELECT unnest(?::DOUBLE[]) x)", [values]).fetchall()[0][0]
            rn = quantile_position(len(values), q)
            low, high = values[int(rn // 1)], values[-int(-rn // 1)]
            assert quantile_cont(low, high, len(values), q) == duck, (values, q)


def test_epoch_seconds_is_duckdbs_epoch(con) -> None:
    rng = random.Random(7)
    micros = [0, 1, 999, 1000, -1, -999, -1001, 1_700_000_000_123_456]
    micros += [rng.randint(-2 * 10**16, 2 * 10**16) for _ in range(500)]  # years 1336-2603
    con.execute("SET TimeZone = 'UTC'")  # cjm's timestamps are TIMESTAMPTZ
    duck = con.execute("SELECT list(epoch(make_timestamp(m)::TIMESTAMPTZ)) FROM "
                       "(SELECT unnest(?::BIGINT[]) m)", [micros]).fetchall()[0][0]
    assert [epoch_seconds(m) for m in micros] == duck


def test_open_from_subtracts_exactly_as_duckdbs_decimals(con) -> None:
    rng = random.Random(11)
    for _ in range(300):
        end = rng.randint(0, 2 * 10**15) / 10**6
        span = rng.choice([1800.0, 86400.0, rng.randint(1, 10**7) / 10**3])
        duck = con.execute(f"SELECT CAST({end!r} - {span!r} AS DOUBLE)").fetchall()[0][0]
        assert open_from(end, span) == duck, (end, span)


def test_pseudonyms_are_the_same_in_sql(con) -> None:
    from cjm.engine.duckdb.eventlog import pseudonym_sql
    from cjm.engine.semantics import pseudonym

    ids = ["j1", "", "  ", None, "klant-ä", "x'y", "0" * 200]
    got = con.execute(f"SELECT list({pseudonym_sql('v', 'a-key-1234')} ORDER BY i) FROM "
                      "(SELECT unnest(?::VARCHAR[]) v, unnest(range(?)) i)",
                      [ids, len(ids)]).fetchall()[0][0]
    assert got == [pseudonym(v, "a-key-1234") for v in ids]


# Texts of costs and numeric outcomes: numbers in every form, rounding at the ninth decimal
# place (half away from zero), the limit, and what is no number.
NUMBER_TEXTS = [
    "0.1", "1e11", "-1e11", "1e-30", "1e300", "1.0E-5", "2.5", "-2.5e-9", "0.0000000005",
    "-0.0000000005", "0.00000000049999", "0.0000000015", "0.0000000025", "-0.0000000015",
    "999999999999.9999999994", "999999999999.9999999995", "1e12", "-1e12", "-0",
    "12.149999999999999", "0.7071067811865476", "1.0E7", "1.2345678901234568E11", "+.5",
    "1.", "5e-10", "25e-10", "123.45", " 7 ", "00012.5000", "1E+05", "-0.0", ".", "e5", "1e",
    "1.5d", "0x10", "1_000", "inf", "-Infinity", "nan", "1,5", "", "abc", "1.5\n", "\t2",
]


def test_numbers_are_read_as_duckdb_reads_them(con) -> None:
    """decimal_value() is what the DuckDB engine's SQL reads a cost or outcome as; a number
    it refuses is one that SQL cannot hold."""
    from cjm.engine.duckdb.engine import DECIMAL_SQL, number_sql

    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS cost", [NUMBER_TEXTS])
    read = dict(con.execute(f"SELECT cost, {number_sql('cost')} FROM t").fetchall())
    held = dict(con.execute(f"SELECT cost, TRY_CAST(trim(cost) AS {DECIMAL_SQL}) IS NOT NULL "
                            "FROM t").fetchall())
    for text in NUMBER_TEXTS:
        try:
            expected = decimal_value(text)
        except ValueError:
            assert is_number(text) and not held[text], text
            continue
        assert read[text] == expected, text
    assert decimal_value("0.0000000005") == Decimal("0.000000001")
    assert decimal_value("1e-30") == 0 and decimal_value("inf") is None


def test_exact_sums_do_not_depend_on_order() -> None:
    """Doubles added in two orders differ; the decimal sum, rounded once, does not."""
    rng = random.Random(13)
    values = ["0.1"] * 50 + ["1e11", "-1e11"] * 5 + ["0.7", "-0.3"] * 20
    totals, naive = set(), set()
    for _ in range(20):
        rng.shuffle(values)
        totals.add(exact_float(sum((decimal_value(v) for v in values), Decimal(0))))
        naive.add(sum(float(v) for v in values))
    assert totals == {13.0} and len(naive) > 1
    assert exact_mean(Decimal("1"), 3) == 1 / 3
    # 3.5 is 3 and 5 * 10**8 units: its square from the sums of 3*3, 3*5e8 and 5e8*5e8
    assert exact_squares(Decimal(9), Decimal(15 * 10 ** 8), Decimal(25 * 10 ** 16)) == 3.5 ** 2
