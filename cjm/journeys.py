"""The journey map and its analyses: stages, transitions, paths, goals, dead-ends, gaps.

``discover(log)`` runs the engine's aggregates once and assembles a JourneyMap: plain data,
which every renderer (terminal, DOT, JSON) consumes as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from shlex import quote

from cjm.accounting import LogInfo
from cjm.bulk import no_cycle_collection
from cjm.config import Config
from cjm.engine.protocol import Log
from cjm.engine.rows import Handoff, Rework, Stage
from cjm.engine.semantics import FALSY, TRUTHY
from cjm.errors import UsageError, did_you_mean
from cjm.privacy import suppress
from cjm.progress import step
from cjm.units import format_seconds, parse_share, parse_span

GOAL_SHARE = 0.8  # of the journeys reaching a stage that end there, for it to be a goal
GOAL_MIN_ENDS = 0.05  # of all journeys that must end on a stage for it to be a goal
GOAL_CANDIDATES = 3  # stages named as nearest to a goal when none is inferred
# The slowest transitions are ranked among those taken this often: the median wait of a
# transition taken once or twice is an anecdote, and would lead the table on every real log.
GAP_MIN_COUNT = 30
# Journeys look like whole customer histories, not visits, when the median one lasts this
# long and more than this share of them take a path that no other journey takes.
HISTORY_MEDIAN_SECONDS = 7 * 86400
HISTORY_UNIQUE_SHARE = 0.5


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    count: int
    journeys: int
    share: float  # of the source stage's events that go on to the target
    median_seconds: float
    mean_seconds: float
    p90_seconds: float
    handoffs: int  # transitions whose channel (or hand-off column) changes


@dataclass(frozen=True)
class JourneyPath:
    stages: tuple[str, ...]
    journeys: int
    share: float
    coverage: float  # cumulative share of journeys, most frequent paths first
    median_seconds: float


@dataclass(frozen=True)
class DeadEnd:
    stage: str
    journeys: int
    share_of_reaching: float  # of the journeys that reach the stage
    share_of_dead_ends: float
    top_path: tuple[str, ...]
    top_path_journeys: int


@dataclass
class Goals:
    stages: tuple[str, ...]
    source: str  # "flag", "outcome", "inferred" or "none"
    outcome_column: str | None = None
    share: float = GOAL_SHARE  # the inference rule: this share of the reaching journeys end
    # When none is inferred: the stages closest to the rule (ending 5% of all journeys), with
    # the share of their reaching journeys that end there, nearest first.
    candidates: tuple[tuple[str, float], ...] = ()

    @property
    def rule(self) -> str:
        """How goals are inferred, in words, with the thresholds in force."""
        return (f"a goal stage ends at least {self.share * 100:g}% of the journeys that reach "
                f"it, and {GOAL_MIN_ENDS * 100:g}% of all journeys")


@dataclass
class JourneyMap:
    """Everything ``cjm discover`` reports, as plain data."""

    log: LogInfo  # how the log was read and its figures, as plain data
    stages: list[Stage]
    transitions: list[Transition]
    paths: list[JourneyPath]
    paths_total: int
    journeys: int
    events: int
    duration_median: float
    duration_p90: float
    duration_mean: float
    events_per_journey: dict[str, float]
    rework: list[Rework]
    goals: Goals
    goal_journeys: int
    open_journeys: int
    dead_end_journeys: int
    dead_ends: list[DeadEnd]
    still_active_seconds: float | None
    handoff_column: str | None  # the column as the user knows it
    handoff_role: str | None  # its name in the events table
    handoffs: list[Handoff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    buckets: int = 1  # how the engine ordered the journeys (see cjm.engine.duckdb.buckets)
    gap_min_count: int = GAP_MIN_COUNT  # slowest(): transitions taken at least this often
    # With --min-journeys: the map before what few journeys share was left out (cjm.privacy).
    whole: JourneyMap | None = field(default=None, repr=False, compare=False)

    @property
    def dead_end_rate(self) -> float | None:
        """Dead-ends among the journeys that have ended (open ones aside); None without goals."""
        closed = self.journeys - self.open_journeys
        if self.goals.source == "none" or not closed:
            return None
        return self.dead_end_journeys / closed

    @property
    def goal_rate(self) -> float | None:
        return None if self.goals.source == "none" else self.goal_journeys / self.journeys

    @property
    def self_loops(self) -> list[Transition]:
        return [t for t in self.transitions if t.source == t.target]

    def slowest(self, n: int = 10) -> list[Transition]:
        """Transitions taken at least ``gap_min_count`` times, by median wait, slowest first
        (ties: more traffic first)."""
        often = (t for t in self.transitions if t.count >= self.gap_min_count)
        return sorted(often, key=lambda t: (-t.median_seconds, -t.count, t.source, t.target))[:n]

    def handoff_transitions(self, n: int = 10) -> list[Transition]:
        hand = [t for t in self.transitions if t.handoffs]
        return sorted(hand, key=lambda t: (-t.handoffs, t.source, t.target))[:n]

    @property
    def handoff_count(self) -> int:
        return sum(t.handoffs for t in self.transitions)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def _goals(stages: list[Stage], journeys: int, goals: Sequence[str], outcome: str | None,
           goal_share: float, infer: bool = True) -> Goals:
    names = {s.name for s in stages}
    if goals:
        # A goal named by the user must exist; one carried over from another log (a
        # segment, a period, a design) may be missing here: then no journey reaches it.
        for goal in goals if infer else ():
            if goal not in names:
                raise UsageError(
                    f"--goal: no stage {goal!r} in the log.{did_you_mean(goal, names)}",
                    "Stages: " + ", ".join(sorted(names)[:30]))
        return Goals(tuple(sorted(set(goals))), "flag")
    if outcome:
        return Goals((), "outcome", outcome)
    if not infer:
        return Goals((), "none")
    ending = [s for s in stages if s.journeys and s.ends >= GOAL_MIN_ENDS * journeys]
    inferred = tuple(sorted(s.name for s in ending if s.ends / s.journeys >= goal_share))
    if inferred:
        return Goals(inferred, "inferred", share=goal_share)
    nearest = sorted(ending, key=lambda s: (-s.ends / s.journeys, s.name))[:GOAL_CANDIDATES]
    return Goals((), "none", share=goal_share,
                 candidates=tuple((s.name, s.ends / s.journeys) for s in nearest))


def discover_reads(config: Config, handoff_column: str | None = None) -> list[str]:
    """The optional roles discover() reads of a log read with ``config`` (its hand-off's,
    given or the config's, and the outcome): a ``hold`` for read_log, so that the events
    hold no other (cjm discover: 3% of the time at 10M events)."""
    return ["outcome", config.setting("handoff_column", handoff_column) or "channel"]


def discover(
    log: Log,
    *,
    goals: Sequence[str] | None = None,
    use_outcome: bool | None = None,
    goal_share: float | str | None = None,
    still_active: float | str | None = None,
    handoff_column: str | None = None,
    infer_goals: bool = True,
    buckets: int | None = None,
    gap_min_count: int = GAP_MIN_COUNT,
) -> JourneyMap:
    """Aggregate ``log`` into a JourneyMap, as ``cjm discover`` does.

    A journey succeeds when it reaches a goal stage; a dead-end is a journey that ended
    without doing so, and it dead-ends at its last stage. ``goals`` names the goal stages.
    ``use_outcome`` makes journeys with a truthy outcome (true, yes, 1, converted, …) the
    successes instead; by default (None) that happens when no goal is named and the log has
    an outcome column of such values, and it is insisted on when the outcome column was named
    (``columns={"outcome": …}``, ``--outcome``). Otherwise goals are inferred: a stage where
    at least ``goal_share`` of the journeys reaching it end, and that ends 5% of all journeys.
    ``still_active`` (seconds, or a span such as ``"14d"``) sets journeys whose last event is
    that close to the end of the log apart as open. ``handoff_column`` is a role (channel,
    device, department) or column whose change between two events makes a hand-off; it
    defaults to the channel. ``goals``, ``goal_share``, ``still_active`` and
    ``handoff_column`` left as None take the log's config (``cjm.toml``), as the CLI does.
    With ``read_log(min_journeys=K)``, what fewer than K journeys share is left out of the
    map returned (see cjm.privacy).
    ``infer_goals=False`` leaves a log without named goals (or outcome) with no goals, and
    accepts goals that do not occur in it (carried over from a larger log or a design).
    ``buckets`` (default: the log's) above 1 orders the journeys a bucket at a time, for logs
    larger than memory, with the same figures.
    ``gap_min_count`` is how often a transition must be taken to rank among the slowest.
    """
    settings = log.config
    goals = settings.setting("goals", goals, ())
    goal_share = settings.setting("goal_share", goal_share, GOAL_SHARE)
    if isinstance(goal_share, str):
        goal_share = parse_share(goal_share, "goal_share")
    still_active = settings.setting("still_active", still_active)
    if isinstance(still_active, str):
        still_active = parse_span(still_active, "still_active")
    handoff_column = settings.setting("handoff_column", handoff_column)
    if not 0 < goal_share <= 1:
        raise UsageError(f"--goal-share must be in (0, 1], not {goal_share}")
    if gap_min_count < 1:
        raise UsageError(f"--gap-min-count must be at least 1, not {gap_min_count}")
    outcome = "outcome" if "outcome" in log.mapping else None
    if use_outcome is None and not goals and outcome \
            and log.mapping.choices[outcome].source == "flag":
        use_outcome = True  # a column named as the outcome must say yes or no
    if use_outcome and not outcome:
        raise UsageError("the log has no outcome column", "Pass --outcome COLUMN.")
    if use_outcome and goals:
        raise UsageError("success comes from goal stages or from the outcome column, not both",
                         "Give goals, or use_outcome=True, not both.")
    buckets = log.buckets if buckets is None else buckets
    engine = log.engine(buckets=buckets, still_active=still_active)
    notes = []
    if outcome and (use_outcome or (use_outcome is None and not goals)):
        values = engine.outcome_values(outcome)
        if not _boolean(values):
            listing = ", ".join(repr(v) for v in values[:8])
            if use_outcome:
                raise UsageError(
                    f"--outcome: column {log.mapping.column('outcome')!r} does not say yes or "
                    f"no (values: {listing})",
                    "Success needs values such as true/false, yes/no, 1/0; or pass --goal STAGE.")
            notes.append(f"outcome column {log.mapping.column('outcome')!r} holds {listing}, "
                         "not yes/no values, so it does not mark success")
        use_outcome = _boolean(values)
    hand = _handoff_role(log, handoff_column)
    with step("Aggregating the journeys"), no_cycle_collection():
        engine.prepare(hand, outcome if use_outcome else None)

        stages = sorted(engine.stages(), key=lambda s: (-s.events, s.name))
        events_of = {s.name: s.events for s in stages}
        transitions = sorted(
            (Transition(m.source, m.target, m.count, m.journeys, m.count / events_of[m.source],
                        m.median_seconds, m.mean_seconds, m.p90_seconds, m.handoffs)
             for m in engine.transitions()),
            key=lambda t: (-t.count, t.source, t.target),
        )
        figures = engine.journey_figures()
        journeys = figures.journeys
        paths, covered = [], 0
        for path in engine.paths():
            covered += path.journeys
            paths.append(JourneyPath(path.stages, path.journeys, path.journeys / journeys,
                                     covered / journeys, path.median_seconds))
        history = _history_note(log, paths, journeys, float(figures.duration_median))
        if history:
            notes.append(history)
        goal_spec = _goals(stages, journeys, goals,
                           log.mapping.column("outcome") if use_outcome else None, goal_share,
                           infer_goals)
        endings = engine.endings(goal_spec.stages, use_outcome, still_active)
        reaching = {s.name: s.journeys for s in stages}
        dead_total = sum(e.journeys for e in endings if e.status == "dead_end")
        dead_ends = sorted(
            (DeadEnd(e.stage, e.journeys, e.journeys / reaching[e.stage],
                     e.journeys / dead_total, e.top_path, e.top_path_journeys)
             for e in endings if e.status == "dead_end"),
            key=lambda d: (-d.journeys, d.stage),
        )
        if goal_spec.source == "none":
            dead_ends, dead_total = [], 0
        handoffs = sorted(engine.handoff_matrix(),
                          key=lambda h: (-h.count, h.source, h.target)) if hand else []
    return suppress(JourneyMap(
        log=log.info(), stages=stages, transitions=transitions, paths=paths, paths_total=len(paths),
        journeys=journeys, events=log.events, duration_median=float(figures.duration_median),
        duration_p90=float(figures.duration_p90), duration_mean=float(figures.duration_mean),
        events_per_journey={"median": float(figures.events_median),
                            "mean": float(figures.events_mean), "max": int(figures.events_max)},
        rework=sorted(engine.rework(), key=lambda r: (-r.journeys, r.stage)),
        goals=goal_spec,
        goal_journeys=sum(e.journeys for e in endings if e.status == "goal"),
        open_journeys=sum(e.journeys for e in endings if e.status == "open"),
        dead_end_journeys=dead_total, dead_ends=dead_ends, still_active_seconds=still_active,
        handoff_column=log.mapping.column(hand) if hand else None, handoff_role=hand,
        handoffs=handoffs, notes=notes, buckets=buckets, gap_min_count=gap_min_count,
    ))


def _history_note(log: Log, paths: list[JourneyPath], journeys: int,
                  median: float) -> str | None:
    """A hint to split journeys that look like whole customer histories into visits."""
    unique = sum(p.journeys for p in paths if p.journeys == 1) / journeys if journeys else 0
    if median < HISTORY_MEDIAN_SECONDS or unique <= HISTORY_UNIQUE_SHARE:
        return None
    session = log.session_column
    by_session = f" or by the column {session} (--case {quote(session)})" if session else ""
    return (f"journeys look like whole customer histories rather than visits: the median "
            f"journey lasts {format_seconds(median)} and {unique:.1%} of the journeys take a "
            f"path no other journey takes; to study visits, split them with --journey-gap 30m"
            f"{by_session}")


def _boolean(values: list[str]) -> bool:
    """True when every value reads as yes or no (so the column can mark success)."""
    return bool(values) and all(v in TRUTHY or v in FALSY for v in values)


def _handoff_role(log: Log, handoff_column: str | None) -> str | None:
    """The events-table column whose change makes a hand-off (a role name), or None."""
    if handoff_column is None:
        return "channel" if "channel" in log.mapping else None
    roles = [r for r in log.roles if r != "lifecycle"]  # lifecycle is not kept per event
    if handoff_column in roles:
        return handoff_column
    for role in roles:
        if log.mapping.column(role) == handoff_column:
            return role
    raise UsageError(
        f"--handoff-column: {handoff_column!r} is not a mapped role of this log",
        "Use channel, device or department (map them with --channel, --device, --department). "
        "Mapped here: " + (", ".join(roles) or "none"),
    )
