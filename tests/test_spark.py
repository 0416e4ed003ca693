"""The Spark engine: the same figures as DuckDB's, byte for byte.

Every parity test runs ``cjm discover LOG --json -`` once with DuckDB and once with
``--engine spark`` and compares stdout (the JSON) and stderr (notes and warnings) byte for
byte. The logs are Parquet files, as Spark reads them: generated ones, one cut and damaged on
purpose, and the shared real logs. Spark starts once for the module (local mode, two cores).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CLI_ENV, SHARED_DATA

from tests.conftest import local_spark

pytest.importorskip("pyspark", reason='the Spark extra is not installed (pip install -e ".[dev]")')
if shutil.which("java") is None:
    pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
SALT = "spark-parity-key"


def _cli(*args: str, env: dict[str, str] | None = None):
    from typer.testing import CliRunner

    from cjm.cli import app

    result = CliRunner().invoke(app, list(args), env={**CLI_ENV, **(env or {})})
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit)
    return result


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local Spark for the module."""
    session = local_spark("cjm-tests")
    yield session
    session.stop()


def parity(*args: str, exit_code: int = 0) -> dict:
    """Run ``cjm discover ARGS --json -`` with each engine; the outputs must be the same."""
    duck = _cli("discover", *args, "--json", "-", "--engine", "duckdb")
    assert duck.exit_code == exit_code, duck.output
    spark = _cli("discover", *args, "--json", "-", "--engine", "spark")
    assert spark.exit_code == exit_code, spark.output
    assert spark.stdout == duck.stdout
    assert spark.stderr == duck.stderr
    return json.loads(duck.stdout)


def same_on_both(*args: str) -> dict:
    """Run ``cjm ARGS --json -`` with each engine: the same exit 0, stdout and stderr."""
    duck = _cli(*args, "--json", "-", "--engine", "duckdb")
    assert duck.exit_code == 0, duck.output
    spark = _cli(*args, "--json", "-", "--engine", "spark")
    assert (spark.exit_code, spark.stdout, spark.stderr) == (0, duck.stdout, duck.stderr)
    return json.loads(duck.stdout)


def to_parquet(source: Path, target: Path) -> Path:
    """A CSV as Parquet with every column as text, in file order (what cjm convert makes)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{source}', all_varchar=true)) TO '{target}'")
    con.close()
    return target


def events_parquet(log_path: Path, target: Path) -> Path:
    """A log's events (read by cjm) as text Parquet, timestamps as ISO 8601 with an offset."""
    import cjm
    from cjm.config import Config

    with cjm.read_log(log_path, config=Config()) as log:
        roles = "".join(f', {role} AS "{log.mapping.column(role)}"' for role in log.roles
                        if role != "lifecycle")
        log.con.execute("SET TimeZone = 'UTC'")
        log.con.execute(
            'COPY (SELECT case_id AS "case:concept:name", stage AS "concept:name", '
            "strftime(ts, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00' AS \"time:timestamp\""
            f"{roles} FROM events ORDER BY _file, _line) TO '{target}'")
    return target


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark-logs")


@pytest.fixture(scope="module")
def generated(logs: Path) -> Path:
    """2,000 generated journeys as text Parquet."""
    csv_path = logs / "shop.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "--journeys",
                    "2000", "--seed", "7", "-o", str(csv_path)], check=True,
                   capture_output=True)
    return to_parquet(csv_path, logs / "shop.parquet")


