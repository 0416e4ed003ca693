"""Database URLs as log inputs: which ones, what to read from them, and how to name them;
and the name default outputs take from any input.

Engine-neutral and light (no driver is imported here): the CLI and every engine tell a
database input from a file by its URL, and name it only as ``redact`` prints it, so that a
password never reaches a message, an output or a rejects file.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cjm.errors import UsageError
from cjm.files import expand_paths, is_pattern

# The schemes read, and the driver each needs (None: DuckDB reads its own files); any other
# ADBC driver is named in an adbc:DRIVER:URI.
SCHEMES = {"sqlite": "adbc_driver_sqlite", "duckdb": None,
           "postgresql": "adbc_driver_postgresql", "postgres": "adbc_driver_postgresql"}
ADBC = "adbc:"
# A parameter that holds a secret, whatever the driver calls it (password=, token=,
# privateKey=, client_secret=, api_key=, …): at the start of a text or after ?, &, ;, a
# comma, a space. Not one that names a file (libpq's sslkey, the client key's file; passfile,
# private_key_file, …_path): a file name is no secret, and an error about it must say which.
_FILE_PARAMETER = r"(?:ssl[_-]?key|[\w.-]*(?:file|path))="
_SECRET_PARAMETER = re.compile(
    rf"(?<![^?&;,\s(])(?!{_FILE_PARAMETER})"
    r"([\w.-]*(?:pass|pwd|secret|token|key|credential)[\w.-]*=)[^&;\s]*",
    re.IGNORECASE)
HIDDEN = "***"


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a database (``scheme://…``, ``adbc:…``) rather than a file."""
    text = str(text)
    return ((urlsplit(text).scheme.lower() in SCHEMES and "://" in text)
            or text.lower().startswith(ADBC))


def adbc_parts(url: str) -> tuple[str, str] | None:
    """The driver and the URI it is given of an ``adbc:DRIVER:URI``, else None. As ADBC's
    driver manager reads a driver URI, ``adbc:DRIVER://…`` gives the driver ``DRIVER://…``."""
    if not url.lower().startswith(ADBC):
        return None
    driver, colon, uri = url[len(ADBC):].partition(":")
    if not driver or not colon:
        return None
    return driver, f"{driver}:{uri}" if uri.startswith("//") else uri


def _split(url: str) -> tuple[str, str]:
    """``url`` as the part that names the driver (``adbc:DRIVER:``; none for a built-in
    scheme) and the URI whose user part may hold a password."""
    parts = adbc_parts(url)
    cut = len(ADBC) + len(parts[0]) + 1 if parts else 0
    return url[:cut], url[cut:]


def _password_span(uri: str) -> tuple[int, int] | None:
    """Where the password of ``uri``'s ``user:password@`` is: after ``//`` (before any ``?``)
    or, as in a Snowflake DSN, at the start; None when it has none."""
    end = min([i for i in (uri.find("?"), uri.find("#")) if i >= 0] or [len(uri)])
    slashes = uri.find("//")
    start = slashes + 2 if 0 <= slashes < end else 0
    authority = re.match(r"[^/?#]*", uri[start:]).group(0)  # type: ignore[union-attr]
    user = authority.rpartition("@")[0]
    if ":" not in user:
        return None
    return start + user.index(":") + 1, start + len(user)


def redact(url: str) -> str:
    """``url`` with its password (in the user part, or a ``password=``, ``token=``, … of any
    driver) replaced by ***."""
    head, uri = _split(url)
    span = _password_span(uri)
    if span is not None:
        uri = uri[:span[0]] + HIDDEN + uri[span[1]:]
    return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", head + uri)


