"""Personas from behaviour: journeys grouped by what they do, with k-means.

A journey's profile is the count of each stage and of each transition (stage A directly
followed by B) on its path, the whole vector scaled to length 1: journeys doing the same
things in the same proportions are alike, however long they are. Journeys that share a path
share a profile, so k-means runs once per distinct path, weighted by its journeys (scikit-
learn's KMeans, seeded). It fits on the MAX_FIT most common paths; every other path joins
the persona whose centre is nearest. With ``k`` None, the number of personas is the k from
2 to 8 with the best silhouette, scored on SAMPLE journeys drawn with the seed.

Personas describe; they do not explain: a persona's goal rate is an association with what
its journeys do, not an effect of it, and another method or seed may group them otherwise.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from cjm.engine.protocol import Log, Paths
from cjm.errors import UsageError

SEED = 0
MAX_FIT = 5_000  # distinct paths k-means fits on: the most common
SAMPLE = 2_000  # journeys drawn (seeded) to score the silhouette of each k
K_AUTO = range(2, 9)
MIN_SHARE = 0.1  # a stage or transition sets a persona apart only if this share of it has it
FEATURES = 5  # stages and transitions shown per persona
TOP_PATHS = 3
EXTRA = 'pip install "cjm[personas]"'


@dataclass(frozen=True)
class Feature:
    """A stage (``kind`` 'stage') or transition ('transition', name 'a -> b'): the share of
    the persona's journeys that have it, that of the other journeys, and their ratio (None:
    no other journey has it)."""

    kind: str
    name: str
    share: float
    rest: float
    lift: float | None


@dataclass(frozen=True)
class Persona:
    number: int
    journeys: int
    share: float  # of all journeys
    goals: int  # journeys that reach a goal
    median_seconds: float | None  # duration of the whole journeys
    channels: list[tuple[str, int]]  # events per channel, most first (no channel role: [])
    features: list[Feature]  # highest lift first
    paths: list[tuple[tuple[str, ...], int]]  # its most common profiled paths
    members: tuple[tuple[str, ...], ...]  # every profiled path of the persona


@dataclass(frozen=True)
class Personas:
    k: int
    k_chosen: str  # 'auto' (best silhouette) or 'given'
    silhouettes: dict[int, float]  # k -> silhouette, for 'auto'
    journeys: int
    paths: int  # distinct profiled paths
    fitted_paths: int  # the most common paths k-means fits on
    fitted_journeys: int
    personas: list[Persona]  # shown: --min-journeys journeys or more, largest first
    withheld: int  # personas under --min-journeys
    withheld_journeys: int
    before_goal: bool
    goals: tuple[str, ...]
    goals_source: str
    outcome_column: str | None
    label: str | None


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise UsageError("cjm personas needs scikit-learn", f"Run: {EXTRA}") from None


def profile(path: Sequence[str]) -> Counter:
    """The counts of each stage and transition ('a -> b' keys are (a, b) tuples)."""
    counts: Counter = Counter(path)
    counts.update(pairwise(path))
    return counts


def _matrix(paths: Sequence[tuple[str, ...]], columns: dict):
    """Sparse rows of the paths' profiles, each scaled to length 1."""
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    data, cols, rows = [], [], []
    for i, path in enumerate(paths):
        for key, n in sorted(profile(path).items(), key=lambda kv: columns[kv[0]]):
            rows.append(i)
            cols.append(columns[key])
            data.append(float(n))
    return normalize(csr_matrix((data, (rows, cols)), shape=(len(paths), len(columns))))


def _choose_k(x, weights, k: int | None) -> tuple[int, dict[int, float]]:
    import numpy as np
    from sklearn.metrics import silhouette_score

    distinct = x.shape[0]
    if k is not None:
        if k > distinct:
            raise UsageError(f"--k {k} is more than the {distinct:,} distinct paths",
                             f"Pass --k {distinct} or fewer, or --k auto.")
        return k, {}
    rng = np.random.default_rng(SEED)
    drawn = rng.choice(distinct, size=SAMPLE, p=weights / weights.sum())
    scores = {}
    for candidate in K_AUTO:
        if candidate >= distinct:
            break
        labels = _fit(x, weights, candidate).labels_[drawn]
        if 1 < len(set(labels)) < len(drawn):
            scores[candidate] = round(float(silhouette_score(x[drawn], labels)), 6)
    if not scores:
        return 1, {}
    return max(scores, key=lambda c: (scores[c], -c)), scores


def _fit(x, weights, k: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(x, sample_weight=weights)


def parse_k(value: str) -> int | None:
    """``--k``: ``auto`` (None: the silhouette decides) or a whole number of 1 or more."""
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--k must be auto or a whole number of 1 or more, not {value!r}",
                         "Pass --k auto or --k 4.")
    return int(value)


