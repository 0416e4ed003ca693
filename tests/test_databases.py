"""Logs read straight from databases: SQLite and DuckDB files, and a real PostgreSQL server.

The same rows give the same journeys, figures and bytes as from CSV; rejected rows are named
by their key columns and their position; a password never reaches any output.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest

from cjm.sources import DatabaseSource, redact
from tests.conftest import run_cli
from tests.postgres_server import PASSWORD

EXAMPLE = Path(__file__).parents[1] / "examples" / "shop.csv"
STEPS = "View Product,Add to Cart,Checkout,Purchase"
DESIGN = Path(__file__).parents[1] / "examples" / "designed-journey.yaml"
# No two events of a journey at one time: then file order and the databases' order agree.
ROWS = (f"SELECT * FROM read_csv({str(EXAMPLE)!r}, all_varchar=true) "
        "WHERE journey_id < 'J0000800' "
        "QUALIFY count(*) OVER (PARTITION BY journey_id, timestamp) = 1 "
        "ORDER BY journey_id, timestamp")


def _csv(folder: Path, select: str = ROWS) -> Path:
    path = folder / "rows.csv"
    duckdb.sql(f"COPY ({select}) TO '{path}' (HEADER)")
    return path


def _sqlite(folder: Path, select: str = ROWS, name: str = "rows.db") -> str:
    rows = duckdb.sql(select)
    path = folder / name
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE events (" + ", ".join(f'"{c}" TEXT' for c in rows.columns)
                    + ")")
        con.executemany(f"INSERT INTO events VALUES ({', '.join('?' * len(rows.columns))})",
                        rows.fetchall())
    return f"sqlite:///{path}"  # an absolute path: four slashes


def _duckdb(folder: Path, select: str = ROWS) -> str:
    path = folder / "rows.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE TABLE events AS {select}")
    return f"duckdb:///{path}"


def _postgres(server, table: str, select: str = ROWS, types: str = "") -> str:
    """Load the rows into ``table`` on the server (ADBC bulk ingest), all as text unless
    ``types`` (SQL run after) changes a column."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(server.url()) as con, con.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
        cursor.adbc_ingest(table, duckdb.sql(select).to_arrow_table(), mode="create")
        if types:
            cursor.execute(types)
        con.commit()
    return server.url()


def _sources(folder: Path, server, table: str) -> dict[str, list[str]]:
    return {
        "sqlite": [_sqlite(folder), "--table", "events"],
        "duckdb": [_duckdb(folder), "--table", "events"],
        "postgresql": [_postgres(server, table), "--table", table],
    }


def _figures(text: str) -> dict:
    """A command's JSON without what names the source: only the source's own entry differs
    (its name, format and how the reader read it); inspect's entries are at the top."""
    data = json.loads(text)
    for entry in data["reading"]["files"] if "reading" in data else data["files"]:
        for key in list(entry):
            if key not in ("rows", "events", "rejected", "filtered", "left_in_database"):
                entry.pop(key)
    return data


def _json(*args: str) -> dict:
    result = run_cli(*args, "--json", "-")
    assert result.exit_code == 0, result.output
    return _figures(result.stdout)


COMMANDS = {
    "discover": ["discover", "--no-map"],
    "funnel": ["funnel", "--steps", STEPS],
    "check": ["check", "--design", str(DESIGN), "--no-map"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_database_gives_the_csv_json(command, tmp_path, postgres):
    expected = _json(*COMMANDS[command][:1], str(_csv(tmp_path)), *COMMANDS[command][1:])
    for kind, source in _sources(tmp_path, postgres, f"parity{command}").items():
        got = _json(COMMANDS[command][0], *source, *COMMANDS[command][1:])
        assert got == expected, kind


def test_report_markdown_is_the_csvs(tmp_path, postgres):
    def report(*source: str, name: str) -> str:
        result = run_cli("report", *source, "-o", "r.md")
        assert result.exit_code == 0, result.output
        text = Path("r.md").read_text(encoding="utf-8")
        # The source's row of the table of inputs (its name, format) is the one difference.
        return "\n".join(line for line in text.replace(name, "SOURCE").splitlines()
                         if not (line.startswith("| ") and "SOURCE" in line))

    path = _csv(tmp_path)
    expected = report(str(path), name=path.name)
    assert "# SOURCE" in expected
    for kind, source in _sources(tmp_path, postgres, "parityreport").items():
        name = Path(DatabaseSource(source[0], source[2]).name).name
        assert report(*source, name=name) == expected, kind


def test_a_report_batch_reads_a_database(tmp_path):
    url = _sqlite(tmp_path)
    Path("batch.toml").write_text(f'[[report]]\nname = "db"\nlogs = "{url}"\n'
                                  'table = "events"\noutput = "db.md"\n')
    result = run_cli("report", "--config", "batch.toml")
    assert result.exit_code == 0, result.output
    assert "3,524 events" in Path("db.md").read_text(encoding="utf-8")


def test_a_databases_roles_not_held_stay_mapped_and_tell_duplicates_apart(tmp_path, read):
    # A database sends the mapped columns alone; read_log's hold (cjm discover's) must leave
    # the mapping whole, and two rows that differ only in a role not held no duplicates.
    path = tmp_path / "d.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE events (case_id TEXT, stage TEXT, timestamp TEXT, "
                    "device TEXT)")
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", [
            ("a", "view", "2024-03-01T10:00:00Z", "web"),
            ("a", "view", "2024-03-01T10:00:00Z", "app"),   # another device
            ("b", "view", "2024-03-01T10:00:00Z", "web"),
            ("b", "view", "2024-03-01T10:00:00Z", "web")])  # identical
    log = read(f"sqlite:///{path}", table="events", hold=["outcome"])
    assert log.mapping.column("device") == "device"
    duplicates = {w.code: w for w in log.warnings}["duplicates"]
    assert (duplicates.count, duplicates.examples) == (1, (f"sqlite:///{path}?table=events:3",))


def test_real_timestamps_are_read_as_such_and_give_the_same_journeys(tmp_path, postgres):
    expected = _json("discover", str(_csv(tmp_path)), "--no-map")
    url = _postgres(postgres, "typed", types='ALTER TABLE typed ALTER COLUMN "timestamp" '
                    'TYPE timestamptz USING "timestamp"::timestamptz')
    got = _json("discover", url, "--table", "typed", "--no-map")
    assert got["reading"].pop("timestamps").startswith("native TIMESTAMP")
    expected["reading"].pop("timestamps")
    assert got == expected


REJECTS = ("SELECT * FROM (VALUES ('a', 'Start', '2024-01-01T10:00:00Z'), "
           "('a', 'Middle', 'yesterday'), ('a', 'End', '2024-01-01T10:05:00Z'), "
           "('', 'End', '2024-01-01T10:06:00Z'), ('b', NULL, '2024-01-02T10:00:00Z'), "
           "('b', 'Start', '2024-01-02T09:00:00Z')) t(journey, stage, timestamp)")


