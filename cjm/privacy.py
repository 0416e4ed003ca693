"""Privacy for maps shared outside the company: keyed pseudonyms for journey ids, and the
suppression of anything seen in fewer than K journeys.

Pseudonyms are made when the log is read, so no later step ever sees a raw id: a journey id
becomes ``p-`` and the first 16 hex digits of SHA-256(key, 0x1f, id). The same key gives the
same pseudonym in every run, so that reports stay comparable; without the key they cannot be
turned back into ids. ``--min-journeys K`` leaves out every stage, transition, path and
figure that fewer than K journeys share, since a rare path can single a customer out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from cjm.errors import UsageError

SALT_VARIABLE = "CJM_SALT"
MIN_KEY_LENGTH = 8
T = TypeVar("T")


# What suppression needs of a log, a journey map and a comparison: described here, so that
# the modules that define them can use this one without a cycle of imports.
class SharedLog(Protocol):
    min_journeys: int

    def stage_totals(self) -> list[Any]: ...


class SharedMap(Protocol):
    log: SharedLog
    whole: Any


class SharedComparison(Protocol):
    a: Any
    b: Any


M = TypeVar("M", bound=SharedMap)
C = TypeVar("C", bound=SharedComparison)


def pseudonym_key(pseudonymize: bool, salt: str | None) -> str | None:
    """The key for pseudonyms: ``--salt``, else $CJM_SALT; None when not asked for."""
    if not pseudonymize:
        if salt:
            raise UsageError("--salt goes with --pseudonymize")
        return None
    key = salt or os.environ.get(SALT_VARIABLE)
    if not key:
        raise UsageError("--pseudonymize needs a key: --salt KEY or the CJM_SALT variable",
                         "Keep the key secret and the same across runs, so that pseudonyms "
                         "match from one report to the next.")
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(f"--salt: a key of {len(key)} characters is too easy to guess",
                         f"Use {MIN_KEY_LENGTH} characters or more, e.g. from "
                         "`openssl rand -hex 16`.")
    return key


def check_min_journeys(k: int | None) -> int:
    if k is None:
        return 1
    if k < 1:
        raise UsageError(f"--min-journeys must be 1 or more, not {k}")
    return k


def kept(items: Iterable[T], journeys: Callable[[T], int], log: SharedLog) -> list[T]:
    """The items that at least ``log.min_journeys`` journeys share."""
    return [item for item in items if journeys(item) >= log.min_journeys]


def rare_stages(log: SharedLog) -> set[str]:
    """Stages seen in fewer than ``log.min_journeys`` journeys."""
    if log.min_journeys <= 1:
        return set()
    return {s.stage for s in log.stage_totals() if s.journeys < log.min_journeys}


def whole(jm: M) -> M:
    """The journey map with everything, as analyses that need every path (conformance,
    comparisons) use it; ``jm`` itself when nothing was left out."""
    return jm.whole if jm.whole is not None else jm


def suppress(jm: M) -> M:
    """The journey map without what fewer than ``min_journeys`` journeys share, for output;
    ``discover()`` returns it so. Applied once: a map already suppressed is returned as is.

    Rates and totals stay those of every journey; the whole map stays reachable through
    ``whole()`` for the analyses that need every path."""
    log = jm.log
    k = log.min_journeys
    if k <= 1 or jm.whole is not None:
        return jm
    stages = kept(jm.stages, lambda s: s.journeys, log)
    names = {s.name for s in stages}
    transitions = [t for t in kept(jm.transitions, lambda t: t.journeys, log)
                   if t.source in names and t.target in names]
    dead_ends = [d if d.top_path_journeys >= k else replace(d, top_path=(), top_path_journeys=0)
                 for d in kept(jm.dead_ends, lambda d: d.journeys, log)]
    return replace(
        jm, stages=stages, transitions=transitions,
        paths=kept(jm.paths, lambda p: p.journeys, log),
        rework=kept(jm.rework, lambda r: r.journeys, log),
        dead_ends=dead_ends,
        handoffs=kept(jm.handoffs, lambda h: h.journeys, log),
        notes=[*jm.notes, f"stages, transitions and paths of fewer than {k} journeys are left "
                          f"out (--min-journeys {k})"],
        whole=jm,
    )


def suppress_comparison(comparison: C) -> C:
    """A comparison without what fewer than ``min_journeys`` journeys share on either side;
    ``compare()`` returns it so, and applying it again changes nothing."""
    k = comparison.a.log.min_journeys
    if k <= 1 or comparison.a.whole is not None:
        return comparison

    a, b = suppress(comparison.a), suppress(comparison.b)
    # Shown only where each side that has it has it in K journeys or more.
    taken = [{(t.source, t.target) for t in side.transitions} for side in (a, b)]
    ended = [{d.stage for d in side.dead_ends} for side in (a, b)]

    def shown(counts: tuple[int, int], key, kept: list[set]) -> bool:
        return all(n == 0 or key in k_side for n, k_side in zip(counts, kept, strict=True))

    return replace(
        comparison, a=a, b=b,
        transitions=[t for t in comparison.transitions
                     if shown((t.count_a, t.count_b), t.key, taken)],
        dead_ends=[d for d in comparison.dead_ends
                   if shown((d.count_a, d.count_b), d.key[0], ended)],
        new_paths=[(p, n) for p, n in comparison.new_paths if n >= k],
        vanished_paths=[(p, n) for p, n in comparison.vanished_paths if n >= k],
    )
