"""What DuckDB may hold: its share of ``--memory-limit``, its default cap, its spill folder.

``--memory-limit`` is the whole process's budget, not DuckDB's alone. DuckDB's own limit
covers its buffers; the interpreter, the libraries and what DuckDB allocates beside its
buffers come on top (measured: about 7 bytes an event at 10M to 100M events, see
docs/performance.md). So DuckDB is given the budget less what the process holds when the
log is opened, less a share kept for its allocations beside the buffers while the log is
read; once the events are counted, less that per event.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

from cjm.errors import UsageError
from cjm.sql import sql_string

MIN_MEMORY = 50_000_000  # below this DuckDB runs out of memory reading even a small file
# Without --memory-limit, DuckDB may hold what the log takes once read and this share again
# (at least DEFAULT_MEMORY_FLOOR, at most its own default of 80% of the RAM): the tables
# discover() makes then spill their coldest parts instead of piling up (docs/performance.md).
DEFAULT_MEMORY_SHARE = 0.3
# 1.5 GiB, with the interpreter and DuckDB's allocations beside its buffers (about 300 MiB
# at 10M events), stays under 2 GB; a 10M log's figures run 3 to 5% faster than under 1 GiB.
DEFAULT_MEMORY_FLOOR = 3 << 29
# Under a budget, what is kept for DuckDB's allocations beside its buffers (measured: 50 to
# 100 MiB and 5 to 7 bytes an event, from 2M to 100M events, about 2 of them while the log
# is read): OUTSIDE_FIXED, and a fifth of the rest while the log is read, when the events
# are not yet counted; then OUTSIDE_PER_EVENT.
OUTSIDE_SHARE = 0.2
OUTSIDE_FIXED = 64 << 20
OUTSIDE_PER_EVENT = 8
_UNKNOWN_RESIDENT = 128 << 20  # what the interpreter holds, where the system does not say


def resident_bytes() -> int:
    """The memory this process holds now: its resident set (Linux), its peak so far
    (macOS, other Unixes), or a typical interpreter's where neither can be read."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    try:
        import resource
    except ImportError:  # Windows
        return _UNKNOWN_RESIDENT
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class Budget(NamedTuple):
    """What the whole process may hold (``--memory-limit``), and held when the log was
    opened, in bytes."""

    size: int
    held: int

    @property
    def left(self) -> int:
        return self.size - self.held


def set_resources(con, workdir: Path, memory_limit: str | None) -> Budget | None:
    """Cap DuckDB's memory, and its spill files: by default DuckDB lets them fill 90% of
    the free disk, which one large window query over 100M events did (55 GB). Returns
    the budget of ``memory_limit``, or None without a limit."""
    import duckdb

    from cjm.resources import remember_spill

    spill = workdir / "spill"
    remember_spill(workdir.parent)
    # cjm draws its own progress, on stderr only; in Jupyter without ipywidgets DuckDB refuses
    # any change of the setting (and draws none itself).
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    free = shutil.disk_usage(workdir).free
    con.execute(f"SET temp_directory = {sql_string(str(spill))}")
    con.execute(f"SET max_temp_directory_size = '{max(free // 2, 1 << 20)}B'")
    if not memory_limit:
        return None
    from cjm.units import parse_size

    size = parse_size(str(memory_limit))
    if size is None or size >= MIN_MEMORY:
        try:  # DuckDB reads more forms of a size than parse_size (4G, 80%, 4 gigabytes)
            con.execute(f"SET memory_limit = {sql_string(str(memory_limit))}")
        except duckdb.Error:
            raise UsageError(f"--memory-limit: cannot read {memory_limit!r} as a size",
                             "Write it as 4GB or 512MB.") from None
        size = size or _current(con)
    if size < MIN_MEMORY:
        raise UsageError(f"--memory-limit {memory_limit}: too little to read a log",
                         "Give 50MB or more; beyond the limit, work spills to disk.")
    budget = Budget(size, resident_bytes())
    _cap(con, _reading_share(budget.left))
    return budget


def budget_memory_limit(con, budget: Budget, events: int) -> None:
    """Lower DuckDB's cap, now that the events are counted, by what it allocates beside its
    buffers for that many events."""
    _cap(con, min(_reading_share(budget.left),
                  budget.left - OUTSIDE_FIXED - OUTSIDE_PER_EVENT * events))


def _reading_share(budget: int) -> int:
    return budget - int(OUTSIDE_SHARE * max(budget, 0)) - OUTSIDE_FIXED


def _cap(con, size: int) -> None:
    # A budget smaller than what the interpreter holds leaves DuckDB its minimum.
    con.execute(f"SET memory_limit = '{max(MIN_MEMORY, size)}B'")


def _current(con) -> int:
    from cjm.units import parse_size

    limit = parse_size(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    assert limit is not None  # DuckDB's own text of a size
    return limit


def default_memory_limit(con, floor: int = DEFAULT_MEMORY_FLOOR) -> None:
    """Cap DuckDB's memory from what the log read takes (DEFAULT_MEMORY_SHARE)."""
    # The undo of the update that numbered a file's lines is held to the end and is not
    # spilled: it comes out of the share of the tables, so that the peak stays theirs.
    held, undo = con.execute(
        "SELECT sum(memory_usage_bytes) FILTER (WHERE tag <> 'TRANSACTION'), "
        "coalesce(sum(memory_usage_bytes) FILTER (WHERE tag = 'TRANSACTION'), 0) "
        "FROM duckdb_memory()").fetchall()[0]
    cap = max(floor, int((1 + DEFAULT_MEMORY_SHARE) * (held or 0)) - undo)
    if cap < _current(con):
        con.execute(f"SET memory_limit = '{cap}B'")


def plan_buckets(con, events: int, buckets: int | None, limited: bool) -> int:
    """The buckets asked for, or, under a memory limit, as many as keep each within it."""
    from cjm.engine.duckdb.buckets import buckets_for

    if buckets is not None:
        if buckets < 1:
            raise UsageError(f"--buckets must be 1 or more, not {buckets}")
        return buckets
    return buckets_for(events, _current(con)) if limited else 1