def test_rejected_rows_are_named_by_key_and_position(tmp_path, postgres):
    expected = _json("discover", str(_csv(tmp_path, REJECTS)), "--no-map")
    for kind, source in {"sqlite": [_sqlite(tmp_path, REJECTS), "--table", "events"],
                         "postgresql": [_postgres(postgres, "rejects", REJECTS), "--table",
                                        "rejects"]}.items():
        result = run_cli("discover", *source, "--no-map", "--rejects", "rejects.csv",
                         "--json", "out.json")
        assert result.exit_code == 0, result.output
        got = json.loads(Path("out.json").read_text())
        assert got["reading"]["rejected"] == expected["reading"]["rejected"] == 3, kind
        assert got["journeys"] == expected["journeys"]
        with open("rejects.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        name = DatabaseSource(source[0], source[2]).name
        # Ordered by journey, stage, timestamp (NULLs last): '' < a < b; End < Middle < Start.
        assert [(r["file"], r["line"], r["reason"].split(" (")[0], r["content"])
                for r in rows] == [
            (name, "1", "missing journey id", "journey id=, stage=End, "
             "timestamp=2024-01-01T10:06:00Z"),
            (name, "3", "unparsable timestamp", "journey id=a, stage=Middle, "
             "timestamp=yesterday"),
            (name, "6", "missing stage", "journey id=b, stage=, "
             "timestamp=2024-01-02T10:00:00Z"),
        ], kind
        assert ("line numbers: positions in the rows ordered by journey, stage, timestamp "
                "(NULLs last)") in result.output


def test_convert_writes_tables_that_read_back_the_same(tmp_path, postgres):
    path = _csv(tmp_path)
    expected = _json("discover", str(path), "--no-map")
    for url in (f"duckdb:///{tmp_path / 'out.duckdb'}", postgres.url()):
        result = run_cli("convert", str(path), "-o", url, "--table", "converted")
        assert result.exit_code == 0, result.output
        assert "converted" in result.output and "3,524 rows" in result.output
        assert _json("discover", url, "--table", "converted", "--no-map") == expected
    again = run_cli("convert", str(path), "-o", postgres.url(), "--table", "converted")
    assert again.exit_code == 1 and "converted" in again.output
    assert PASSWORD not in again.output


def _codes_showing_no_secret(runs: list[tuple[str, ...]]) -> list[int]:
    """Each command's exit code, after checking that neither password is in what it printed."""
    codes = []
    for args in runs:
        result = run_cli(*args)
        codes.append(result.exit_code)
        for secret in (PASSWORD, "Wr0ng-"):
            assert secret not in result.output and secret not in (result.stderr or ""), args
    return codes


def test_a_password_is_never_shown_or_written(tmp_path, postgres):
    url = _postgres(postgres, "secret_rows", REJECTS)
    typed = _postgres(postgres, "secret_typed", REJECTS.replace("'yesterday'", "NULL"),
                      TYPED.format("secret_typed"))
    wrong = postgres.url(password="Wr0ng-" + PASSWORD)
    runs = [
        ("discover", url, "--table", "secret_rows", "--rejects", "r.csv", "--json", "d.json",
         "-o", "d.svg"),
        ("discover", typed, "--table", "secret_typed", "--since", "2024-01-02", "--json",
         "w.json"),
        ("report", url, "--table", "secret_rows", "-o", "r.md"),
        ("inspect", url, "--table", "secret_rows"),
        ("explore", url, "--table", "secret_rows", "-o", "e.html"),
        ("discover", wrong, "--table", "secret_rows"),
        ("discover", url, "--table", "no_such_table"),
        ("discover", url, "--query", "SELEKT nonsense"),
        ("discover", url + "?password=" + PASSWORD, "--table", "secret_rows"),
        ("discover", url),
    ]
    assert _codes_showing_no_secret(runs) == [0, 0, 0, 0, 0, 1, 1, 1, 0, 2]
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert {"r.csv", "d.json", "d.svg", "r.md", "e.html", "w.json"} <= {p.name for p in written}
    assert "left_in_database" in Path("w.json").read_text()
    for path in written:
        if path.suffix != ".db":
            assert PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path
    assert "***" in Path("d.json").read_text()


def test_credentials_from_the_environment_and_cjm_toml(tmp_path, postgres, monkeypatch):
    _postgres(postgres, "env_rows", REJECTS)
    bare = postgres.url(password=None)
    assert run_cli("discover", bare, "--table", "env_rows", "--no-map").exit_code == 1
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # libpq, inside the ADBC driver, reads it
    assert run_cli("discover", bare, "--table", "env_rows", "--no-map").exit_code == 0
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:cjm_tester:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))  # ~/.pgpass, elsewhere
    assert run_cli("discover", bare, "--table", "env_rows", "--no-map").exit_code == 0
    monkeypatch.delenv("PGPASSFILE")
    Path("cjm.toml").write_text(f'database_password = "{PASSWORD}"\n')
    result = run_cli("discover", bare, "--table", "env_rows", "--no-map")
    assert result.exit_code == 0 and PASSWORD not in result.output
    alias = bare.replace("postgresql://", "postgres://")  # libpq's other scheme
    assert run_cli("discover", alias, "--table", "env_rows", "--no-map").exit_code == 0


def test_the_password_comes_from_the_url_then_pgpassword_then_cjm_toml_then_pgpass(
        tmp_path, postgres, monkeypatch):
    """libpq's order (the URL, $PGPASSWORD, the password file), with cjm.toml's password
    where cjm's settings go: after the variable, before the user-wide file."""
    _postgres(postgres, "order_rows", REJECTS)
    wrong = "Wr0ng-" + PASSWORD

    def code(url: str, pgpassword: str | None = None, toml: str | None = None,
             pgpass: str | None = None) -> int:
        if pgpassword is None:
            monkeypatch.delenv("PGPASSWORD", raising=False)
        else:
            monkeypatch.setenv("PGPASSWORD", pgpassword)
        passfile = tmp_path / ("pgpass" if pgpass else "none")  # none: no password file
        if pgpass:
            passfile.write_text(f"127.0.0.1:{postgres.port}:*:cjm_tester:{pgpass}\n")
            passfile.chmod(0o600)
        monkeypatch.setenv("PGPASSFILE", str(passfile))
        Path("cjm.toml").write_text(f'database_password = "{toml}"\n' if toml else "")
        result = run_cli("discover", url, "--table", "order_rows", "--no-map")
        assert PASSWORD not in result.output and wrong not in result.output
        assert result.exit_code == 0 or "password authentication failed" in result.output
        return result.exit_code

    for prefix in ("", "adbc:"):  # the built-in scheme, and ADBC's PostgreSQL driver by name
        bare = prefix + postgres.url(password=None)
        assert code(prefix + postgres.url(), pgpassword=wrong, toml=wrong, pgpass=wrong) == 0
        assert code(bare, pgpassword=PASSWORD, toml=wrong, pgpass=wrong) == 0
        assert code(bare, pgpassword=wrong, toml=PASSWORD) == 1
        assert code(bare, toml=PASSWORD, pgpass=wrong) == 0
        assert code(bare, toml=wrong, pgpass=PASSWORD) == 1
        assert code(bare, pgpass=PASSWORD) == 0


