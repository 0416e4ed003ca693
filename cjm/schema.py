"""Column roles: which column holds the journey id, the stage, the timestamp, and the rest.

Roles are taken, in order of precedence, from flags, from a config file (``cjm.toml`` or
``[tool.cjm]`` in ``pyproject.toml``), and from the column names themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from cjm.errors import CjmError, DataError, UsageError, did_you_mean
from cjm.safety import printable

# Control characters, line and paragraph separators, zero-width and bidirectional marks.
REQUIRED_ROLES = ("case", "stage", "timestamp")
OPTIONAL_ROLES = (
    "channel", "device", "department", "segment", "outcome", "cost", "lifecycle",
)
ROLES = REQUIRED_ROLES + OPTIONAL_ROLES

ROLE_DESCRIPTIONS = {
    "case": "journey id (case)",
    "stage": "stage (activity)",
    "timestamp": "timestamp",
    "channel": "channel",
    "device": "device",
    "department": "department or resource",
    "segment": "segment",
    "outcome": "outcome",
    "cost": "cost",
    "lifecycle": "lifecycle",
}

# Candidate names after normalisation (see _normalise), grouped in tiers of equal standing.
# Two required-role candidates in the same tier make the choice ambiguous; optional roles
# take the first candidate found.
_CANDIDATES: dict[str, tuple[tuple[str, ...], ...]] = {
    "case": (
        ("case:concept:name", "caseid", "case", "journeyid", "journey", "caseconcept:name"),
        ("customerid", "customer", "userid", "user", "sessionid", "session", "clientid",
         "visitorid", "accountid", "ticketid", "orderid"),
    ),
    "stage": (
        ("concept:name", "activity", "stage", "activityname", "stagename"),
        ("event", "eventname", "eventtype", "touchpoint", "action", "step", "task", "page"),
    ),
    "timestamp": (
        ("time:timestamp", "timestamp", "eventtime", "completetimestamp", "time"),
        ("ts", "datetime", "date", "eventdate", "eventtimestamp", "createdat", "occurredat"),
    ),
    "channel": (("channel", "case:channel", "touchpointchannel", "medium"),),
    "device": (("device", "case:device", "devicetype", "platform"),),
    "department": (
        ("department", "case:department", "dept", "org:group", "team", "org:resource",
         "resource", "agent"),
    ),
    "segment": (("segment", "case:segment", "persona", "customersegment", "cohort", "tier"),),
    "outcome": (
        ("outcome", "case:outcome", "converted", "conversion", "result", "success", "nps"),
    ),
    "cost": (("cost", "case:cost", "cost:total", "costs"),),
    "lifecycle": (("lifecycle:transition", "lifecycle", "eventlifecycle"),),
}


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


@dataclass(frozen=True)
class RoleChoice:
    """The column chosen for a role and where the choice came from."""

    role: str
    column: str
    source: str  # "flag", "config <path>", or "detected"


@dataclass
class Mapping:
    """Roles mapped to columns; required roles are always present."""

    choices: dict[str, RoleChoice] = field(default_factory=dict)

    def column(self, role: str) -> str | None:
        choice = self.choices.get(role)
        return choice.column if choice else None

    def __contains__(self, role: str) -> bool:
        return role in self.choices

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {
            role: {"column": c.column, "source": c.source}
            for role, c in sorted(self.choices.items(), key=lambda kv: ROLES.index(kv[0]))
        }


def column_listing(columns: list[str], most: int = 60, width: int = 80) -> str:
    """The columns for a message: at most ``most`` of them, long names shortened."""
    if not columns:
        return "(none)"
    shown = [printable(c if len(c) <= width else c[: width - 1] + "…")
             for c in columns[:most]]
    more = f", … ({len(columns) - most} more)" if len(columns) > most else ""
    return ", ".join(shown) + more


def _find_column(wanted: str, columns: list[str]) -> str | None:
    if wanted in columns:
        return wanted
    folded = [c for c in columns if c.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def resolve_mapping(
    columns: list[str],
    given: dict[str, tuple[str, str]],
    where: str,
) -> Mapping:
    """Map roles to ``columns``.

    ``given`` holds the roles the user named, as role -> (column, source). ``where`` names the
    input in messages. Raises UsageError for a named column that does not exist and DataError
    for a required role that is missing or ambiguous.
    """
    mapping = Mapping()
    listing = column_listing(columns)
    for role, (wanted, source) in given.items():
        found = _find_column(wanted, columns)
        if found is None:
            flag = "--" + role if source == "flag" else f"'{role}' in {source}"
            raise UsageError(
                f"{flag}: no column {wanted!r} in {where}.{did_you_mean(wanted, columns)}",
                f"Columns: {listing}",
            )
        mapping.choices[role] = RoleChoice(role, found, source)

    taken = {c.column for c in mapping.choices.values()}
    by_norm: dict[str, list[str]] = {}
    for column in columns:
        by_norm.setdefault(_normalise(column), []).append(column)

    for role in ROLES:
        if role in mapping:
            continue
        for tier in _CANDIDATES[role]:
            hits = [c for name in tier for c in by_norm.get(name, []) if c not in taken]
            if len(hits) > 1 and role in REQUIRED_ROLES:
                options = " or ".join(repr(h) for h in hits)
                raise DataError(
                    f"{where}: the {ROLE_DESCRIPTIONS[role]} column is ambiguous: {options}",
                    f"Pass --{role} COLUMN to choose. Columns: {listing}",
                )
            if hits:
                mapping.choices[role] = RoleChoice(role, hits[0], "detected")
                taken.add(hits[0])
                break

    missing = [r for r in REQUIRED_ROLES if r not in mapping]
    if missing:
        role = missing[0]
        guesses = [n for tier in _CANDIDATES[role] for n in tier]
        suggestion = ""
        for column in columns:
            if did_you_mean(_normalise(column), guesses):
                suggestion = f" Did you mean --{role} {column!r}?"
                break
        hint = f"Pass --{role} COLUMN. Columns: {listing}"
        if len(columns) == 1:
            # One column holding other separators means the delimiter was wrong.
            for sep, name in ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','")):
                if sep in columns[0]:
                    hint = f"Columns: {listing}. That is one column: the file looks " \
                           f"{name}-separated, so pass --delimiter {name}."
                    break
        raise DataError(
            f"{where}: no column for the {ROLE_DESCRIPTIONS[role]} was found.{suggestion}", hint)
    return mapping


def resolve_files(files: list[tuple[str, list[str]]], given: dict[str, tuple[str, str]],
                  where: str) -> Mapping:
    """The mapping for several files read as one, given as (name, columns): roles from the
    union of their columns, and each file must have the required ones."""
    all_columns = list(dict.fromkeys(c for _, columns in files for c in columns))
    mapping = resolve_mapping(all_columns, given, where)
    for name, columns in files if len(files) > 1 else ():
        have = {c.casefold() for c in columns}
        for role in REQUIRED_ROLES:
            column = mapping.column(role)
            if column.casefold() not in have:
                raise DataError(
                    f"{name}: has no column {column!r}, which the other files use for the "
                    f"{ROLE_DESCRIPTIONS[role]}",
                    f"Its columns: {column_listing(columns)}. Read files with different "
                    "columns separately, or rename the column.")
    return mapping


# Column names (lower case, letters and digits only) that identify a visit within a customer.
SESSION_NAMES = ("session", "sessionid", "visit", "visitid")


def session_column(columns: list[str], mapping: Mapping) -> str | None:
    """The first column named like a session or visit id (session, session_id, visit, …),
    unless the journeys already come from it."""
    for column in columns:
        if re.sub(r"[^a-z0-9]", "", column.lower()) in SESSION_NAMES:
            return None if column == mapping.column("case") else column
    return None


def held_roles(mapping: Mapping, hold: Collection[str] | None = None) -> list[str]:
    """The optional roles of ``mapping`` whose text every event holds, as read: all but the
    lifecycle, which only sets events aside; with ``hold``, only those it names (by role or
    by column)."""
    return [r for r in OPTIONAL_ROLES if r in mapping and r != "lifecycle"
            and (hold is None or r in hold or mapping.column(r) in hold)]


class Kept(NamedTuple):
    """What to hold of a file's columns: ``columns``, those the roles take, in the order of
    the roles; ``printed``, those whose text the events do not hold (no role takes them, or
    the timestamp or the lifecycle does), for which a row's print stands in when exact
    duplicates are looked for. A pseudonymised journey id stands for its text: a keyed
    SHA-256, so two ids share one by a chance as small as two rows sharing a print."""

    columns: list[str]
    printed: list[str]


def mapped_columns(given: dict[str, tuple[str, str]], hold: Collection[str] | None = None
                   ) -> Callable[[list[str]], Kept | None]:
    """A function that gives the Kept of a file's (or a database result's) columns, with
    the optional roles of held_roles(``hold``); None when it cannot be told yet, and the
    mapping's error comes once the rows are read."""
    def keep(header: list[str]) -> Kept | None:
        try:
            mapping = resolve_mapping(header, given, "")
        except CjmError:
            return None
        optional = held_roles(mapping, hold)
        held = {mapping.column(role) for role in ("case", "stage", *optional)} \
            - {mapping.column("timestamp"), mapping.column("lifecycle")}
        roles = {"case", "stage", "timestamp", "lifecycle", *optional}
        return Kept(list(dict.fromkeys(choice.column for role, choice in
                                       mapping.choices.items() if role in roles)),
                    [column for column in header if column not in held])
    return keep
