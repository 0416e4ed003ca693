"""The shared definitions every engine must meet (cjm.engine.semantics), checked against
DuckDB, whose figures cjm's outputs have always carried."""

from __future__ import annotations

import random

import duckdb
import pytest

from cjm.engine.semantics import epoch_seconds, open_from, quantile_cont, quantile_position


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
