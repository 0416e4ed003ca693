"""Quality warnings: oddities that are kept, not rejected, but that a user should know of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cjm.units import format_count, format_counted

EARLIEST = "1990-01-01"


@dataclass(frozen=True)
class QualityWarning:
    """Something odd in the data that is kept, not rejected."""

    code: str
    message: str
    count: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "count": self.count,
                "examples": list(self.examples)}


def warnings_from(duplicates: int, duplicate_examples: tuple[str, ...], tied: int,
                  tied_journeys: int, single: int, future: int, early: int,
                  near: list[list[str]]) -> list[QualityWarning]:
    """The warnings, worded once for every engine, from the counts that engine made.

    ``near`` holds the groups of stage names that differ only in case or spaces, in order.
    """
    warnings: list[QualityWarning] = []
    if duplicates:
        it = "it" if duplicates == 1 else "them"
        warnings.append(QualityWarning(
            "duplicates", f"{format_counted(duplicates, 'exact duplicate events')}: identical "
            f"in every column to an earlier row (kept; --drop-duplicates drops {it})",
            int(duplicates), duplicate_examples))
    if tied:  # ties come two or more at a time: always plural
        warnings.append(QualityWarning(
            "ties", f"{format_count(tied)} events share their timestamp with another event of "
            f"the same journey ({format_counted(tied_journeys, 'journeys')}); they keep file "
            "order", int(tied)))
    if single:
        warnings.append(QualityWarning(
            "single_event", f"{format_counted(single, 'journeys')} "
            f"{'has' if single == 1 else 'have'} a single event", int(single)))
    if future:
        warnings.append(QualityWarning(
            "future", f"{format_counted(future, 'events')} {'is' if future == 1 else 'are'} "
            "timestamped in the future", int(future)))
    if early:
        warnings.append(QualityWarning(
            "before_1990", f"{format_counted(early, 'events')} {'is' if early == 1 else 'are'} "
            "timestamped before 1990", int(early)))
    if near:  # a group of names: two or more
        examples = tuple(" / ".join(repr(s) for s in names) for names in near[:5])
        warnings.append(QualityWarning(
            "near_duplicate_stages", f"{format_counted(len(near), 'sets')} of stage names that "
            "differ only in case or surrounding spaces", len(near), examples))
    return warnings


def lifecycle_rule(values: dict, column: str) -> tuple[str | None, bool]:
    """The note on ``--lifecycle complete`` and whether it filters, from counts per value.

    ``values`` maps each lower-cased, trimmed value of the lifecycle ``column`` to its rows.
    """
    others = {v: n for v, n in values.items() if v != "complete"}
    if "complete" not in values:
        listing = ", ".join(sorted(str(v) for v in others)[:8])
        return (f"lifecycle column {column!r} holds no 'complete' value ({listing}), so no "
                "event was set aside by it (--lifecycle complete)"), False
    if not others:
        return None, False
    kinds = ", ".join(sorted(str(v) for v in others))
    return (f"kept complete events only: {format_counted(sum(others.values()), 'events')} with "
            f"lifecycle {kinds} set aside (pass --lifecycle all to keep every event)"), True


def duplicate_key(held: Sequence[str] = ()) -> list[str]:
    """The columns two events share when they repeat one row as read: the journey id, stage
    and time, the optional roles ``held`` whose text the events hold, and the row's print
    (``_row``), which stands in for the rest of the row's text."""
    return ["case_id", "stage", "ts", *held, "_row"]