def personas(log: Log, *, k: int | None = None, before_goal: bool = False,
             goals: Sequence[str] | None = None, use_outcome: bool | None = None,
             infer_goals: bool = True, still_active: float | None = None) -> Personas:
    """The personas of ``log``: ``k`` of them, or (None) as many as the silhouette picks;
    goals as cjm.discover decides them, with its arguments of the same names. With
    ``before_goal``, a journey's profile is what it did before its first goal event."""
    _sklearn()
    import numpy as np

    from cjm.journeys import discover

    if k is not None and k < 1:
        raise UsageError(f"--k must be 1 or more, not {k}")
    jm = discover(log, goals=goals or None, use_outcome=use_outcome, infer_goals=infer_goals,
                  still_active=still_active)
    if before_goal and jm.goals.source == "outcome":
        raise UsageError("--before-goal needs goal stages, not the outcome column",
                         "Pass --goal STAGE.")
    engine = log.engine("_personas")
    engine.prepare(None, "outcome" if jm.goals.source == "outcome" else None)
    journeys: Counter = Counter()
    reached: Counter = Counter()
    for ending in engine.path_endings(jm.goals.stages, jm.goals.source == "outcome",
                                      jm.still_active_seconds, before_goal):
        journeys[ending.stages] += ending.journeys
        reached[ending.stages] += ending.journeys if ending.status == "goal" else 0
    if not journeys:
        raise UsageError("the log has no journeys to group")
    ordered = sorted(journeys, key=lambda p: (-journeys[p], p))
    keys = {key for path in ordered for key in profile(path)}
    columns = {key: i for i, key in enumerate(sorted(keys, key=lambda c: (isinstance(c, tuple),
                                                                        c)))}
    fitted = ordered[:MAX_FIT]
    weights = np.array([journeys[p] for p in fitted], dtype=float)
    x = _matrix(fitted, columns)
    chosen, scores = _choose_k(x, weights, k)
    model = _fit(x, weights, chosen)
    group: dict[tuple[str, ...], int] = dict(zip(fitted, (int(c) for c in model.labels_),
                                                 strict=True))
    rest = ordered[MAX_FIT:]
    for start in range(0, len(rest), 10_000):
        batch = rest[start:start + 10_000]
        group.update(zip(batch, (int(c) for c in model.predict(_matrix(batch, columns))),
                         strict=True))
    members: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for path in ordered:
        members[group[path]].append(path)
    total = sum(journeys.values())
    # Largest first, then by their most common path: numbers do not depend on k-means' labels.
    clusters = sorted(members.values(), key=lambda ps: (-sum(journeys[p] for p in ps), ps[0]))
    shown = [ps for ps in clusters if sum(journeys[p] for p in ps) >= log.min_journeys]
    overall: Counter = Counter()
    for path, n in journeys.items():
        for key in profile(path):
            overall[key] += n
    described = [_describe(log, n, ps, journeys, reached, overall, jm.goals.stages,
                           before_goal) for n, ps in enumerate(shown, start=1)]
    return Personas(chosen, "given" if k is not None else "auto", scores, total, len(ordered),
                    len(fitted), int(weights.sum()), described, len(clusters) - len(shown),
                    sum(journeys[p] for ps in clusters[len(shown):] for p in ps), before_goal,
                    jm.goals.stages, jm.goals.source, jm.goals.outcome_column, log.label)


def _features(paths: Sequence[tuple[str, ...]], journeys: Counter, overall: Counter,
              total: int) -> list[Feature]:
    """The stages and transitions with the highest lift in ``paths`` against the rest;
    ``overall``: the journeys having each, of all."""
    inside: Counter = Counter()
    chosen = set(paths)
    for path in chosen:
        for key in profile(path):
            inside[key] += journeys[path]
    size = sum(journeys[p] for p in chosen)
    others = total - size
    found = []
    for key, n in inside.items():
        share = n / size
        if share < MIN_SHARE:
            continue
        rest = (overall[key] - n) / others if others else 0.0
        if rest >= share:  # no more common here than elsewhere: it sets nothing apart
            continue
        name = f"{key[0]} -> {key[1]}" if isinstance(key, tuple) else key
        found.append(Feature("transition" if isinstance(key, tuple) else "stage", name,
                             share, rest, share / rest if rest else None))
    found.sort(key=lambda f: (f.lift is not None, -(f.lift or 0.0), -f.share, f.kind, f.name))
    return found[:FEATURES]


def _describe(log: Log, number: int, paths: list[tuple[str, ...]], journeys: Counter,
              reached: Counter, overall: Counter, goals: tuple[str, ...],
              before_goal: bool) -> Persona:
    total = sum(journeys.values())
    size = sum(journeys[p] for p in paths)
    part = log.subset(Paths(tuple(paths), goals if before_goal else ()), f"persona {number}")
    engine = part.engine("_persona")
    channel = "channel" in getattr(log, "mapping", {})
    engine.prepare("channel" if channel else None, None)
    mix: Counter = Counter()
    if channel:
        for row in engine.channel_mix():
            mix[row.channel] += row.events
    top = [(p, journeys[p]) for p in paths[:TOP_PATHS] if journeys[p] >= log.min_journeys]
    return Persona(number, size, size / total, sum(reached[p] for p in paths),
                   engine.journey_figures().duration_median,
                   sorted(mix.items(), key=lambda kv: (-kv[1], kv[0])),
                   _features(paths, journeys, overall, total), top, tuple(paths))


def persona_log(log: Log, result: Personas, persona: Persona) -> Log:
    """The journeys of ``persona``, as a log (for its map)."""
    before = result.goals if result.before_goal else ()
    return log.subset(Paths(persona.members, before), f"persona {persona.number}")