def test_credentials_follow_the_same_order_for_spark(monkeypatch):
    """What Spark's JDBC source is handed: $PGPASSWORD before cjm.toml's password."""
    monkeypatch.setenv("PGPASSWORD", "from-env")
    source = DatabaseSource("postgresql://me@h:5433/shop", "t", password="toml")
    assert source.credentials() == ("me", "from-env")
    assert source.connect_url == "postgresql://me@h:5433/shop"
    # A driver other than PostgreSQL's reads no $PGPASSWORD: cjm.toml's password goes in.
    other = DatabaseSource("adbc:snowflake://me@acct/db", "t", password="toml")
    assert other.connect_url == "snowflake://me:toml@acct/db"
    monkeypatch.delenv("PGPASSWORD")
    assert source.connect_url == "postgresql://me:toml@h:5433/shop"
    given = DatabaseSource("postgresql://me@h/shop?password=url", "t", password="toml")
    assert given.connect_url == "postgresql://me@h/shop?password=url"
    assert given.credentials() == ("me", "url")


@pytest.mark.parametrize(("args", "message"), [
    (["--table", "events", "--query", "SELECT 1"], "exactly one"),
    ([], "give --table NAME or --query"),
    (["--table", " "], "--table: give a table name"),
])
def test_table_or_query_exactly_one(args, message, tmp_path):
    result = run_cli("discover", _sqlite(tmp_path), *args, "--no-map")
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) <= 2  # the error and what to do


def test_usage_errors_say_what_to_do(tmp_path):
    path = _csv(tmp_path)
    for args, message in [
        ([str(path), "--table", "events"], "--table: only for a database input"),
        ([_sqlite(tmp_path), str(path), "--table", "events"], "read alone"),
        (["sqlite:///missing.db", "--table", "events"], "no such database file"),
        (["duckdb:///missing.duckdb", "--table", "events", "--engine", "spark"],
         "no such database file"),  # before Spark starts
    ]:
        result = run_cli("discover", *args, "--no-map")
        assert result.exit_code == 2 and message in result.output, args
    assert not Path("missing.db").exists()  # SQLite would have created it
    assert not Path("missing.duckdb").exists()


def test_query_reads_only_its_rows_and_only_mapped_columns_travel(tmp_path):
    url = _sqlite(tmp_path)
    whole = _json("discover", url, "--table", "events", "--no-map")
    web = _json("discover", url, "--query", "SELECT * FROM events WHERE channel = 'web'",
                "--no-map")
    assert 0 < web["reading"]["rows"] < whole["reading"]["rows"]
    from cjm.accounting import given_roles
    from cjm.config import Config
    from cjm.engine.duckdb.readers.database import load_database
    from cjm.schema import mapped_columns
    from cjm.sources import database_source

    with duckdb.connect() as con:
        load = load_database(con, database_source([url], "events", None), 0,
                             mapped_columns(given_roles(None, Config())))
        kept = [name for (name,) in con.execute("SELECT column_name FROM (DESCRIBE raw_0)")
                .fetchall()]
    assert "customer_id" in duckdb.sql(ROWS).columns
    assert kept == ["_line", *load.columns] and "customer_id" not in kept  # no role: not read


def test_a_file_name_with_url_characters_is_read(tmp_path):
    _sqlite(tmp_path, name="shop #1?.db")  # opened read-only, as a file: URI
    url = f"sqlite:///{quote(str(tmp_path / 'shop #1?.db'))}"  # in the URL, %23 and %3F
    assert run_cli("discover", url, "--table", "events", "--no-map").exit_code == 0


def test_redact_hides_passwords():
    assert redact("postgresql://me:pw@h:5/db") == "postgresql://me:***@h:5/db"
    assert redact("postgresql://h/db?user=me&password=pw&x=1") == \
        "postgresql://h/db?user=me&password=***&x=1"
    assert redact("sqlite:////data/x.db") == "sqlite:////data/x.db"
    source = DatabaseSource("postgresql://me:p%40ss@h/db", "t")
    assert source.hide("failed for p@ss and p%40ss") == "failed for *** and ***"


# Any ADBC driver: adbc:DRIVER:URI, the driver found by name, package or library path.

def _generic(builtin: str) -> dict[str, str]:
    """The adbc:DRIVER:URI forms of a built-in sqlite:/// or postgresql:// URL."""
    if builtin.startswith("postgresql://"):
        return {"name": "adbc:" + builtin,  # ADBC's shorthand: the URI's scheme is the driver
                "package": "adbc:adbc_driver_postgresql:" + builtin}
    import adbc_driver_sqlite

    path = DatabaseSource(builtin).path
    library = Path(adbc_driver_sqlite.__file__).parent / "libadbc_driver_sqlite.so"
    return {"name": f"adbc:sqlite:{path}", "package": f"adbc:adbc_driver_sqlite:file:{path}",
            "library": f"adbc:{library}:{path}"}


def _bytes(*args: str, source: str) -> str:
    """The JSON text with the source's own name (its one difference) replaced."""
    result = run_cli(*args, "--json", "-")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert json.dumps(source)[1:-1] in text
    return text.replace(json.dumps(source)[1:-1], "SOURCE")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_any_adbc_driver_gives_the_builtin_json_and_the_csvs(command, tmp_path, postgres):
    name, *rest = COMMANDS[command]
    path = _csv(tmp_path)
    csv_json = _json(name, str(path), *rest)
    for builtin in (_sqlite(tmp_path), _postgres(postgres, f"generic{command}")):
        table = "events" if builtin.startswith("sqlite") else f"generic{command}"
        expected = _bytes(name, builtin, "--table", table, *rest,
                          source=DatabaseSource(builtin, table).name)
        for form, url in _generic(builtin).items():
            got = _bytes(name, url, "--table", table, *rest,
                         source=DatabaseSource(url, table).name)
            assert got == expected, (form, url)
            assert _json(name, url, "--table", table, *rest) == csv_json, (form, url)


