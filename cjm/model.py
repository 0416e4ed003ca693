"""The pm4py adapter, and the only module that imports pm4py.

pm4py works on aggregates, never on a copy of the whole log: the inductive miner on the
distinct paths with their counts, token-based replay and precision once per distinct path
(or prefix) weighted by its journeys. Weighting gives exactly what pm4py computes on the full
log, because replaying a path does not depend on which journey took it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cjm.errors import DataError, UsageError
from cjm.progress import step

MODEL_FORMATS = ("bpmn", "pnml", "ptml", "svg", "png", "dot")
MAX_MINED_PATHS = 2000  # the miner's cost grows with distinct paths; see docs/concepts.md


def _pm4py():
    sys._pm4py_welcome_shown = True  # type: ignore[attr-defined]  # no banner on our stderr
    import pm4py
    from pm4py.util import constants

    constants.SHOW_PROGRESS_BAR = False  # cjm draws its own progress, on a terminal only
    return pm4py


@dataclass
class PetriNet:
    """A Petri net with its initial and final markings (pm4py objects)."""

    net: Any
    initial: Any
    final: Any

    @property
    def labels(self) -> set[str]:
        return {t.label for t in self.net.transitions if t.label is not None}


@dataclass
class Model:
    """A discovered model: the process tree and the paths it was mined from."""

    tree: Any
    paths_used: int
    journeys_covered: int
    noise: float

    def petri_net(self) -> PetriNet:
        return PetriNet(*_pm4py().convert_to_petri_net(self.tree))

    def bpmn(self) -> Any:
        return _pm4py().convert_to_bpmn(self.tree)


def discover_model(paths: Sequence[tuple[tuple[str, ...], int]], noise: float = 0.2,
                   max_paths: int = MAX_MINED_PATHS) -> Model:
    """Mine a process tree with the inductive miner (IMf) from paths and their journeys.

    The most frequent ``max_paths`` paths are mined (all of them when there are fewer).
    """
    if not 0 <= noise < 1:
        raise UsageError(f"--noise must be from 0 up to 1, not {noise}")
    _pm4py()
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.util.compression.dtypes import UVCL

    used = sorted(paths, key=lambda p: (-p[1], p[0]))[:max_paths]
    counter = UVCL()
    for stages, journeys in used:
        counter[tuple(stages)] = journeys
    parameters = {"noise_threshold": noise}
    miner = IMFUVCL(parameters) if noise > 0 else IMUVCL(parameters)
    tree = miner.apply(IMDataStructureUVCL(counter), parameters)
    return Model(tree, len(used), sum(j for _, j in used), noise)


def write_model(model: Model, path: Path) -> None:
    """Write the model in the format its extension names (bpmn, pnml, ptml, svg, png, dot)."""
    from cjm.render.graphviz import render
    from cjm.safety import write_bytes, write_text

    pm4py = _pm4py()
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in MODEL_FORMATS:
        raise UsageError(f"-o {path}: cannot tell the model format from the extension",
                         "Use .bpmn, .pnml, .ptml, .svg, .png or .dot.")
    if fmt in ("svg", "png", "dot"):
        dot = bpmn_dot(model.bpmn())
        if fmt == "dot":
            write_text(path, dot)
        else:
            write_bytes(path, render(dot, fmt))
        return
    # pm4py writes to a path: let it write beside the target, then move the file into place.
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a folder", "Give a file name.")
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp.{fmt}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "bpmn":
            pm4py.write_bpmn(model.bpmn(), str(temp))
        elif fmt == "pnml":
            net = model.petri_net()
            pm4py.write_pnml(net.net, net.initial, net.final, str(temp))
        else:
            pm4py.write_ptml(model.tree, str(temp))
        os.replace(temp, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)


def bpmn_dot(bpmn: Any) -> str:
    """DOT for a BPMN diagram, with node ids numbered in drawing order (not memory addresses)."""
    import re

    from pm4py.visualization.bpmn import visualizer

    source = visualizer.apply(bpmn, parameters={"format": "svg"}).source
    ids: dict[str, str] = {}

    def stable(match: re.Match) -> str:
        return ids.setdefault(match.group(0), f"n{len(ids)}")

    # pm4py names nodes by id(); renumber them in order of appearance for stable output.
    # Only ids are renumbered (a node statement's start, either end of an edge), never a
    # number inside a label.
    source = re.sub(r"(?m)^(\s*)(\d{6,})(?=\s*(?:\[|->))",
                    lambda m: m.group(1) + stable(re.match(r"\d+", m.group(2))), source)
    return re.sub(r"(->\s*)(\d{6,})\b",
                  lambda m: m.group(1) + stable(re.match(r"\d+", m.group(2))), source)


def read_net(path: Path) -> PetriNet:
    """A designed journey from BPMN or PNML, as a Petri net."""
    pm4py = _pm4py()
    fmt = path.suffix.lower()
    _check_xml(path)
    try:
        if fmt == ".bpmn":
            return PetriNet(*pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path))))
        if fmt == ".pnml":
            with warnings.catch_warnings():  # pm4py warns of a missing marking: said below
                warnings.simplefilter("ignore", UserWarning)
                net = PetriNet(*pm4py.read_pnml(str(path)))
            if not net.initial or not net.final:
                raise DataError(f"{path}: the PNML has no initial or no final marking",
                                "A designed journey needs both, to know where journeys start "
                                "and end.")
            return net
    except DataError:
        raise
    except Exception as exc:  # pm4py raises many kinds for a damaged file
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read the {fmt[1:].upper()} design: {message}",
                        "Check that the file is complete and was exported as "
                        f"{fmt[1:].upper()} 2.0.") from None
    raise UsageError(f"{path}: a design must be .yaml, .bpmn or .pnml")


def _check_xml(path: Path) -> None:
    """Refuse a file that is not well-formed XML, without resolving entities or fetching."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        with path.open("rb") as handle:
            etree.parse(handle, parser)
    except etree.XMLSyntaxError as exc:
        raise DataError(f"{path}:{exc.lineno}: not well-formed XML: {exc.msg}",
                        "Export the design again from its editor.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the design: {exc.strerror or exc}") from None


