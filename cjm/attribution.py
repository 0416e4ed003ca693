"""Attribution: each touchpoint's share of the conversions, by Markov-chain removal effect and
by the first-touch, last-touch and linear rules, each with a 95% bootstrap interval.

A touchpoint is a stage (or, with ``by_channel``, a channel). A journey's touches are its
touchpoints in order, with consecutive repeats folded into one touch (three ``View Product``
events in a row are one touch); a journey that converts counts only the touches before its
first goal event (with channels: up to and including it, since the channel of the goal event
is where the customer converted), since what follows a conversion cannot have earned it.

**Markov removal effect** (first order, as ChannelAttribution and marketing_attribution_models
define it). States: ``start``, one per touchpoint, and two absorbing states, ``conversion`` and
``null``. Each journey walks start → its touches → conversion (it converted) or null (it did
not); the transition probabilities are the observed shares of each state's moves. Folding
repeats drops self-loops, which change no absorption probability. P is the probability of
reaching conversion from start; removing a touchpoint sends every move into it to null
instead, and its removal effect is 1 - P(without it) / P. Its share is its removal effect
over the sum of all removal effects. Computed exactly from the fundamental matrix
N = (I - Q)⁻¹ (no simulation): by the strong Markov property, P(without i) = P - h_i·x_i,
where x = N·r (r: each state's probability of moving to conversion) and h_i = N[start, i] /
N[i, i] is the probability of ever reaching i.

**First touch**, **last touch**: each conversion goes to the journey's first (last) touch.
**Linear**: each conversion is split equally over the journey's touches (a touchpoint touched
twice, not in a row, gets two parts).

**Intervals**: a percentile bootstrap over journeys. Each resample draws as many journeys as
there are, with replacement: a multinomial over the distinct (touches, converted) pairs
weighted by their journeys; every figure is computed again on it. RESAMPLES resamples from a
fixed SEED on the sequences in a fixed order, so the result is the same on every run and for
any order of the input. Journeys with no touch (with channels: no event with a channel; else
a goal as their first event) have nothing to credit and are left out, and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise
from typing import TYPE_CHECKING

from cjm.errors import UsageError
from cjm.progress import step

if TYPE_CHECKING:
    import numpy as np

    from cjm.engine.protocol import Log

RESAMPLES = 1000
SEED = 20240101
CONFIDENCE = 0.95
MODELS = ("markov", "first_touch", "last_touch", "linear")


@dataclass(frozen=True)
class Share:
    """A share of the conversions (0 to 1) and its 95% bootstrap interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Touchpoint:
    name: str
    journeys: int  # journeys (with a touch) that have it among their touches
    removal_effect: float  # 1 - P(conversion without it) / P(conversion)
    markov: Share
    first_touch: Share
    last_touch: Share
    linear: Share


@dataclass(frozen=True)
class Shares:
    """What ``attribute`` computes: every touchpoint, in name order."""

    touchpoints: list[Touchpoint]
    journeys: int  # journeys with at least one touch
    conversions: int  # of them, those that converted
    without_touches: int  # journeys left out: nothing to credit
    conversions_without_touches: int
    sequences: int  # distinct touch sequences
    resamples: int
    seed: int


@dataclass(frozen=True)
class Attribution:
    """What ``cjm attribution`` shows."""

    by: str  # "stage" or "channel"
    shares: Shares  # every touchpoint, and the totals
    touchpoints: list[Touchpoint]  # those shown (min_journeys): largest Markov share first
    goals: tuple[str, ...]  # the goal stages; empty when the outcome column decides
    goals_source: str  # "flag", "inferred" or "outcome" (as cjm discover resolves them)
    outcome_column: str | None
    min_journeys: int
    confidence: float = CONFIDENCE

    @property
    def hidden(self) -> int:
        """Touchpoints left out: seen in fewer than ``min_journeys`` journeys."""
        return len(self.shares.touchpoints) - len(self.touchpoints)


def fold(touches: Iterable[str]) -> tuple[str, ...]:
    """Touches with consecutive repeats folded into one."""
    return tuple(name for name, _ in groupby(touches))


def attribute(sequences: Iterable[tuple[Sequence[str], int, int]], *,
              resamples: int = RESAMPLES, seed: int = SEED,
              advance: Callable[[int], None] | None = None) -> Shares:
    """Shares of the conversions from ``(touches, converted, not converted)`` rows: distinct
    sequences of touchpoints with their journeys (repeated sequences are merged, consecutive
    repeats folded). See the module's docstring for the models and the interval.
    ``advance(done)`` hears how many resamples are done (for a progress bar)."""
    import numpy as np

    if resamples < 1:
        raise UsageError(f"--resamples must be 1 or more, not {resamples}")
    merged: dict[tuple[str, ...], list[int]] = {}
    names: dict[str, str] = {}  # each name held once, however many sequences have it
    empty = [0, 0]
    for touches, converted, not_converted in sequences:
        key = tuple(names.setdefault(t, t) for t in fold(touches))
        counts = merged.setdefault(key, [0, 0]) if key else empty
        counts[0] += int(converted)
        counts[1] += int(not_converted)
    keys = sorted(merged)  # a fixed order: the same draws whatever the input's order
    chain = _Chain(keys)
    conv = np.array([merged[k][0] for k in keys], dtype=float)
    null = np.array([merged[k][1] for k in keys], dtype=float)
    journeys, conversions = int(conv.sum() + null.sum()), int(conv.sum())
    if not conversions:
        raise UsageError("attribution: no journey with a touch converts, so there is nothing "
                         "to attribute",
                         "Check the goal stages (--goal STAGE) or the outcome column.")
    point = chain.shares(conv, null)
    rng = np.random.default_rng(seed)
    weights = np.concatenate([conv, null]) / journeys
    draws = np.empty((resamples, len(MODELS), len(chain.names)))
    for b in range(resamples):
        drawn = rng.multinomial(journeys, weights).astype(float)
        draws[b] = chain.shares(drawn[:len(keys)], drawn[len(keys):])[1]
        if advance is not None:
            advance(b + 1)
    tail = (1 - CONFIDENCE) / 2 * 100
    # A resample without a conversion has no shares (NaN): it is left out of the interval.
    low, high = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
    seen = chain.journeys(conv + null)
    touchpoints = [
        Touchpoint(name, int(seen[t]), float(point[0][t]),
                   *(Share(float(point[1][m, t]), float(low[m, t]), float(high[m, t]))
                     for m in range(len(MODELS))))
        for t, name in enumerate(chain.names)]
    return Shares(touchpoints, journeys, conversions, sum(empty), empty[0], len(keys),
                  resamples, seed)