def test_adbc_rejects_are_named_by_position_as_the_builtin_forms(tmp_path, postgres):
    for builtin in (_sqlite(tmp_path, REJECTS), _postgres(postgres, "generic_rejects", REJECTS)):
        table = "events" if builtin.startswith("sqlite") else "generic_rejects"
        expected = run_cli("discover", builtin, "--table", table, "--no-map", "--rejects",
                           "builtin.csv")
        got = run_cli("discover", _generic(builtin)["name"], "--table", table, "--no-map",
                      "--rejects", "generic.csv")
        assert got.exit_code == expected.exit_code == 0, got.output
        names = [DatabaseSource(u, table).name for u in (builtin, _generic(builtin)["name"])]
        assert Path("generic.csv").read_text().replace(names[1], names[0]) == \
            Path("builtin.csv").read_text()
        assert Path("generic.csv").read_text().count(names[1]) == 3


def test_adbc_reads_only_the_mapped_columns(tmp_path):
    from cjm.accounting import given_roles
    from cjm.config import Config
    from cjm.engine.duckdb.readers.database import load_database
    from cjm.schema import mapped_columns
    from cjm.sources import database_source

    url = _generic(_sqlite(tmp_path))["name"]
    with duckdb.connect() as con:
        load = load_database(con, database_source([url], "events", None), 0,
                             mapped_columns(given_roles(None, Config())))
        kept = [name for (name,) in con.execute("SELECT column_name FROM (DESCRIBE raw_0)")
                .fetchall()]
    assert load.format == "sqlite" and load.path == f"{url}?table=events"
    assert kept == ["_line", *load.columns] and "customer_id" not in kept


def test_convert_writes_a_table_through_any_adbc_driver(tmp_path, postgres):
    path = _csv(tmp_path)
    expected = _json("discover", str(path), "--no-map")
    for url in (f"adbc:sqlite:{tmp_path / 'written.db'}", "adbc:" + postgres.url()):
        result = run_cli("convert", str(path), "-o", url, "--table", "adbc_converted")
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output
        assert _json("discover", url, "--table", "adbc_converted", "--no-map") == expected


@pytest.mark.parametrize(("url", "package"), [
    ("adbc:snowflake://analyst:Sn0w-secret@acct/db/public?warehouse=wh", "adbc-driver-snowflake"),
    ("adbc:adbc_driver_flightsql:grpc+tls://analyst:Sn0w-secret@host:443",
     "adbc-driver-flightsql"),
    ("adbc:bigquery:bigquery://project?token=Sn0w-secret", "adbc-driver-bigquery"),
])
def test_a_driver_not_installed_names_the_package_to_install(url, package):
    result = run_cli("discover", url, "--table", "events", "--no-map")
    assert result.exit_code == 2, result.output
    assert f"pip install {package}" in result.output.splitlines()[0]
    assert url.split("//")[0] in result.output  # as written (Rich makes :snowflake: an emoji)
    assert "Sn0w-secret" not in result.output


@pytest.mark.parametrize("url", ["adbc:", "adbc:sqlite", "adbc::/x.db"])
def test_an_adbc_url_without_its_driver_or_uri_is_a_usage_error(url):
    result = run_cli("discover", url, "--table", "events", "--no-map")
    assert result.exit_code == 2 and "adbc:DRIVER:URI" in result.output, result.output


def test_an_adbc_password_is_never_shown_or_written(tmp_path, postgres):
    _postgres(postgres, "adbc_secret_rows", REJECTS)
    url = "adbc:" + postgres.url()
    wrong = "adbc:" + postgres.url(password="Wr0ng-" + PASSWORD)
    runs = [
        ("discover", url, "--table", "adbc_secret_rows", "--rejects", "r.csv", "--json",
         "d.json", "-o", "d.svg"),
        ("report", url, "--table", "adbc_secret_rows", "-o", "r.md"),
        ("inspect", url, "--table", "adbc_secret_rows"),
        ("discover", wrong, "--table", "adbc_secret_rows"),
        ("discover", url, "--query", "SELEKT nonsense"),
        ("discover", "adbc:" + postgres.url(password=None) + "?password=" + PASSWORD,
         "--table", "adbc_secret_rows"),
        ("discover", url + "?token=" + PASSWORD, "--table", "adbc_secret_rows"),
        ("convert", str(_csv(tmp_path)), "-o", url, "--table", "adbc_secret_rows"),
    ]  # with --engine spark: test_spark_never_shows_logs_or_writes_a_password
    assert _codes_showing_no_secret(runs) == [0, 0, 0, 1, 1, 0, 1, 1]
    for path in (p for p in tmp_path.iterdir() if p.is_file()):
        assert PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path
    assert "***" in Path("d.json").read_text()


def test_the_name_of_a_source_with_parameters_reads_as_one_url(tmp_path):
    assert DatabaseSource("adbc:snowflake://me@acct/db?token=t0k", "events").name == \
        "adbc:snowflake://me@acct/db?token=***&table=events"
    assert DatabaseSource("postgresql://me:pw@h/db?sslmode=require", None, "SELECT 1").name \
        == "postgresql://me:***@h/db?sslmode=require&query"
    assert DatabaseSource("postgresql://me@h/db", "events").name == \
        "postgresql://me@h/db?table=events"
    url = f"adbc:sqlite:file:{Path(_sqlite(tmp_path)[len('sqlite:///'):])}?mode=ro"
    result = run_cli("discover", url, "--table", "events", "--no-map", "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reading"]["files"][0]["path"] == f"{url}&table=events"


def test_only_a_sqlite_or_duckdb_url_has_a_file_path():
    assert DatabaseSource("sqlite:////data/x.db").path == "/data/x.db"
    assert DatabaseSource("duckdb:///x.duckdb").path == "x.duckdb"
    for url in ("adbc:sqlite:/data/x.db", "adbc:duckdb:/data/x.duckdb",
                "postgresql://me@h/db"):
        with pytest.raises(ValueError, match="no file path"):
            DatabaseSource(url, "t").path  # noqa: B018


def test_redact_hides_every_secret_and_no_file_name():
    hidden = ("password", "sslpassword", "token", "access_token", "api_key", "apikey",
              "access_key", "secret_key", "aws_secret_access_key", "private_key",
              "privateKey", "client_secret", "passcode", "private_key_file_pwd", "key",
              "credentials", "pwd", "sslkey_password")
    for name in hidden:
        assert redact(f"adbc:x://h/db?mode=1&{name}=S3cr3t") == \
            f"adbc:x://h/db?mode=1&{name}=***", name
    # Parameters that name a file (the client key's file, the password file): shown.
    files = ("sslkey=/home/me/.postgresql/client.key", "ssl_key=/etc/ssl/k.pem",
             "passfile=/home/me/.pgpass", "private_key_file=/keys/rsa_key.p8",
             "credentials_file=/keys/sa.json", "private_key_path=/keys/k.pem",
             "sslcert=/c.crt", "sslrootcert=/ca.crt")
    for parameter in files:
        url = f"postgresql://me:pw@h/db?{parameter}"
        assert redact(url) == f"postgresql://me:***@h/db?{parameter}"
        source = DatabaseSource(url, "t")
        assert set(source.secrets()) == {"pw"}
        message = f"could not open {parameter.split('=')[1]}"
        assert source.hide(message) == message