def net_from_transitions(stages: Iterable[str], allowed: Iterable[tuple[str, str]],
                         starts: Iterable[str], ends: Iterable[str]) -> PetriNet:
    """A workflow net in which every stage is one visible transition, routed by silent ones.

    Each stage has a place before and a place after it; an allowed transition a -> b is a
    silent transition from after(a) to before(b). With one visible transition per stage and
    one silent route per pair, token replay has no choice to make, so its result does not
    depend on the order in which pm4py happens to walk its sets.
    """
    _pm4py()
    from pm4py.objects.petri_net.obj import Marking
    from pm4py.objects.petri_net.obj import PetriNet as Net
    from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to

    net = Net("designed journey")
    source, sink = Net.Place("source"), Net.Place("sink")
    net.places.update((source, sink))
    before, after = {}, {}
    for i, stage in enumerate(sorted(set(stages))):
        before[stage], after[stage] = Net.Place(f"before_{i}"), Net.Place(f"after_{i}")
        visible = Net.Transition(f"stage_{i}", stage)
        net.places.update((before[stage], after[stage]))
        net.transitions.add(visible)
        add_arc_from_to(before[stage], visible, net)
        add_arc_from_to(visible, after[stage], net)

    def route(name: str, origin, target) -> None:
        silent = Net.Transition(name, None)
        net.transitions.add(silent)
        add_arc_from_to(origin, silent, net)
        add_arc_from_to(silent, target, net)

    for n, (a, b) in enumerate(sorted(set(allowed))):
        route(f"route_{n}", after[a], before[b])
    for n, stage in enumerate(sorted(set(starts))):
        route(f"start_{n}", source, before[stage])
    for n, stage in enumerate(sorted(set(ends))):
        route(f"end_{n}", after[stage], sink)
    return PetriNet(net, Marking({source: 1}), Marking({sink: 1}))


def footprints(net: PetriNet) -> dict[str, Any]:
    """What a net allows: directly-follows pairs, start and end stages, the stages it must see.

    A block-structured net is turned into a process tree first, whose footprints also know
    the end stages and the stages every run visits; other nets give only what follows what.
    """
    pm4py = _pm4py()
    try:
        fp = pm4py.discover_footprints(
            pm4py.convert_to_process_tree(net.net, net.initial, net.final))
    except Exception:  # not block-structured: pm4py cannot make a tree of it
        fp = pm4py.discover_footprints(net.net, net.initial, net.final)
    return {
        "follows": set(fp["sequence"]) | set(fp["parallel"]),
        "starts": set(fp["start_activities"]),
        "ends": set(fp.get("end_activities", ())),
        "always": set(fp.get("activities_always_happening", ())),
        "stages": set(fp["activities"]),
    }


def _log_of(paths: Iterable[tuple[str, ...]]):
    from pm4py.objects.log.obj import Event, EventLog, Trace

    log = EventLog()
    for stages in paths:
        trace = Trace()
        for stage in stages:
            trace.append(Event({"concept:name": stage}))
        log.append(trace)
    return log


@dataclass(frozen=True)
class Replay:
    """Token-based replay of each distinct path: fitness per path and for the whole log."""

    fitness: float
    path_fitness: dict[tuple[str, ...], float]
    path_fits: dict[tuple[str, ...], bool]