@dataclass(frozen=True)
class DatabaseSource:
    """A table or a query of a database: where the rows of a log come from."""

    url: str  # as given: it may hold a password, so it is never printed
    table: str | None = None
    query: str | None = None
    password: str | None = field(default=None, repr=False)  # cjm.toml's database_password

    @property
    def connect_url(self) -> str:
        """The URI the driver connects with: an ``adbc:DRIVER:URI``'s URI, with cjm.toml's
        password added where it applies (``_configured_password``)."""
        uri = self._uri
        password = self._configured_password()
        if password is None:
            return uri
        netloc = urlsplit(uri).netloc
        user, _, host = netloc.rpartition("@")
        return uri.replace(f"//{netloc}", f"//{user}:{quote(password, safe='')}@{host}", 1)

    @property
    def _uri(self) -> str:
        return (adbc_parts(self.url) or ("", self.url))[1]

    def _configured_password(self) -> str | None:
        """cjm.toml's ``database_password``, where it applies: the URI names a user after
        ``//`` and gives no password (in its user part or a ``password=``), and, for
        PostgreSQL's driver, $PGPASSWORD gives none either (a variable wins over a file, as
        for every setting of cjm.toml); it then wins over libpq's password file."""
        uri = self._uri
        parts = urlsplit(uri)
        if (not self.password or "//" not in uri or not parts.username or _password_span(uri)
                or "password" in dict(parse_qsl(parts.query))):
            return None
        if self.format == "postgresql" and os.environ.get("PGPASSWORD"):
            return None
        return self.password

    @property
    def scheme(self) -> str:
        scheme = urlsplit(self.url).scheme.lower()
        return "postgresql" if scheme == "postgres" else scheme

    @property
    def driver(self) -> str | None:
        """The driver an ``adbc:DRIVER:URI`` names (a name, a package, a library's path)."""
        parts = adbc_parts(self.url)
        return parts[0] if parts else None

    @property
    def format(self) -> str:
        """What the rows are read from: the scheme, or the ADBC driver's short name."""
        if self.driver is None:
            return self.scheme
        name = re.split(r"[/\\]", self.driver)[-1].split(".")[0].removeprefix("lib")
        return name.removeprefix("adbc_driver_") or name

    @property
    def path(self) -> str:
        """The file of a SQLite or DuckDB URL, as SQLAlchemy reads it: ``sqlite:///x.db`` is
        x.db in the working folder, ``sqlite:////data/x.db`` is /data/x.db; ``%23`` is ``#``.
        No other source has one: an ``adbc:`` URI is its driver's to read."""
        if self.scheme not in ("sqlite", "duckdb"):
            raise ValueError(f"{self.name} has no file path: not a sqlite:/// or duckdb:/// URL")
        parts = urlsplit(self.url)
        return unquote(parts.netloc + parts.path if parts.netloc else parts.path[1:])

    def existing_file(self) -> Path:
        """The file of a SQLite or DuckDB URL, which must exist (neither is created)."""
        path = Path(self.path)
        if not path.is_file():
            raise UsageError(f"{self.name}: no such database file: {path}",
                             f"{self.scheme}:///x.db is x.db in this folder, "
                             f"{self.scheme}:////data/x.db is /data/x.db.")
        return path

    def credentials(self) -> tuple[str, str | None]:
        """The user and password of a PostgreSQL URL, found as libpq finds them: the URL's
        (``user=``/``password=`` too), else $PGUSER / $PGPASSWORD, else cjm.toml's password
        (``_configured_password``), else the password file ($PGPASSFILE or ~/.pgpass). For a
        driver that does not read them itself (JDBC)."""
        parts = urlsplit(self._uri)
        query = dict(parse_qsl(parts.query))
        user = (unquote(parts.username or "") or query.get("user") or os.environ.get("PGUSER")
                or getpass.getuser())
        given = parts.password if parts.password is not None else query.get("password")
        if given is not None:
            return user, unquote(given) if parts.password is not None else given
        password = os.environ.get("PGPASSWORD") or self._configured_password()
        if password:
            return user, password
        database = unquote(parts.path.lstrip("/")) or user
        return user, _password_file(parts.hostname or "localhost", str(parts.port or 5432),
                                    database, user)

    @property
    def name(self) -> str:
        """How messages, outputs and rejects name it: the URL without its password."""
        shown = redact(self.url)
        joined = "&" if "?" in shown else "?"  # after the URL's own parameters, if any
        return shown + joined + (f"table={self.table}" if self.table else "query")

    def secrets(self) -> list[str]:
        """The secrets in the URL, which no message may hold."""
        uri = _split(self.url)[1]
        span = _password_span(uri)
        given = [s for s in (uri[span[0]:span[1]] if span else None, self.password) if s]
        given += [m.group(0)[len(m.group(1)):] for m in _SECRET_PARAMETER.finditer(uri)]
        found = [form for s in given for form in (s, unquote(s), quote(unquote(s), safe=""))]
        return [s for s in found if s]

    def hide(self, text: str) -> str:
        """``text`` (a driver's message) with the URL's secrets replaced by ***."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", text)

    def relation_sql(self) -> str:
        """The rows, as SQL the database runs: the query, or every row of the table."""
        if self.query is not None:
            return self.query.strip().rstrip(";")
        return "SELECT * FROM " + ".".join(_quoted(p) for p in table_parts(self.table or ""))


def row_order(columns: list[str], original: bool) -> str:
    """How a database's rows are numbered, as the reading report says it: by the lines of
    the file cjm convert wrote them from, else by their position in this order."""
    if original:
        return "lines of the original file (cjm_line)"
    return f"positions in the rows ordered by {', '.join(columns)} (NULLs last)"


def _password_file(host: str, port: str, database: str, user: str) -> str | None:
    """The password of the first line of libpq's password file that matches (``*`` matches
    anything; ``\\:`` is a colon); None without one, or when others may read the file,
    which libpq ignores then."""
    path = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            return None
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        fields = _pgpass_fields(line)
        if line.startswith("#") or len(fields) < 5:
            continue
        if all(f in ("*", value) for f, value in zip(fields, (host, port, database, user),
                                                      strict=False)):
            return fields[4]
    return None


def _pgpass_fields(line: str) -> list[str]:
    fields, current, chars = [], [], iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*fields, "".join(current)]


def table_parts(table: str) -> list[str]:
    """``schema.table`` as its parts; a name with other dots is given quoted (\"a.b\")."""
    if table.startswith('"') and table.endswith('"'):
        return [table[1:-1].replace('""', '"')]
    return table.split(".")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_source(paths: list[str], table: str | None, query: str | None,
                    password: str | None = None) -> DatabaseSource | None:
    """The database input of ``paths`` with its --table or --query, or None for files.

    A usage error when a URL and files are mixed, or --table/--query is missing or doubled.
    """
    urls = [p for p in paths if is_database_url(str(p))]
    if not urls:
        if table is not None or query is not None:
            flag = "--table" if table is not None else "--query"
            raise UsageError(f"{flag}: only for a database input (sqlite:///, duckdb:///, "
                             "postgresql://, adbc:DRIVER:URI)",
                             f"Drop {flag}, or give a database URL.")
        return None
    name = redact(str(urls[0]))
    if len(paths) > 1:
        raise UsageError(f"{name}: a database URL is read alone, not with other inputs",
                         "Give one database URL, or only files.")
    if str(urls[0]).lower().startswith(ADBC) and adbc_parts(str(urls[0])) is None:
        raise UsageError(f"{name}: give the ADBC driver and its URI: adbc:DRIVER:URI",
                         "e.g. adbc:snowflake://user@account/db, adbc:sqlite:/data/events.db "
                         "(docs/databases.md).")
    if (table is None) == (query is None):
        raise UsageError(f"{name}: give --table NAME or --query \"SELECT …\" (exactly one)",
                         "e.g. --table events, or --query \"SELECT * FROM events\".")
    if table is not None and not table.strip():
        raise UsageError("--table: give a table name")
    if query is not None and not query.strip():
        raise UsageError("--query: give a SELECT statement")
    return DatabaseSource(str(urls[0]), table, query, password)


_LOG_SUFFIXES = (".gz", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".xes",
                 ".txt")


def output_stem(paths: list[str]) -> str:
    """The first input's name without its extensions, for default output names: a local
    file's (a glob's first match), a database's file (else ``journey``), a URI's or a folder's
    last part, a table's name (as Spark reads them)."""
    first = str(paths[0]) if paths else ""
    if is_database_url(first):
        name = re.split(r"[/:]", first.partition("?")[0].rstrip("/"))[-1]
        return (name.rsplit(".", 1)[0] if "." in name else "") or "journey"
    if "://" in first:  # a URI Spark reads: its last part that is no pattern
        name = next((part for part in reversed(first.rstrip("/").split("/"))
                     if not any(ch in part for ch in "*?[")), "")
    elif is_pattern(first):

        name = expand_paths([first])[0].name
    else:  # a file, a folder of parts, a table: named alike, whether it exists or not
        name = Path(first).name
    for suffix in _LOG_SUFFIXES:
        name = name.removesuffix(suffix)
    return name or "journey"
