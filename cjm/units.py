"""Spans such as ``30m`` or ``14d``: parsed from flags, formatted for humans."""

from __future__ import annotations

import re

from cjm.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_span(text: str, flag: str = "span") -> float:
    """Seconds in a span like ``90s``, ``30m``, ``1h30m``, ``14d`` or ``2w``."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned or _SPAN.sub("", cleaned):
        raise UsageError(
            f"{flag}: cannot read {text!r} as a span of time",
            "Write a number and a unit: 90s, 30m, 12h, 14d, 2w (combinations like 1d12h work).",
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in _SPAN.findall(cleaned))
    if seconds <= 0:
        raise UsageError(f"{flag}: the span must be longer than zero, not {text!r}")
    return seconds


def format_seconds(seconds: float | None) -> str:
    """A wait for humans: ``3d 4h``, ``12m 5s``, ``0s``; two units at most."""
    if seconds is None:
        return "–"  # noqa: RUF001 (a dash reads as "no value" in tables)
    if seconds < 1:
        return "0s" if seconds < 0.5 else "1s"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
        if len(parts) == 2:
            break
    # Two units at most: "3d 4h" reads better than "3d 4h 12m 5s" in a table or a map.
    return " ".join(parts)


def format_count(n: float) -> str:
    """A count with thousands separators: 12,345."""
    return f"{int(n):,}"


def format_counted(n: float, noun: str) -> str:
    """``1 journey``, ``2,044 journeys``: a count and its plural noun, made singular for 1."""
    return f"{format_count(n)} {noun.removesuffix('s') if int(n) == 1 else noun}"


def format_share(share: float) -> str:
    """A share as a whole percentage that never rounds a little to nothing: ``<1%``, ``12%``."""
    if 0 < share < 0.005:
        return "<1%"
    if 0.995 <= share < 1:
        return ">99%"
    return f"{share:.0%}"


def iso(value) -> str | None:
    """A timestamp as ISO 8601 in UTC with a Z."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def format_days(first, last, timezone: str, joiner: str = " → ") -> str:
    """The days of ``first`` and ``last`` (UTC instants), the days cjm counts in; said to be
    UTC's when the log was read in another time zone, whose calendar they may not match."""
    days = f"{first:%Y-%m-%d}{joiner}{last:%Y-%m-%d}"
    return days if timezone.upper() == "UTC" else days + " UTC"


def parse_rate(text: str | float, flag: str) -> float:
    """A share from ``30%`` or ``0.3``, in [0, 1]."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a share", "Write 80% or 0.8.") from None
    if not 0 <= value <= 1:
        raise UsageError(f"{flag}: {text!r} must be from 0% to 100%")
    return value


def parse_share(text: str | float, flag: str) -> float:
    """A share from ``80%`` or ``0.8``, in (0, 1]."""
    value = parse_rate(text, flag)
    if value == 0:
        raise UsageError(f"{flag}: {text!r} must be above 0%")
    return value


def parse_date(text: str | None, flag: str):
    """A date or date-time from a flag, in UTC when it carries no offset."""
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise UsageError(f"{flag}: cannot read {text!r} as a date",
                         "Write 2024-07-01 or 2024-07-01T08:00:00+02:00.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_size(text: str) -> int | None:
    """Bytes from a size as DuckDB writes it (``3.7 GiB``, ``512.0 MiB``, ``4GB``)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)(i?)B\s*", text or "", re.IGNORECASE)
    if not match:
        return None
    base = 1024 if match[3] else 1000
    return int(float(match[1]) * base ** " KMGT".index(match[2].upper() or " "))