def replay(net: PetriNet, paths: Sequence[tuple[tuple[str, ...], int]]) -> Replay:
    """Token-based replay once per distinct path, weighted by its journeys."""
    _pm4py()
    from pm4py.algo.conformance.tokenreplay import algorithm as token_replay

    keys = [stages for stages, _ in paths]
    results = token_replay.apply(_log_of(keys), net.net, net.initial, net.final)
    totals = dict.fromkeys(("missing", "consumed", "remaining", "produced"), 0)
    for (_, weight), result in zip(paths, results, strict=True):
        for name in totals:
            totals[name] += weight * result[f"{name}_tokens"]
    fitness = 0.0
    if totals["consumed"] and totals["produced"]:
        fitness = (0.5 * (1 - totals["missing"] / totals["consumed"])
                   + 0.5 * (1 - totals["remaining"] / totals["produced"]))
    return Replay(
        fitness,
        {k: float(r["trace_fitness"]) for k, r in zip(keys, results, strict=True)},
        {k: bool(r["trace_is_fit"]) for k, r in zip(keys, results, strict=True)},
    )


def precision(net: PetriNet, paths: Sequence[tuple[tuple[str, ...], int]]) -> float:
    """ETConformance precision, as pm4py computes it, from prefixes weighted by journeys."""
    _pm4py()
    from pm4py.algo.conformance.tokenreplay.variants import token_replay
    from pm4py.algo.evaluation.precision import utils as precision_utils
    from pm4py.objects.petri_net.utils.align_utils import (
        get_visible_transitions_eventually_enabled_by_marking,
    )
    from pm4py.util import constants

    prefixes: dict[str, set[str]] = {}
    prefix_count: Counter = Counter()
    journeys = 0
    starts: set[str] = set()
    for stages, weight in paths:
        journeys += weight
        if stages:
            starts.add(stages[0])
        for i in range(1, len(stages)):
            key = constants.DEFAULT_VARIANT_SEP.join(stages[:i])
            prefixes.setdefault(key, set()).add(stages[i])
            prefix_count[key] += weight
    keys = list(prefixes)
    replayed = token_replay.apply(
        precision_utils.form_fake_log(keys), net.net, net.initial, net.final,
        parameters={
            token_replay.Parameters.CONSIDER_REMAINING_IN_FITNESS: False,
            token_replay.Parameters.TRY_TO_REACH_FINAL_MARKING_THROUGH_HIDDEN: False,
            token_replay.Parameters.STOP_IMMEDIATELY_UNFIT: True,
            token_replay.Parameters.WALK_THROUGH_HIDDEN_TRANS: True,
            token_replay.Parameters.CLEANING_TOKEN_FLOOD: False,
        },
    )
    enabled_at_start = {t.label for t in
                        get_visible_transitions_eventually_enabled_by_marking(net.net, net.initial)}
    sum_at = journeys * len(enabled_at_start)
    sum_ee = journeys * len(enabled_at_start - starts)
    for key, result in zip(keys, replayed, strict=True):
        if result["trace_is_fit"]:
            enabled = {t.label for t in result["enabled_transitions_in_marking"]
                       if t.label is not None}
            sum_at += len(enabled) * prefix_count[key]
            sum_ee += len(enabled - prefixes[key]) * prefix_count[key]
    return 1 - sum_ee / sum_at if sum_at else 1.0


@dataclass(frozen=True)
class Alignments:
    """Optimal alignments of distinct paths: fitness, and the moves that do not synchronise.

    ``moves`` maps each path to its (kind, stage) moves: "log" for a stage the model cannot
    take there, "model" for a stage the model needed that the journey skipped.
    """

    fitness: float
    moves: dict[tuple[str, ...], list[tuple[str, str]]]


def align(net: PetriNet, paths: Sequence[tuple[tuple[str, ...], int]]) -> Alignments:
    """Optimal alignments once per distinct path; fitness weighted by its journeys."""
    _pm4py()
    total = weight = 0.0
    moves: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    with step("Aligning paths", total=len(paths)) as advance:
        for done, (stages, journeys) in enumerate(paths, start=1):
            moves[tuple(stages)], fitness = _align_one(net, stages)
            total += journeys * fitness
            weight += journeys
            advance(done)
    return Alignments(total / weight if weight else 1.0, moves)


def _align_one(net: PetriNet, stages: tuple[str, ...]) -> tuple[list[tuple[str, str]], float]:
    """The log and model moves of one path's optimal alignment, and its fitness."""
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments

    with warnings.catch_warnings():
        # pm4py's A* heuristic still builds numpy matrices; the result is unaffected.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        result = alignments.apply_trace(_log_of([stages])[0], net.net, net.initial, net.final)
    moves = [
        ("log", log) if model == ">>" else ("model", model)
        for log, model in result["alignment"]
        if (log == ">>") != (model == ">>") and not (log == ">>" and model is None)
    ]
    return moves, float(result["fitness"])


def alignment_fitness(net: PetriNet, paths: Sequence[tuple[tuple[str, ...], int]]) -> float:
    """Fitness of optimal alignments, once per distinct path, weighted by its journeys."""
    return align(net, paths).fitness