def test_redact_hides_the_secrets_of_any_driver():
    assert redact("adbc:snowflake://me:pw@acct/db?warehouse=wh&token=t0k") == \
        "adbc:snowflake://me:***@acct/db?warehouse=wh&token=***"
    assert redact("adbc:snowflake:me:pw@acct/db?privateKey=k3y&passcode=123") == \
        "adbc:snowflake:me:***@acct/db?privateKey=***&passcode=***"
    assert redact("adbc:flightsql:grpc+tls://me:p@ss@h:443") == \
        "adbc:flightsql:grpc+tls://me:***@h:443"
    assert redact("adbc:x:u?private_key=a;client_secret=b&api_key=c") == \
        "adbc:x:u?private_key=***;client_secret=***&api_key=***"
    assert redact("adbc:sqlite:file:/data/monkey=1.db?mode=ro") == \
        "adbc:sqlite:file:/data/monkey=1.db?mode=ro"
    source = DatabaseSource("adbc:snowflake://me@acct/db?token=t%2Fk", "t", password="pw")
    assert source.connect_url == "snowflake://me:pw@acct/db?token=t%2Fk"
    assert source.hide("bad token t/k, t%2Fk, pw") == "bad token ***, ***, ***"


def test_default_outputs_are_named_after_the_database_file(tmp_path):
    _sqlite(tmp_path, name="shop.db")
    for command, written in (("discover", "shop.journey.svg"), ("model", "shop.bpmn")):
        result = run_cli(command, "adbc:sqlite:shop.db", "--table", "events")
        assert result.exit_code == 0, result.output
        assert (tmp_path / written).is_file(), sorted(p.name for p in tmp_path.iterdir())


def test_a_driver_installed_by_manifest_is_found_by_its_name(tmp_path, monkeypatch):
    """As dbc installs drivers: a manifest NAME.toml on $ADBC_DRIVER_PATH names the library."""
    builtin = _sqlite(tmp_path)
    library = _generic(builtin)["library"].split(":")[1]
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "warehouse.toml").write_text(
        f'manifest_version = 1\nname = "warehouse"\n[Driver]\nshared = "{library}"\n')
    monkeypatch.setenv("ADBC_DRIVER_PATH", str(tmp_path / "drivers"))
    url = f"adbc:warehouse:{DatabaseSource(builtin).path}"
    assert _bytes("discover", url, "--table", "events", "--no-map",
                  source=DatabaseSource(url, "events").name).replace(
        '"format": "warehouse"', '"format": "sqlite"') == \
        _bytes("discover", builtin, "--table", "events", "--no-map",
               source=DatabaseSource(builtin, "events").name)


def test_credentials_are_found_as_libpq_finds_them(tmp_path, monkeypatch):
    """The user and password Spark's JDBC driver is handed: the URL's, else $PGPASSWORD,
    else cjm.toml's password, else the first matching line of the password file."""
    for name in ("PGPASSWORD", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    passfile = tmp_path / "pgpass"
    passfile.write_text("# host:port:database:user:password\n"
                        "other:5432:*:me:nope\n"
                        r"h:5433:shop:me:a\:b\\c" "\n"
                        "*:*:*:me:any\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    assert DatabaseSource("postgresql://me:pw@h:5433/shop").credentials() == ("me", "pw")
    assert DatabaseSource("postgresql://me@h:5433/shop", password="toml").credentials() == \
        ("me", "toml")
    assert DatabaseSource("postgresql://h/db?user=me&password=p%40w").credentials() == \
        ("me", "p@w")
    assert DatabaseSource("postgresql://me@h:5433/shop").credentials() == ("me", r"a:b\c")
    assert DatabaseSource("postgresql://me@elsewhere/x").credentials() == ("me", "any")
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert DatabaseSource("postgresql://me@h:5433/shop").credentials() == ("me", "from-env")
    monkeypatch.delenv("PGPASSWORD")
    passfile.chmod(0o644)  # libpq ignores a password file others may read
    assert DatabaseSource("postgresql://me@h:5433/shop").credentials() == ("me", None)
    monkeypatch.setenv("PGUSER", "pguser")
    assert DatabaseSource("postgresql://h/shop").credentials() == ("pguser", None)


# Spark reads a database through its JDBC source: run in a process of its own that starts
# the JVM (cjm sends the JVM's output to its log file, which is searched too).
_SPARK_RUNS = """
import json, os, sys
from typer.testing import CliRunner
from cjm.cli import app
from cjm.engine.spark.session import SPARK_LOG
results = []
for run in json.loads(sys.argv[1]):
    os.chdir(run["cwd"])
    result = CliRunner().invoke(app, run["args"] + ["--engine", "spark"],
                                env={"NO_COLOR": "1", "COLUMNS": "100", **run["env"]})
    log = SPARK_LOG.read_bytes().decode("utf-8", "replace") if SPARK_LOG.exists() else ""
    results.append({"code": result.exit_code, "output": result.output, "log": log})
print(json.dumps(results))
"""


def test_spark_never_shows_logs_or_writes_a_password(tmp_path, postgres):
    import os
    import shutil
    import subprocess
    import sys

    pytest.importorskip("pyspark", reason="the Spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: PySpark 4 needs Java 17 or later")
    from cjm.engine.spark.session import jdbc_jars

    if len(jdbc_jars()) < 2:
        pytest.skip("the JDBC drivers are not installed "
                    "(apt-get install libpostgresql-jdbc-java libxerial-sqlite-jdbc-java)")
    url = _postgres(postgres, "secret_rows", REJECTS)
    wrong = postgres.url(password="Wr0ng-" + PASSWORD)
    bare = postgres.url(password=None)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:cjm_tester:{PASSWORD}\n")
    passfile.chmod(0o600)
    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "cjm.toml").write_text(f'database_password = "{PASSWORD}"\n')
    table = ["--table", "secret_rows"]
    runs = [
        (["discover", url, *table, "--rejects", "r.csv", "--json", "d.json", "-o", "d.svg"],
         {}, 0),
        (["report", url, *table, "-o", "r.md"], {}, 0),
        (["inspect", url, *table], {}, 0),
        (["discover", wrong, *table], {}, 1),
        (["discover", url, "--table", "no_such_table"], {}, 1),
        (["discover", url, "--query", "SELEKT nonsense"], {}, 1),
        (["discover", url + "?password=" + PASSWORD, *table], {}, 0),
        (["discover", bare, *table], {"PGPASSWORD": PASSWORD}, 0),
        (["discover", bare, *table], {"PGPASSFILE": str(passfile)}, 0),
        (["discover", bare, *table, "--json", "toml.json"], {}, 0),
        (["discover", bare, *table], {}, 1),
        # Read as Arrow by the executors, the password pickled into the task's function.
        (["discover", "adbc:" + url, *table, "--rejects", "ar.csv", "--json", "ad.json"], {}, 0),
        (["inspect", "adbc:" + url, *table], {}, 0),
        (["discover", "adbc:" + wrong, *table], {}, 1),
        (["discover", "adbc:" + url, "--query", "SELEKT nonsense"], {}, 1),
        (["discover", "adbc:" + bare, *table, "--json", "atoml.json"], {}, 0),
    ]
    work = [str(configured if i in (9, 15) else tmp_path) for i in range(len(runs))]
    temp = tmp_path / "tmp"  # cjm's Spark log goes here: $TMPDIR/cjm-spark-<uid>.log
    temp.mkdir()
    events = tmp_path / "events"  # Spark's event log: its plans, jobs and tasks
    events.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    process = subprocess.run(
        [sys.executable, "-c", _SPARK_RUNS, json.dumps(
            [{"args": args, "env": extra, "cwd": cwd}
             for (args, extra, _), cwd in zip(runs, work, strict=True)])],
        capture_output=True, text=True, timeout=900, check=False,
        env={**env, "PYTHONPATH": str(Path(__file__).parents[1]), "TMPDIR": str(temp),
             "PGPASSFILE": str(tmp_path / "none"), "PYSPARK_SUBMIT_ARGS":
             f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir={events.as_uri()} "
             "--conf spark.eventLog.compress=false pyspark-shell"})
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads(process.stdout)
    assert [r["code"] for r in results] == [code for *_, code in runs], \
        [r["output"] for r in results]
    assert "password authentication failed" in results[3]["output"]
    assert "no_such_table" in results[4]["output"]
    assert "syntax error" in results[5]["output"]
    assert "password authentication failed" in results[13]["output"]
    assert "syntax error" in results[14]["output"]
    assert any(r["log"] for r in results)  # the JVM wrote its own log
    plans = b"".join(p.read_bytes() for p in events.rglob("events_*"))
    assert b"MapInArrow partial" in plans and b"JDBCRelation" in plans  # the plans are there
    for secret in (PASSWORD, "Wr0ng-"):
        assert secret not in process.stderr
        for args, result in zip(runs, results, strict=True):
            assert secret not in result["output"] and secret not in result["log"], args[:2]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != passfile
               and p.name != "cjm.toml"]
    assert {"r.csv", "d.json", "d.svg", "r.md", "toml.json", "ar.csv", "ad.json",
            "atoml.json"} <= {p.name for p in written}
    for path in written:  # the outputs and Spark's event log
        assert PASSWORD.encode() not in path.read_bytes(), path
    assert "***" in Path("d.json").read_text() and "***" in Path("ad.json").read_text()


