"""Database URLs as log inputs: which ones, what to read from them, and how to name them.

Engine-neutral and light (no driver is imported here): the CLI and every engine tell a
database input from a file by its URL, and name it only as ``redact`` prints it, so that a
password never reaches a message, an output or a rejects file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from cjm.errors import UsageError

# The schemes read, and the driver each needs (None: DuckDB reads its own files).
SCHEMES = {"sqlite": "adbc_driver_sqlite", "duckdb": None,
           "postgresql": "adbc_driver_postgresql", "postgres": "adbc_driver_postgresql"}
_SECRET_PARAMETER = re.compile(r"(password=)[^&;\s]*", re.IGNORECASE)
HIDDEN = "***"


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a database (``scheme://…``) rather than a file."""
    return urlsplit(str(text)).scheme.lower() in SCHEMES and "://" in str(text)


def redact(url: str) -> str:
    """``url`` with its password (in the user part or as ``password=``) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        hidden = f"{user.partition(':')[0]}:{HIDDEN}@{host}"
        url = url.replace(f"//{parts.netloc}", f"//{hidden}", 1)
    return _SECRET_PARAMETER.sub(rf"\g<1>{HIDDEN}", url)


@dataclass(frozen=True)
class DatabaseSource:
    """A table or a query of a database: where the rows of a log come from."""

    url: str  # as given: it may hold a password, so it is never printed
    table: str | None = None
    query: str | None = None
    password: str | None = field(default=None, repr=False)  # cjm.toml's database_password

    @property
    def connect_url(self) -> str:
        """The URL to connect with: cjm.toml's password added when the URL has none."""
        parts = urlsplit(self.url)
        if not self.password or parts.password is not None or not parts.username:
            return self.url
        user, _, host = parts.netloc.rpartition("@")
        return self.url.replace(f"//{parts.netloc}",
                                f"//{user}:{quote(self.password, safe='')}@{host}", 1)

    @property
    def scheme(self) -> str:
        scheme = urlsplit(self.url).scheme.lower()
        return "postgresql" if scheme == "postgres" else scheme

    @property
    def path(self) -> str:
        """The file of a SQLite or DuckDB URL, as SQLAlchemy reads it: ``sqlite:///x.db`` is
        x.db in the working folder, ``sqlite:////data/x.db`` is /data/x.db; ``%23`` is ``#``."""
        parts = urlsplit(self.url)
        return unquote(parts.netloc + parts.path if parts.netloc else parts.path[1:])

    @property
    def name(self) -> str:
        """How messages, outputs and rejects name it: the URL without its password."""
        return redact(self.url) + (f"?table={self.table}" if self.table else "?query")

    def secrets(self) -> list[str]:
        """The secrets in the URL, which no message may hold."""
        parts = urlsplit(self.url)
        given = [s for s in (parts.password, self.password) if s]
        found = [form for s in given for form in (s, unquote(s), quote(unquote(s), safe=""))]
        found += [m.group(0)[len("password="):] for m in _SECRET_PARAMETER.finditer(self.url)]
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
                             "postgresql://)", f"Drop {flag}, or give a database URL.")
        return None
    name = redact(str(urls[0]))
    if len(paths) > 1:
        raise UsageError(f"{name}: a database URL is read alone, not with other inputs",
                         "Give one database URL, or only files.")
    if (table is None) == (query is None):
        raise UsageError(f"{name}: give --table NAME or --query \"SELECT …\" (exactly one)",
                         "e.g. --table events, or --query \"SELECT * FROM events\".")
    if table is not None and not table.strip():
        raise UsageError("--table: give a table name")
    if query is not None and not query.strip():
        raise UsageError("--query: give a SELECT statement")
    return DatabaseSource(str(urls[0]), table, query, password)