@pytest.fixture(scope="module")
def sliced(logs: Path, generated: Path) -> Path:
    """The generated log cut (every fourth row left out) and damaged: rows without id, stage
    or timestamp, timestamps that do not parse or lie beyond year 9999, naive ones, offsets,
    nanoseconds, 24:00:00, stage names that differ only in case, duplicates."""
    with (logs / "shop.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], [r for i, r in enumerate(rows[1:]) if i % 4]
    case, stage, ts = header.index("journey_id"), header.index("stage"), header.index("timestamp")
    rng = random.Random(3)
    damage = [
        (case, ""), (stage, " "), (ts, ""), (ts, "yesterday"), (ts, "12024-01-01T00:00:00Z"),
        (ts, "2024-02-30T10:00:00Z"), (ts, "2024-06-01 10:00:00"), (ts, "2024-06-01T24:00:00"),
        (ts, "2024-06-01T10:00:00.123456789+02:00"), (ts, "2024-06-01 10:00:00 UTC"),
        (ts, "2024/06/01 09:15"), (ts, "2024-06-01T10:00:00-0330"), (stage, "visit site"),
        (ts, "0000-01-01T00:00:00Z"), (ts, "2024-06-01T10:00:60Z"),
    ]
    for i, (column, value) in zip(rng.sample(range(len(body)), 300), damage * 20, strict=True):
        body[i][column] = value
    body += [list(body[5]), list(body[5]), list(body[9])]  # exact duplicates
    with (logs / "sliced.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body])
    return to_parquet(logs / "sliced.csv", logs / "sliced.parquet")


def test_generated_log(spark, generated: Path) -> None:
    data = parity(str(generated))
    assert data["journeys"] == 2000
    assert data["reading"]["files"][0]["rows_are"] == "row numbers"


def test_stage_rules(spark, generated: Path) -> None:
    """Groups, renames and collapsed repeats give Spark the stages DuckDB reads, and the same
    accounting and notes; with --journey-gap, repeats collapse within each visit."""
    data = parity(str(generated), "--group", "re:^(Add to Cart|Checkout)$=Basket",
                  "--group", "Chat Support,Email Support,Phone Support=Support", "--rename",
                  "Visit Site=Landing", "--rename", "No Such Stage=x", "--collapse-repeats",
                  "--journey-gap", "1d")
    names = {s["name"] for s in data["stages"]}
    assert {"Basket", "Support", "Landing"} <= names and "Checkout" not in names
    assert data["reading"]["filtered"] > 0
    assert any("repeated events set aside" in n for n in data["reading"]["notes"])
    assert "no stage matches the rule No Such Stage=x" in data["reading"]["notes"]


def test_options(spark, generated: Path) -> None:
    # --stages re-reads the journeys without the hidden stages (build_map's second prepare).
    data = parity(str(generated), "--goal", "Purchase", "--still-active", "14d", "--stages",
                  "50%", "--handoff-column", "device", "--min-journeys", "3", "--case",
                  "customer_id", "--journey-gap", "14d", "--drop-duplicates", "--pseudonymize",
                  "--salt", SALT)
    assert data["map"]["hidden_stages"]
    assert data["dead_ends"]["open_journeys"] > 0
    assert data["handoffs"]["column"] == "device"
    assert data["reading"]["mapping"]["case"]["column"] == "customer_id"


def test_cut_and_damaged_log(spark, sliced: Path, tmp_path: Path) -> None:
    # Both engines write spark.csv, Spark last; DuckDB's own rejects go to duckdb.csv.
    data = parity(str(sliced), "--rejects", "spark.csv")
    assert data["reading"]["rejected"] > 100
    assert any("without an offset" in note for note in data["reading"]["notes"])
    result = _cli("discover", str(sliced), "--rejects", "duckdb.csv", "--no-map", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "duckdb.csv").read_bytes()


SHARED = {
    "receipt.csv": to_parquet,
    "sepsis.csv": to_parquet,
    "roadtraffic100traces.csv": to_parquet,
    "helpdesk.xes.gz": events_parquet,
}
# The logs with XES column names are read together (one run, three files: it also checks the
# accounting of several files); sepsis has columns of its own.
GROUPS = {"xes-names": ("receipt.csv", "roadtraffic100traces.csv", "helpdesk.xes.gz"),
          "sepsis": ("sepsis.csv",)}


@pytest.mark.parametrize("group", list(GROUPS))
def test_shared_logs(spark, logs: Path, group: str) -> None:
    targets = []
    for name in GROUPS[group]:
        source = SHARED_DATA / name
        if not source.is_file():
            pytest.skip(f"the shared logs are not here: {source} is absent")
        targets.append(str(SHARED[name](source, logs / (name.split(".")[0] + ".parquet"))))
    data = parity(*targets)
    assert len(data["reading"]["files"]) == len(targets)


def test_cjm_convert_lines_are_kept(spark, logs: Path) -> None:
    """A Parquet file holding each row's original line (cjm_line, as cjm convert writes it)
    reports and rejects those lines with either engine."""
    from cjm.engine.duckdb.readers import parquet

    if not hasattr(parquet, "ORIGINAL_LINE"):
        pytest.skip("this DuckDB reader does not read cjm_line yet")
    import duckdb

    target = logs / "converted.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES ('a', 'Visit', '2024-01-01T10:00:00Z', 2), "
        "('a', 'Buy', '2024-01-01T10:05:00Z', 3), ('', 'Visit', '2024-01-01T11:00:00Z', 7), "
        "('b', 'Visit', 'soon', 9)) t(case_id, stage, timestamp, cjm_line)) "
        f"TO '{target}'")
    data = parity(str(target))
    assert data["reading"]["files"][0]["rows_are"] == "lines of the original file"


def test_timestamps_are_read_as_duckdb_reads_them(spark) -> None:
    """Spark's instants for ISO 8601 and epoch text equal DuckDB's, in UTC and in a zone
    whose clocks go back (where DuckDB takes the later of two instants)."""
    import duckdb

    from cjm.engine.spark import timestamps as sts
    from cjm.timestamps import _EPOCH_SQL, _ISO_SQL

    iso = ["2024-01-05", "2024-1-5", "2024-01-05 10:00", "2024-01-05T10:00:00",
           "2024-01-05 10:00:00Z", "2024-01-05T10:00:00+01", "2024-01-05 10:00:00+0100",
           "2024-01-05 10:00:00-05:30", "2024-01-05 10:00:00+01:30:15",
           "2024-01-05 10:00:00.1234567", "2024-01-05 10:00:00.", "2024-01-05 10:00:00 UTC",
           "2024/01/05 10:00:00", "2024-01-05  10:00:00", "2024-01-05 1:2:3",
           "2024-01-05 24:00:00", "2024-12-31 24:00", "2024-02-29", "2000-02-29", "1900-02-28",
           "2024-10-27 02:30:00", "2024-03-31 02:30:00", "2024-10-27 01:59:59", "0001-01-01",
           "9999-12-31 23:59:59", "1969-12-31 23:59:59.999999", "2024-01-05 10:00:00.5+01:00",
           # not timestamps to either engine
           "2024-02-30", "2023-02-29", "2024-13-01", "2024-01-05 10:60", "2024-01-05 24:30:00",
           "2024-01-05 10:00:60", "2024-01-05T10:00:00z", "2024-01-05Z", "20240105",
           "2024-01-05 10:00:00 +01:00", "2024-01-05 10", "2024-01/05", "yesterday", "",
           "epoch", "-epoch", "infinity", "-infinity", "+infinity"]
    epoch = ["1700000000", "1700000000.5", "1.0000005", "-1.5e-6", "1700000000123",
             "1700000000123.5", "1700000000123456", "1700000000123456789", "-86400",
             "1e3", "12", "99999999999999999999", "abc"]
    for zone in ("UTC", "Europe/Amsterdam"):
        frame = spark.createDataFrame([(v,) for v in iso + epoch], "v string")
        frame = sts.with_epoch(sts.with_iso(frame, "v", "iso", zone), "v", "epoch")
        spark_values = {r["v"]: (r["iso"], r["epoch"]) for r in frame.collect()}
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{zone}'")
        for value in iso + epoch:
            duck = con.execute(
                f"SELECT epoch_us({_ISO_SQL.replace('{c}', '$1')}), "
                f"epoch_us({_EPOCH_SQL.replace('{c}', '$1')})", [value]).fetchall()[0]
            if value in iso:
                assert spark_values[value][0] == duck[0], (zone, value)
            else:
                assert spark_values[value][1] == duck[1], (zone, value)
        con.close()


def test_median_durations_of_many_journeys_without_one_sort(spark, generated: Path,
                                                            monkeypatch) -> None:
    """Beyond WINDOW_LIMIT journeys the median and p90 durations come from approximate
    bounds and the rows between them; they are the exact ones all the same, also when the
    bounds are so rough that a full sort has to step in."""
    from cjm.config import Config
    from cjm.engine.spark import engine
    from cjm.engine.spark.read import read_spark_log

    log = read_spark_log(generated, spark=spark, config=Config())
    try:
        figures = log.engine()
        figures.prepare(None, None)
        exact = figures.journey_figures()
        for accuracy in (10_000, 20):
            monkeypatch.setattr(engine, "WINDOW_LIMIT", 0)
            monkeypatch.setattr(engine, "ACCURACY", accuracy)
            assert figures.journey_figures() == exact
    finally:
        log.close()


def test_median_cost_of_many_journeys_without_one_sort(spark, generated: Path,
                                                      monkeypatch) -> None:
    """The median cost per journey, beyond WINDOW_LIMIT journeys, comes from approximate
    bounds on the exact decimal totals, and is the exact one all the same."""
    from cjm.config import Config
    from cjm.engine.spark import engine
    from cjm.engine.spark.read import read_spark_log

    log = read_spark_log(generated, spark=spark, config=Config())
    try:
        figures = log.engine()
        figures.prepare("channel", None)
        prices = {"web": 0.1, "app": 0.15, "chat": 2.0, "email": 3.0, "phone": 6.0}
        exact = figures.costs(prices)
        assert exact.median > 0
        for accuracy in (10_000, 20):
            monkeypatch.setattr(engine, "WINDOW_LIMIT", 0)
            monkeypatch.setattr(engine, "ACCURACY", accuracy)
            assert figures.costs(prices) == exact
    finally:
        log.close()


def test_segments_periods_and_windows(spark, generated: Path) -> None:
    """--by, --period, --since/--until (journeys, or events with --window events) slice the
    journeys on Spark as on DuckDB: the first value of a role by journey order, ISO weeks,
    the same bytes."""
    data = parity(str(generated), "--by", "segment", "--no-map")
    assert data["schema"] == "cjm.slices/1" and len(data["slices"]) >= 2
    assert parity(str(generated), "--by", "channel", "--top-values", "2", "--no-map")
    for period in ("week", "quarter"):
        assert parity(str(generated), "--period", period, "--no-map")["slices"]
    window = parity(str(generated), "--since", "2024-03-01", "--until", "2024-06-01",
                    "--no-map")
    clipped = parity(str(generated), "--since", "2024-03-01", "--until", "2024-06-01",
                     "--window", "events", "--no-map")
    assert window["journeys"] and clipped["journeys"] and clipped["events"] != window["events"]


def test_funnel(spark, generated: Path) -> None:
    """cjm funnel on Spark: strict and any order, a window, alternatives, per segment."""
    steps = "View Product,Add to Cart|Checkout,Purchase"
    for args in (["--steps", steps], ["--steps", steps, "--order", "any", "--within", "3d"],
                 ["--steps", "Visit Site,Purchase", "--by", "segment"]):
        assert same_on_both("funnel", str(generated), *args)


def test_compare(spark, generated: Path) -> None:
    """cjm compare on Spark: two segments, two periods, with DuckDB's bytes."""
    for args in (["--by", "segment", "--values", "vip,new"], ["--period", "quarter"]):
        assert same_on_both("compare", str(generated), *args)["schema"] == "cjm.compare/1"


def test_channels(spark, generated: Path) -> None:
    """cjm channels on Spark: mix, sequences, escalations and the cost to serve (by price
    and from a cost column), DuckDB's bytes."""
    assert same_on_both("channels", str(generated))["sequences"]
    priced = same_on_both("channels", str(generated), "--channel-cost",
                          "web=0.1,app=0.1,chat=2,email=3,phone=6")
    assert priced["cost_per_journey"]["journeys"] == 2000 and priced["cost_by_path"]
    assert same_on_both("channels", str(generated), "--cost", "order_value")["cost_by_stage"]


def test_inspect(spark, generated: Path, sliced: Path) -> None:
    """cjm inspect on Spark: the same profile, rejects and warnings, byte for byte."""
    assert same_on_both("inspect", str(generated))
    assert same_on_both("inspect", str(sliced))["rejects"]


def same_files_on_both(where: Path, *args: str, files: tuple[str, ...] = ()) -> dict:
    """Run ``cjm ARGS`` with each engine, each in a folder of its own under ``where`` (the
    outputs' relative names in ``files``): the same exit 0, stdout, stderr and files, byte for
    byte. The JSON on stdout when ARGS ask for it (--json -)."""
    seen = {}
    for engine in ("duckdb", "spark"):
        folder = where / engine
        folder.mkdir(parents=True, exist_ok=True)
        before = Path.cwd()
        os.chdir(folder)
        try:
            result = _cli(*args, "--engine", engine)
        finally:
            os.chdir(before)
        assert result.exit_code == 0, (engine, result.output)
        seen[engine] = (result.stdout, result.stderr,
                        {f: (folder / f).read_bytes() for f in files})
    assert seen["spark"] == seen["duckdb"]
    assert all(seen["duckdb"][2].values())
    return json.loads(seen["duckdb"][0]) if "--json" in args else {}


DESIGN = str(ROOT / "examples" / "designed-journey.yaml")


def test_moments(spark, generated: Path, tmp_path: Path) -> None:
    """cjm moments on Spark: a yes/no outcome and a numeric one, overall and cut before the
    goal."""
    log = str(generated)
    assert same_on_both("moments", log, "--outcome", "converted", "--min-count", "5")["items"]
    assert same_on_both("moments", log, "--outcome", "converted", "--before-goal",
                        "--goal", "Purchase")
    numeric = same_on_both("moments", log, "--outcome", "order_value", "--min-count", "5")
    assert numeric["kind"] == "mean" and numeric["items"]
    assert same_on_both("moments", log, "--outcome", "order_value", "--before-goal",
                        "--goal", "Purchase")["items"]


# Costs and outcomes that doubles added in another order would sum apart.
UNEVEN = ("0.1", "1e11", "-1e11", "0.3", "7", "", "2.5e-3", "0.7", "-0.3", "n/a")


def test_costs_and_outcomes_that_doubles_would_sum_apart(spark, logs: Path) -> None:
    """Values like 0.1 next to 1e11 and -1e11 sum to other doubles in another order; cjm adds
    them as decimals, so Spark's partitions give DuckDB's bytes all the same. A value too
    large to add exactly is refused alike, naming its row."""
    rng = random.Random(14)
    rows = [["journey_id", "stage", "timestamp", "channel", "cost", "score"]]
    for j in range(600):
        for k in range(rng.randint(1, 6)):
            rows.append([f"j{j:04d}", rng.choice(["visit", "help", "buy", "call"]),
                         f"2024-05-{1 + j % 28:02d}T10:{k:02d}:00Z",
                         rng.choice(["web", "chat", "phone"]), rng.choice(UNEVEN),
                         rng.choice(UNEVEN[:-1])])  # outcomes: numbers (or none) alone
    rng.shuffle(rows[1:])
    values = [float(r[4]) for r in rows[1:] if r[4] not in ("", "n/a")]
    assert sum(values) != sum(reversed(values))
    source = logs / "uneven.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    log = str(to_parquet(source, logs / "uneven.parquet"))
    assert same_on_both("channels", log, "--cost", "cost")["cost_per_journey"]["total"]
    assert same_on_both("channels", log, "--channel-cost", "web=0.1,chat=1e11,phone=0.3")
    assert same_on_both("moments", log, "--outcome", "score", "--min-count", "5")["items"]
    rows[7][4] = "1e12"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    log = str(to_parquet(source, logs / "too-large.parquet"))
    duck = _cli("channels", log, "--cost", "cost", "--engine", "duckdb")
    ours = _cli("channels", log, "--cost", "cost", "--engine", "spark")
    assert (duck.exit_code, duck.stderr) == (ours.exit_code, ours.stderr)
    assert duck.exit_code == 1 and "too-large.parquet:7: the cost '1e12'" in duck.stderr


def test_numbers_are_read_as_duckdb_reads_them(spark) -> None:
    """Spark's decimal for a cost or outcome text is DuckDB's, rounding and limit included."""
    import duckdb

    from cjm.engine.duckdb.engine import number_sql
    from cjm.engine.spark.engine import number
    from tests.test_semantics import NUMBER_TEXTS

    frame = spark.createDataFrame([(t,) for t in NUMBER_TEXTS], "cost string")
    ours = {r["cost"]: r["n"] for r in frame.select("cost", number("cost").alias("n")).collect()}
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS cost", [NUMBER_TEXTS])
    assert ours == dict(con.execute(f"SELECT cost, {number_sql('cost')} FROM t").fetchall())


def test_check(spark, generated: Path, tmp_path: Path) -> None:
    """cjm check on Spark: verdicts, deviations, service levels, the journeys' CSV and the
    map, DuckDB's bytes."""
    data = same_files_on_both(tmp_path, "check", str(generated), "--design", DESIGN,
                              "--json", "-", "--journeys", "verdicts.csv", "-o", "map.dot",
                              files=("verdicts.csv", "map.dot"))
    assert data["deviations"]


def test_model(spark, generated: Path, tmp_path: Path) -> None:
    """cjm model on Spark: the miner on the driver reads the distinct paths alone."""
    same_files_on_both(tmp_path, "model", str(generated), "-o", "m.bpmn", "-o", "m.dot",
                       "-o", "m.pnml", "--quality", files=("m.bpmn", "m.dot", "m.pnml"))


def test_model_names_its_default_output_after_a_folder_of_parts(spark, generated: Path,
                                                              tmp_path: Path) -> None:
    """A folder Spark reads (no file to expand) names the default output as a file does."""
    import shutil

    (tmp_path / "events").mkdir()
    shutil.copy(generated, tmp_path / "events" / "part-00000.parquet")
    result = _cli("model", str(tmp_path / "events") + "/", "--engine", "spark")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events.bpmn").is_file()


def test_steps_timing_attribution(spark, generated: Path, tmp_path: Path) -> None:
    """cjm steps, timing and attribution on Spark, with their options combined."""
    log = str(generated)
    assert same_on_both("steps", log, "--goal", "Purchase", "--still-active", "2d",
                        "--by", "segment", "--values", "vip,new")
    assert same_files_on_both(tmp_path, "timing", log, "--goal", "Purchase",
                              "--still-active", "2d", "--by", "segment", "--json", "-",
                              "-o", "timing.svg", files=("timing.svg",))
    assert same_on_both("attribution", log, "--goal", "Purchase", "--by-channel",
                        "--resamples", "100")
    assert same_on_both("attribution", log, "--outcome", "converted", "--resamples", "100")


def test_personas(spark, generated: Path, tmp_path: Path) -> None:
    """cjm personas on Spark: the profiles come from the distinct paths' endings."""
    assert same_files_on_both(tmp_path, "personas", str(generated), "--k", "3",
                              "--before-goal", "--goal", "Purchase", "--still-active", "2d",
                              "--json", "-", "--maps", "maps",
                              files=("maps/persona-1.svg",))


def test_report(spark, generated: Path, tmp_path: Path) -> None:
    """cjm report on Spark, from flags (every section) and from a batch file: the same
    HTML and Markdown, byte for byte."""
    log = str(generated)
    same_files_on_both(tmp_path / "flags", "report", log, "-o", "r.md", "-o", "r.html",
                       "--goal", "Purchase", "--still-active", "2d", "--funnel",
                       "View Product,Add to Cart,Purchase", "--attribution", "channel", "--timing",
                       "--personas", "3", "--design", DESIGN, "--by", "segment",
                       "--compare-by", "segment", "--compare-values", "vip,new",
                       "--step-matrix", "4", files=("r.md", "r.html"))
    for engine in ("duckdb", "spark"):
        folder = tmp_path / "batch" / engine
        folder.mkdir(parents=True)
        (folder / "reports.toml").write_text(f"""
[defaults]
goal = ["Purchase"]
logs = ["{generated.as_posix()}"]

[[report]]
name = "all"
output = ["all.md"]

[[report]]
name = "vip in Q2"
where = "segment=vip"
since = "2024-04-01"
until = "2024-07-01"
outcome = "converted"
output = "vip.md"
""", encoding="utf-8")
    same_files_on_both(tmp_path / "batch", "report", "--config", "reports.toml",
                       files=("all.md", "vip.md"))


def test_commands_on_a_shared_log(spark, logs: Path, tmp_path: Path) -> None:
    """A real log (sepsis, with its ties and odd timestamps): steps, timing, attribution,
    personas and model give DuckDB's bytes on Spark."""
    source = SHARED_DATA / "sepsis.csv"
    if not source.is_file():
        pytest.skip(f"the shared logs are not here: {source} is absent")
    log = str(to_parquet(source, logs / "sepsis-commands.parquet"))
    goal = ("--goal", "Release A")
    assert same_on_both("steps", log, *goal, "--still-active", "7d")
    assert same_on_both("timing", log, *goal, "--still-active", "7d")
    assert same_on_both("attribution", log, *goal, "--resamples", "100")
    assert same_on_both("personas", log, *goal, "--before-goal", "--k", "3")
    same_files_on_both(tmp_path, "model", log, "-o", "m.bpmn", "--quality", files=("m.bpmn",))


def test_costs_and_numeric_outcomes_on_shared_logs(spark, logs: Path) -> None:
    """Real measurements as costs and numeric outcomes (sepsis's lab values, the road
    traffic fines' amounts): DuckDB's bytes on Spark."""
    sepsis, road = SHARED_DATA / "sepsis.csv", SHARED_DATA / "roadtraffic100traces.csv"
    if not (sepsis.is_file() and road.is_file()):
        pytest.skip(f"the shared logs are not here: {SHARED_DATA}")
    log = str(to_parquet(sepsis, logs / "sepsis-sums.parquet"))
    for outcome in ("LacticAcid", "Leucocytes"):
        assert same_on_both("moments", log, "--outcome", outcome, "--min-count", "5")["items"]
    assert same_on_both("moments", log, "--outcome", "Leucocytes", "--before-goal", "--goal",
                        "Release A", "--min-count", "5")["items"]
    assert same_on_both("channels", log, "--channel", "org:group", "--cost", "Leucocytes")
    log = str(to_parquet(road, logs / "road-sums.parquet"))
    assert same_on_both("moments", log, "--outcome", "amount", "--min-count", "5")["items"]
    assert same_on_both("channels", log, "--channel", "vehicleClass", "--cost", "amount")


def test_what_spark_does_not_do_is_a_usage_error(spark, generated: Path, write) -> None:
    result = _cli("discover", str(generated), "--engine", "spark", "--timestamp-format", "%Y")
    assert result.exit_code == 2
    assert "--timestamp-format is not supported with --engine spark" in result.stderr
    jsonl = write("log.jsonl", '{"case": "a", "stage": "x", "timestamp": "2024-01-01"}\n')
    result = _cli("discover", str(jsonl), "--engine", "spark")
    assert result.exit_code == 2
    assert "cjm convert" in result.stderr
    dates = write("dates.csv", "case,stage,timestamp\na,x,13/01/2024\na,y,14/01/2024\n")
    result = _cli("discover", str(dates), "--engine", "spark", "--no-map")
    assert result.exit_code == 1
    assert "day/month/year" in result.stderr and "--engine duckdb" in result.stderr
    result = _cli("explore", str(generated), env={"CJM_ENGINE": "spark"})
    assert result.exit_code == 2
    assert "cjm explore runs on DuckDB only" in result.stderr
    result = _cli("discover", str(generated), "--engine", "flink")
    assert result.exit_code == 2


def test_exact_duplicates_and_lifecycle_notes(spark, logs: Path) -> None:
    """Duplicates are rows identical in every column, mapped or not; a lifecycle column
    without 'complete' is named in a note: the same in both engines."""
    source = logs / "billing.csv"
    source.write_text("case_id,stage,timestamp,flag,lifecycle\n"
                      "c,charge,2024-03-01T10:00:00Z,,start\n"
                      "c,charge,2024-03-01T10:00:00Z,,start\n"   # identical in every column
                      "c,charge,2024-03-01T10:00:00Z,x,start\n"  # another flag: a real event
                      "d,fine,2024-03-02T10:00:00Z,,end\n"
                      "d,fine,2024-03-02T11:00:00Z,x,end\n", encoding="utf-8")
    log = str(to_parquet(source, logs / "billing.parquet"))
    kept = parity(log, "--no-map")
    assert kept["events"] == 5
    assert "1 exact duplicate event: identical in every column" in \
        _cli("discover", log, "--no-map", "--engine", "spark").stderr
    assert parity(log, "--no-map", "--drop-duplicates")["events"] == 4


def test_csv_file(spark, logs: Path, generated: Path) -> None:
    """A CSV file read by Spark gives DuckDB's figures (its reading report differs: Spark
    reads the CSV itself)."""
    duck = json.loads(_cli("discover", str(generated), "--json", "-").stdout)
    result = _cli("discover", str(logs / "shop.csv"), "--engine", "spark", "--json", "-")
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    assert ours["reading"]["files"][0]["format"] == "csv"
    assert {k: v for k, v in ours.items() if k != "reading"} == \
        {k: v for k, v in duck.items() if k != "reading"}


@pytest.mark.parametrize("name", ["shop [1].csv", "shop [1].parquet"])
def test_a_file_name_with_spaces_and_brackets(spark, logs: Path, generated: Path,
                                              name: str) -> None:
    """Spark reads the very file: Hadoop takes a path as a glob and not %-escaped, so
    ``shop [1].csv`` was not found (and a glob could have matched another file)."""
    source = logs / ("shop.csv" if name.endswith(".csv") else "shop.parquet")
    named = logs / name
    shutil.copyfile(source, named)
    decoy = logs / "decoy.csv"  # what the name as a glob matches
    decoy.write_text("journey_id,stage,timestamp\nz,Visit Site,2024-01-01T00:00:00Z\n")
    shutil.copyfile(decoy if name.endswith(".csv") else to_parquet(decoy, logs / "d.parquet"),
                    logs / name.replace("[1]", "1"))
    expected = json.loads(_cli("discover", str(source), "--engine", "spark", "--json", "-")
                          .stdout)
    result = _cli("discover", str(named), "--engine", "spark", "--json", "-")
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    assert ours["reading"]["files"][0]["path"] == str(named)
    assert {k: v for k, v in ours.items() if k != "reading"} == \
        {k: v for k, v in expected.items() if k != "reading"}


# Columns named like the Spark reader's own: its row numbering, timestamp parts and the
# DuckDB table that checks the first timestamps (_i).
CLASHING = {"journey_id": "_ts", "stage": "_ts_text", "timestamp": "_i", "channel": "_iso",
            "segment": "_epoch", "device": "_ts_parts", "customer_id": "_pos",
            "converted": "_ts_value", "order_value": "_ts_wall"}
OWN = ("_unit", "_block", "_base", "_count", "_first", "_gap", "_ts_whole", "_iso_ts")


def test_columns_named_like_the_readers_own(spark, logs: Path) -> None:
    import duckdb

    target = logs / "clashing.parquet"
    columns = ", ".join([f'"{a}" AS "{b}"' for a, b in CLASHING.items()]
                        + [f"'x' AS \"{name}\"" for name in OWN])
    duckdb.sql(f"COPY (SELECT {columns} FROM read_csv('{ROOT / 'examples' / 'shop.csv'}', "
               f"all_varchar=true)) TO '{target}'")
    data = parity(str(target), "--case", "_ts", "--stage", "_ts_text", "--timestamp", "_i",
                  "--channel", "_iso", "--segment", "_epoch", "--device", "_ts_parts",
                  "--journey-gap", "30m", "--drop-duplicates")
    assert data["handoffs"]["column"] == "_iso"
    assert data["journeys"] > 1000


def test_a_folder_of_parts_is_one_source(spark, logs: Path, generated: Path) -> None:
    """A folder of Parquet parts, as Spark writes them, is one source: its rows are numbered
    across the parts, in part order."""
    from cjm.config import Config
    from cjm.engine.spark.read import read_spark_log

    folder = logs / "parts"
    spark.read.parquet(str(generated)).coalesce(1).write.mode("overwrite").option(
        "maxRecordsPerFile", 4000).parquet(str(folder))
    log = read_spark_log(folder, spark=spark, config=Config())
    try:
        rows = spark.read.parquet(str(generated)).count()
        assert len(list(folder.glob("*.parquet"))) > 1
        assert [f.path for f in log.files] == [str(folder)]
        assert log.rows == log.events + log.rejected == rows
        lines = [r["_line"] for r in log.events_frame.orderBy("_line").select("_line")
                 .collect()]
        assert lines == list(range(1, rows + 1))
    finally:
        log.close()


# Spark Connect: a server from the PySpark wheel's own jars, on a free port.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def connect_server(tmp_path_factory) -> Iterator[dict]:
    """A Spark Connect server from the PySpark wheel's own jars, started when the module
    starts (it takes 15-30 s) and used by the last test."""
    import pyspark

    home = Path(pyspark.__file__).parent
    submit = home / "bin" / "spark-submit"
    if not submit.is_file():
        yield {"skip": "this PySpark has no bin/spark-submit to start a Connect server with"}
        return
    from cjm.engine.spark.session import jdbc_jars

    port = _free_port()
    logs = tmp_path_factory.mktemp("connect")
    jars = ["--jars", ",".join(jdbc_jars())] if jdbc_jars() else []  # the databases' drivers
    # Its executors run Python (DuckDB files, adbc: URLs) with this interpreter and this cjm.
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(logs),
           "PYSPARK_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get(
               "PYTHONPATH")])])}
    (logs / "events").mkdir()  # Spark's event log: the plans the server ran
    with (logs / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(submit), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[2]", *jars,
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=2",
             "--conf", "spark.eventLog.enabled=true", "--conf", "spark.eventLog.compress=false",
             "--conf", f"spark.eventLog.dir={(logs / 'events').as_uri()}"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield {"port": port, "server": server, "log": logs / "server.log",
               "events": logs / "events"}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _started(connect_server: dict) -> int:
    """The port of the Spark Connect server, once it answers."""
    if "skip" in connect_server:
        pytest.skip(connect_server["skip"])
    port, server = connect_server["port"], connect_server["server"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return port
        time.sleep(0.5)
    pytest.fail("the Spark Connect server did not start: "
                + connect_server["log"].read_text(errors="replace")[-800:])


def test_spark_connect(spark, connect_server: dict, logs: Path) -> None:
    """cjm as a thin client of a Spark Connect server (in its own process: a process holds
    either a local Spark or a Connect session)."""
    port = _started(connect_server)
    small = logs / "small.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "--journeys",
                    "200", "-o", str(small)], check=True, capture_output=True)
    small = to_parquet(small, logs / "small.parquet")
    duck = _cli("discover", str(small), "--json", "-", "--goal", "Purchase")
    remote = subprocess.run(
        [sys.executable, "-m", "cjm", "discover", str(small), "--json", "-", "--goal",
         "Purchase", "--engine", "spark", "--spark-remote", f"sc://127.0.0.1:{port}"],
        capture_output=True, text=True, env={**os.environ, **CLI_ENV}, timeout=300,
        check=False)
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert remote.stdout == duck.stdout
    assert "Traceback" not in remote.stderr