def test_default_output_names_hold_no_part_of_the_url():
    from cjm.sources import output_stem

    assert output_stem([f"postgresql://me:{PASSWORD}@h/db?password={PASSWORD}"]) == "journey"
    assert output_stem(["sqlite:////data/shop.events.db"]) == "shop.events"


# The window's log: journeys straddling --since, ties (a database's rows are numbered in the
# order of their mapped columns, so the CSV is written in that order and its ties keep it),
# and rejected rows: inside a selected journey, outside the window, and later than any event.
ROLE_ORDER = "journey_id, stage, timestamp, channel, device, segment, converted"
WINDOW_ROWS = (
    f"SELECT * FROM (SELECT * FROM read_csv({str(EXAMPLE)!r}, all_varchar=true) "
    "WHERE journey_id < 'J0000800' UNION ALL BY NAME SELECT * FROM (VALUES "
    "(NULL, 'Purchase', '2024-03-02T10:00:00Z'), ('J0000144', NULL, '2024-02-02T10:00:00Z'), "
    "('J0000300', 'Visit Site', NULL), ('J0000301', NULL, '2024-06-01T00:00:00Z')"
    "{unparsable}) t(journey_id, stage, timestamp)) "
    f"ORDER BY {', '.join(c + ' NULLS LAST' for c in ROLE_ORDER.split(', '))}")
WINDOWS = [["--since", "2024-02-01", "--until", "2024-04-01"],
           ["--since", "2024-03-15T12:00:00+02:00", "--still-active", "30d"],
           ["--until", "2024-01-20"],
           ["--since", "2024-02-01", "--until", "2024-04-01", "--window", "events"],
           ["--since", "2024-03-01", "--journey-gap", "1d", "--still-active", "30d",
            "--drop-duplicates"]]
TYPED = 'ALTER TABLE {0} ALTER COLUMN "timestamp" TYPE timestamptz USING "timestamp"::timestamptz'
# Where --since/--until go to the database: a real timestamp column.
PUSHED = ("duckdb typed", "postgresql typed")


def _window_sources(folder: Path, server, name: str) -> dict[str, list[str]]:
    """The window's log in each database (with an unparsable timestamp where text is kept),
    and in PostgreSQL also with real timestamps; the CSV of the same rows first."""
    text = WINDOW_ROWS.format(unparsable=", ('J0000302', 'Search', 'soon')")
    typed = WINDOW_ROWS.format(unparsable="")
    return {
        "csv": [str(_csv(folder, text))],
        "typed csv": [str(_csv(folder / "typed", typed))],
        "sqlite": [_sqlite(folder, text), "--table", "events"],
        "duckdb": [_duckdb(folder, text), "--table", "events"],
        "postgresql": [_postgres(server, name, text), "--table", name],
        "postgresql typed": [_postgres(server, f"{name}typed", typed,
                                       TYPED.format(f"{name}typed")), "--table",
                             f"{name}typed"],
        "duckdb typed": [_duckdb(folder / "typed", f"SELECT * REPLACE (CAST(timestamp AS "
                                 f"TIMESTAMPTZ) AS timestamp) FROM ({typed})"),
                         "--table", "events"],
    }