class _Chain:
    """The distinct sequences as index arrays, so that each resample costs a few vector
    operations and one matrix inversion (in the number of touchpoints)."""

    def __init__(self, keys: list[tuple[str, ...]]) -> None:
        import numpy as np

        self.names = sorted({t for k in keys for t in k})
        index = {name: i + 1 for i, name in enumerate(self.names)}  # 0 is start
        self.size = len(self.names) + 1
        coded = [[0, *(index[t] for t in k)] for k in keys]
        self.first = np.array([c[1] for c in coded])
        self.last = np.array([c[-1] for c in coded])
        # Per touch of each sequence: its sequence, the move into it (from start or the touch
        # before), the touch, and its part of the sequence's conversions (linear).
        self.seq_of = np.array([s for s, c in enumerate(coded) for _ in c[1:]], dtype=int)
        self.move = np.array([a * self.size + b for c in coded for a, b in pairwise(c)],
                             dtype=int)
        self.part_touch = np.array([t for c in coded for t in c[1:]], dtype=int)
        self.part = np.array([1 / (len(c) - 1) for c in coded for _ in c[1:]])
        # Journeys that have a touchpoint: each sequence counts once per touchpoint.
        having = np.sort(self.seq_of * self.size + self.part_touch)
        having = having[np.concatenate(([True], having[1:] != having[:-1]))]
        self.have_seq, self.have_touch = having // self.size, having % self.size

    def journeys(self, total: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.bincount(self.have_touch, total[self.have_seq], self.size)[1:]

    def shares(self, conv: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Removal effects, and the four models' shares (a row each, MODELS' order)."""
        import numpy as np

        size, touched = self.size, len(self.names)
        moves = np.bincount(self.move, (conv + null)[self.seq_of], size * size)
        moves = moves.reshape(size, size)
        to_conv = np.bincount(self.last, conv, size)
        out = moves.sum(axis=1) + to_conv + np.bincount(self.last, null, size)
        out[out == 0] = 1  # a state no journey reached: no moves, unreachable
        fundamental = np.linalg.inv(np.eye(size) - moves / out[:, None])
        x = fundamental @ (to_conv / out)
        total = conv.sum()
        shares = np.full((len(MODELS), touched), np.nan)
        removal = np.full(touched, np.nan)
        if total > 0 and x[0] > 0:
            diagonal = np.diagonal(fundamental)[1:]
            removal = fundamental[0, 1:] / diagonal * x[1:] / x[0]
            shares[0] = removal / removal.sum()
            shares[1] = np.bincount(self.first, conv, size)[1:] / total
            shares[2] = np.bincount(self.last, conv, size)[1:] / total
            shares[3] = np.bincount(self.part_touch, conv[self.seq_of] * self.part,
                                    size)[1:] / total
        return removal, shares


def attribution(log: Log, *, by_channel: bool = False, goals: Sequence[str] = (),
                resamples: int = RESAMPLES, seed: int = SEED) -> Attribution:
    """Attribution of the conversions of ``log`` to its stages (or channels).

    A journey converts when it reaches a goal stage: ``goals``, else as cjm.discover decides
    (the config's goals, the outcome column when it says yes/no, else inferred). With
    ``read_log(min_journeys=K)``, touchpoints that fewer than K journeys have are left out of
    what is shown (their shares still count in the totals).
    """
    from cjm.journeys import GOAL_SHARE, discover

    if by_channel and "channel" not in log.mapping:
        raise UsageError("--by-channel: the log has no channel column", "Pass --channel COLUMN.")
    found = discover(log, goals=list(goals) or None).goals
    if found.source == "none":
        raise UsageError("attribution: no goal stage given, and none found (no stage ends "
                         f"at least {GOAL_SHARE:.0%} of the journeys that reach it)",
                         "Pass --goal STAGE (the stage that counts as success) or "
                         "--outcome COLUMN.")
    engine = log.engine("_attribution")
    engine.prepare("channel" if by_channel else None,
                   "outcome" if found.source == "outcome" else None)
    rows = engine.touch_sequences(found.stages, by_channel)
    with step("Resampling the journeys", total=resamples) as advance:
        result = attribute(((r.touches, r.converted, r.not_converted) for r in rows),
                           resamples=resamples, seed=seed, advance=advance)
    shown = [t for t in result.touchpoints if t.journeys >= log.min_journeys]
    shown.sort(key=lambda t: (-t.markov.value, t.name))
    return Attribution("channel" if by_channel else "stage", result, shown, found.stages,
                       found.source,
                       log.mapping.column("outcome") if found.source == "outcome" else None,
                       log.min_journeys)