def test_spark_connect_reads_databases(spark, connect_server: dict, tmp_path: Path,
                                       postgres) -> None:
    """SQLite and PostgreSQL read by the Connect server's executors (the server started with
    the JDBC jars), a DuckDB file and adbc: URLs read as Arrow by its Python workers:
    DuckDB's bytes, and the password in no output, not in its log nor its event log."""
    from cjm.engine.spark.session import jdbc_jars
    from cjm.sources import DatabaseSource
    from tests.postgres_server import PASSWORD
    from tests.test_databases import _duckdb, _postgres, _sqlite

    if len(jdbc_jars()) < 2:
        pytest.skip("the JDBC drivers are not installed "
                    "(apt-get install libpostgresql-jdbc-java libxerial-sqlite-jdbc-java)")
    port = _started(connect_server)
    for source in ([_sqlite(tmp_path), "--table", "events"],
                   [_postgres(postgres, "connectrows"), "--table", "connectrows"],
                   [_duckdb(tmp_path), "--table", "events"],
                   [f"adbc:sqlite:{DatabaseSource(_sqlite(tmp_path, name='a.db')).path}", "--table",
                    "events"],
                   ["adbc:" + postgres.url(), "--table", "connectrows"]):
        args = ["discover", *source, "--json", "-", "--no-map", "--goal", "Purchase"]
        duck = _cli(*args)
        remote = subprocess.run(
            [sys.executable, "-m", "cjm", *args, "--engine", "spark", "--spark-remote",
             f"sc://127.0.0.1:{port}"], capture_output=True, text=True,
            env={**os.environ, **CLI_ENV}, timeout=300, check=False)
        assert remote.returncode == 0, remote.stderr[-2000:]
        assert (remote.stdout, remote.stderr) == (duck.stdout, duck.stderr)
    assert PASSWORD not in connect_server["log"].read_text(errors="replace")
    plans = b"".join(p.read_bytes() for p in connect_server["events"].rglob("events_*"))
    assert b"MapInArrow" in plans and b"JDBCRelation" in plans
    assert PASSWORD.encode() not in plans