def _same_but_reading(got: dict, expected: dict) -> dict:
    """``got``'s reading accounting, after checking that all else is ``expected``'s and
    that the accounting adds up, the rows left in the database among them."""
    reading, whole = got.pop("reading"), dict(expected)
    assert got == {k: v for k, v in whole.items() if k != "reading"}
    [entry] = reading["files"]
    assert entry["rows"] == whole["reading"]["rows"]
    assert entry["events"] + entry["rejected"] + entry["filtered"] == entry["rows"]
    assert 0 < entry["left_in_database"] <= entry["filtered"]
    assert reading["rows"] == reading["events"] + reading["rejected"] + reading["filtered"]
    sent = [n for n in reading["notes"] if n.startswith("--since/--until: ")]
    assert len(sent) == 1 and "left in the database" in sent[0]
    assert [n for n in reading["notes"] if n not in sent] == whole["reading"]["notes"]
    return reading


def _expected(kind: str) -> str:
    return "typed csv" if "typed" in kind else "csv"


@pytest.mark.parametrize("window", WINDOWS, ids=["since-until", "since-still-active", "until",
                                             "events", "journey-gap"])
def test_since_until_give_the_csv_journeys_from_every_database(window, tmp_path, postgres):
    """The same journeys, figures and bytes as the CSV's; where the window is sent to the
    database (a real timestamp column), the reading accounting counts what it left there."""
    (tmp_path / "typed").mkdir()
    sources = _window_sources(tmp_path, postgres, "window")
    got = {kind: _json("discover", *source, "--no-map", *window)
           for kind, source in sources.items()}
    for kind in sources:
        got[kind]["reading"].pop("timestamps")  # "native TIMESTAMP …" where typed
        if kind in PUSHED:
            _same_but_reading(got[kind], got[_expected(kind)])
        else:
            assert got[kind] == got[_expected(kind)], kind
    whole = _json("discover", *sources["csv"], "--no-map")
    assert got["csv"]["reading"]["rejected"] == whole["reading"]["rejected"] == 5
    assert got["csv"]["journeys"] < whole["journeys"]
    if "--still-active" in window:  # the log's end is the whole log's, not the window's
        assert got["csv"]["dead_ends"]["open_journeys"] > 0


def test_inspect_and_a_windowed_report_are_the_csvs(tmp_path, postgres):
    """inspect (every row's accounting, rejects named by position) and report --since/--until
    give the CSV's bytes; a CSV line is the row's position plus its header line."""
    (tmp_path / "typed").mkdir()
    sources = _window_sources(tmp_path, postgres, "inspected")

    def inspect(kind: str, source: list[str]) -> dict:
        result = run_cli("inspect", *source, "--json", "-")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        data["files"] = [{k: f[k] for k in ("rows", "events", "rejected", "filtered")}
                         for f in data["files"]]
        data["timestamps"].pop("format")
        offset = 1 if "csv" in kind else 0
        for reason in data["rejects"]:
            reason["examples"] = [int(e.rpartition(":")[2]) - offset for e in reason["examples"]]
        return data

    def report(kind: str, source: list[str]) -> str:
        result = run_cli("report", *source, "--since", "2024-02-01", "--until", "2024-04-01",
                         "-o", "r.md")
        assert result.exit_code == 0, result.output
        name = (Path(source[0]).name if "csv" in kind
                else Path(DatabaseSource(source[0], source[2]).name).name)
        text = Path("r.md").read_text(encoding="utf-8").replace(name, "SOURCE")
        return "\n".join(line for line in text.splitlines()
                         if not (line.startswith("| ") and "SOURCE" in line)
                         and "timestamps" not in line.lower())

    inspected = {kind: inspect(kind, source) for kind, source in sources.items()}
    reports = {kind: report(kind, source) for kind, source in sources.items()}
    for kind in sources:
        assert inspected[kind] == inspected[_expected(kind)], kind
        assert reports[kind] == reports[_expected(kind)], kind
    assert inspected["csv"]["rejected"] == 5 and "2024-02-01 to 2024-04-01" in reports["csv"]


@pytest.mark.parametrize("kind", ["TIMESTAMP", "DATE"])
def test_a_naive_timestamp_or_date_is_compared_in_the_log_time_zone(kind, tmp_path, postgres):
    """A column without a zone is sent the window's bounds as wall times in --timezone (a
    date as its midnight), as cjm reads it: the CSV of the same values, a day that changes
    the clocks at the edge; in a DuckDB file and in PostgreSQL."""
    typed = WINDOW_ROWS.format(unparsable="")
    select = (f"SELECT * REPLACE (CAST(CAST(timestamp AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS "
              f"{kind}) AS timestamp) FROM ({typed}) "
              f"ORDER BY {', '.join(c + ' NULLS LAST' for c in ROLE_ORDER.split(', '))}")
    (tmp_path / "db").mkdir()
    window = ["--no-map", "--timezone", "Europe/Amsterdam", "--since",
              "2024-03-31T01:30:00+00:00", "--until", "2024-04-20T00:00:00+02:00"]
    expected = _json("discover", str(_csv(tmp_path, select)), *window)
    expected["reading"].pop("timestamps")
    for source in ([_duckdb(tmp_path / "db", select), "--table", "events"],
                   [_postgres(postgres, f"naive{kind}", select), "--table", f"naive{kind}"]):
        got = _json("discover", *source, *window)
        assert got["reading"].pop("timestamps") == f"native {kind}"
        _same_but_reading(got, expected)


def test_fewer_rows_travel_and_every_one_is_counted(tmp_path, postgres):
    """The rows the reader got are those of the journey ids with a row in the window; the
    others stay in the database, counted; a text timestamp column sends every row."""
    from datetime import UTC, datetime

    from cjm import read_log

    (tmp_path / "typed").mkdir()
    sources = _window_sources(tmp_path, postgres, "travel")
    since, until = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    for kind in ("duckdb typed", "postgresql typed", "duckdb", "sqlite"):
        url, _, table = sources[kind]
        with read_log(url, table=table, since=since, until=until, keep_rows=True) as log:
            [entry] = log.files
            travelled = log.con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
            cases = log.con.execute("SELECT count(DISTINCT journey_id) FROM raw WHERE "
                                    "journey_id IS NOT NULL").fetchall()[0][0]
        with read_log(url, table=table, keep_rows=True) as whole:
            every = whole.con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
        assert entry.rows == every, kind
        if kind in PUSHED:
            assert travelled < every / 2 and cases < 400, kind
            assert entry.details["left_in_database"] == every - travelled
            assert entry.filtered == entry.rows - entry.events - entry.rejected
        else:  # the timestamps are text, parsed by cjm: every row travels
            assert travelled == every and "left_in_database" not in entry.details, kind


EMPTY = ("SELECT * FROM (VALUES ('a', 'Start', TIMESTAMPTZ '2024-01-01 10:00:00+00'), "
         "('a', 'End', TIMESTAMPTZ '2024-03-01 10:00:00+00'), "
         "('b', 'Start', TIMESTAMPTZ '2024-05-01 10:00:00+00')) t(journey, stage, timestamp)")


# Journey c's one row, the only one in June, has no stage: all the window sends is refused.
REFUSED = EMPTY.replace(") t(journey", ", ('c', NULL, TIMESTAMPTZ '2024-06-10 10:00:00+00')"
                        ") t(journey")


@pytest.mark.parametrize(("rows", "window"), [
    (EMPTY, ["--since", "2024-02-01", "--until", "2024-04-01"]),
    (EMPTY, ["--since", "2030-01-01"]),
    (REFUSED, ["--since", "2024-06-01"]),
    (REFUSED, ["--since", "2024-06-01", "--window", "events"]),
], ids=["rows-in-window", "no-row-in-window", "all-refused", "all-refused-events"])
def test_a_window_without_journeys_names_the_whole_log_span(rows, window, tmp_path, postgres):
    """No journey starts in the window (rows of one are in it, none at all, or only rows
    that are refused, when the table is read whole): the CSV's message, with the span of
    the whole table, also of the rows left in the database; not 'no events to work with'."""
    csv_file = _csv(tmp_path, rows)
    (tmp_path / "db").mkdir()
    expected = run_cli("discover", str(csv_file), "--no-map", *window)
    assert expected.exit_code == 2
    assert "(the log runs from 2024-01-01 to 2024-05-01)" in expected.stderr
    for source in ([_duckdb(tmp_path / "db", rows), "--table", "events"],
                   [_postgres(postgres, "empty_window", rows), "--table", "empty_window"]):
        got = run_cli("discover", *source, "--no-map", *window)
        assert (got.exit_code, got.stderr) == (2, expected.stderr), source


def test_periods_of_a_window_sent_to_the_database_are_the_csvs(tmp_path):
    """--period slices the window's journeys: the one window is sent, every slice is the
    CSV's."""
    (tmp_path / "typed").mkdir()
    typed = WINDOW_ROWS.format(unparsable="")
    window = ["--no-map", "--since", "2024-02-01", "--until", "2024-05-01", "--period",
              "month", "--still-active", "30d"]

    def parts(*source: str) -> list[dict]:
        result = run_cli("discover", *source, *window, "--json", "-")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        return [_figures(json.dumps(part)) for part in [data["all"], *data["slices"]]]

    expected = parts(str(_csv(tmp_path, typed)))
    got = parts(_duckdb(tmp_path / "typed", f"SELECT * REPLACE (CAST(timestamp AS "
                                            f"TIMESTAMPTZ) AS timestamp) FROM ({typed})"),
                "--table", "events")
    assert len(got) == len(expected) == 4
    for part, whole in zip(got, expected, strict=True):
        for data in (part, whole):
            data["reading"].pop("timestamps")
        _same_but_reading(part, whole)


def test_options_that_need_every_row_read_every_row(tmp_path):
    """--collapse-repeats, a lifecycle column --lifecycle complete filters, and --strict
    decide from every row which rows are events (or fail): the window is not sent."""
    from datetime import UTC, datetime

    from cjm import read_log

    typed = WINDOW_ROWS.format(unparsable="")
    url = _duckdb(tmp_path, f"SELECT * REPLACE (CAST(timestamp AS TIMESTAMPTZ) AS timestamp), "
                  f"'complete' AS lifecycle FROM ({typed})")
    since = datetime(2024, 3, 1, tzinfo=UTC)
    with read_log(url, table="events", since=since, lifecycle="all") as log:
        assert log.files[0].details["left_in_database"] > 0
    for options in ({"collapse_repeats": True}, {}):  # {}: the lifecycle column kept
        with read_log(url, table="events", since=since, **options) as log:
            assert "left_in_database" not in log.files[0].details, options
    strict = run_cli("discover", url, "--table", "events", "--since", "2024-03-01",
                     "--lifecycle", "all", "--strict", "--no-map", "--json", "-")
    assert strict.exit_code == 1 and "rejected" in strict.output
    assert "left_in_database" not in strict.stdout


def test_a_bound_beyond_the_years_of_a_wall_clock_bounds_nothing(tmp_path):
    """--since 0001-01-01 in a zone behind UTC is no wall time of year 1: that bound is left
    out (every row of a journey id is sent), rather than failing."""
    from datetime import UTC, datetime

    from cjm import read_log

    url = _duckdb(tmp_path, f"SELECT * REPLACE (CAST(CAST(timestamp AS TIMESTAMPTZ) AT TIME "
                  f"ZONE 'UTC' AS TIMESTAMP) AS timestamp) FROM "
                  f"({WINDOW_ROWS.format(unparsable='')})")
    with read_log(url, table="events", timezone="America/New_York",
                  since=datetime(1, 1, 1, tzinfo=UTC),
                  until=datetime(9999, 12, 31, 23, tzinfo=UTC)) as log:
        assert log.files[0].details["left_in_database"] == 1  # the row without a journey id


def test_postgresql_counts_the_rows_left_with_an_anti_join(postgres):
    """The rows left in the database are found by an anti-join, however many journey ids
    the window holds: NOT IN made PostgreSQL compare each row with every id once the ids
    outgrew its work_mem (a plan of one SubPlan a row, quadratic in the table)."""
    from datetime import UTC, datetime

    import adbc_driver_postgresql.dbapi as pg

    from cjm.pushdown import Pushdown

    # 100,000 journeys of 4 events a minute apart from 2024-01-01: the first 21,600 end
    # before March (86,400 minutes later).
    rows = ("SELECT 'j' || (i // 4) AS journey, 'stage' || (i % 4) AS stage, "
            "TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 minute' AS ts "
            "FROM range(400000) r(i)")
    _postgres(postgres, "many_ids", rows)
    plan = Pushdown("journey", "stage", "ts", "timestamptz", "UTC",
                    datetime(2024, 3, 1, tzinfo=UTC), None)
    with pg.connect(postgres.url()) as con, con.cursor() as cursor:
        cursor.execute("ANALYZE many_ids")
        cursor.execute("SET work_mem = '64kB'")
        # The driver runs a query inside COPY, where EXPLAIN may not stand: a function runs it.
        cursor.execute("CREATE OR REPLACE FUNCTION cjm_plan(q text) RETURNS SETOF text "
                       "LANGUAGE plpgsql AS $$ DECLARE r text; BEGIN FOR r IN EXECUTE "
                       "'EXPLAIN ' || q LOOP RETURN NEXT r; END LOOP; END $$")
        cursor.execute("SELECT * FROM cjm_plan($1)", [plan.rest_sql("SELECT * FROM many_ids")])
        shown = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(plan.rest_sql("SELECT * FROM many_ids"))
        left = cursor.fetchone()[0]
    assert "Anti Join" in shown and "SubPlan" not in shown, shown
    assert left == 86_400
