"""The pm4py adapter, and the only module that imports pm4py.

pm4py works on aggregates, never on a copy of the whole log: the inductive miner on the
distinct paths with their counts; token-based replay (fitness and precision) once per
distinct prefix of the paths, one stage on from its parent's marking, weighted by journeys.
Weighting gives exactly what pm4py computes on the full log, because replaying a path does
not depend on which journey took it.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass
from itertools import pairwise
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
    """Write the model in the format its extension names (bpmn, pnml, ptml, svg, png, dot).

    The same model always gives the same bytes: ids are numbered in a fixed order, never
    random, and the BPMN diagram is laid out by the bundled ``graphviz-pure`` (also where the
    system Graphviz is installed, so that every machine writes the same layout).
    """
    from cjm.render.graphviz import render
    from cjm.safety import write_bytes, write_text

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in MODEL_FORMATS:
        raise UsageError(f"-o {path}: cannot tell the model format from the extension",
                         "Use .bpmn, .pnml, .ptml, .svg, .png or .dot.")
    if fmt in ("bpmn", "pnml", "ptml"):
        _check_xml_names(model, path)
    if fmt == "bpmn":
        write_bytes(path, bpmn_xml(model.bpmn()))
    elif fmt == "pnml":
        write_bytes(path, pnml_xml(model.petri_net()))
    elif fmt == "ptml":
        write_bytes(path, ptml_xml(model.tree))
    elif fmt == "dot":
        write_text(path, bpmn_dot(model.bpmn()))
    else:
        write_bytes(path, render(bpmn_dot(model.bpmn()), fmt))


def _check_xml_names(model: Model, path: Path) -> None:
    """Refuse a stage name that XML cannot hold (a control character other than tab and
    line breaks): the file would be unreadable, and escaping it would rename the stage."""
    import re

    from cjm.safety import printable

    for stage in sorted(model.petri_net().labels):
        if re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", stage):
            raise DataError(f"cannot write {path}: the stage '{printable(stage)}' holds a "
                            f"control character, which {path.suffix[1:].upper()} (XML) cannot "
                            "hold", "Clean the stage names, or write .svg, .png or .dot.")


# BPMN elements a process tree converts to: (pm4py class, XML tag, Graphviz shape, width,
# height); the sizes (in pixels) are those BPMN editors draw by default.
_BPMN_KINDS = (("StartEvent", "startEvent", "circle", 36, 36),
               ("EndEvent", "endEvent", "circle", 36, 36),
               ("Task", "task", "box", 100, 80),
               ("ExclusiveGateway", "exclusiveGateway", "diamond", 50, 50),
               ("ParallelGateway", "parallelGateway", "diamond", 50, 50),
               ("InclusiveGateway", "inclusiveGateway", "diamond", 50, 50))
_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
       "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
       "dc": "http://www.omg.org/spec/DD/20100524/DC",
       "di": "http://www.omg.org/spec/DD/20100524/DI"}


@dataclass(frozen=True)
class _Node:
    id: str
    tag: str
    shape: str
    width: int
    height: int
    name: str
    gateway_direction: str | None


def _bpmn_graph(bpmn: Any) -> tuple[list[_Node], list[tuple[str, str, str]]]:
    """The nodes and sequence flows (id, source, target), in pm4py's drawing order."""
    from pm4py.objects.bpmn.obj import BPMN
    from pm4py.objects.bpmn.util.sorting import get_sorted_nodes_edges

    ordered, edges = get_sorted_nodes_edges(bpmn)
    nodes, ids = [], {}
    for n, node in enumerate(ordered, start=1):
        kind = next(k for k in _BPMN_KINDS if isinstance(node, getattr(BPMN, k[0])))
        ids[node] = f"{kind[1]}_{n}"
        direction = getattr(node, "get_gateway_direction", None)
        nodes.append(_Node(ids[node], *kind[1:], node.get_name() or "",
                           direction().value if direction else None))
    flows = [(f"flow_{n}", ids[a], ids[b]) for n, (a, b) in enumerate(edges, start=1)]
    return nodes, flows


def bpmn_xml(bpmn: Any) -> bytes:
    """BPMN 2.0 XML with its diagram (shapes and edges), the same bytes for the same model."""
    from lxml import etree

    nodes, flows = _bpmn_graph(bpmn)
    bounds, routes = _bpmn_layout(nodes, flows)

    def element(parent, qualified: str, **attributes: str):
        prefix, tag = qualified.split(":")
        return etree.SubElement(parent, f"{{{_NS[prefix]}}}{tag}", attributes)

    root = etree.Element(f"{{{_NS['bpmn']}}}definitions", nsmap=_NS, id="definitions",
                         targetNamespace="http://bpmn.io/schema/bpmn", exporter="cjm")
    process = element(root, "bpmn:process", id="process", isExecutable="false")
    for node in nodes:
        extra = {"name": node.name} if node.name else {}
        if node.gateway_direction:
            extra["gatewayDirection"] = node.gateway_direction
        xml = element(process, f"bpmn:{node.tag}", id=node.id, **extra)
        for flow_id, _, target in flows:
            if target == node.id:
                element(xml, "bpmn:incoming").text = flow_id
        for flow_id, source, _ in flows:
            if source == node.id:
                element(xml, "bpmn:outgoing").text = flow_id
    for flow_id, source, target in flows:
        element(process, "bpmn:sequenceFlow", id=flow_id, sourceRef=source, targetRef=target)
    plane = element(element(root, "bpmndi:BPMNDiagram", id="diagram"), "bpmndi:BPMNPlane",
                    id="plane", bpmnElement="process")
    for node in nodes:
        x, y = bounds[node.id]
        element(element(plane, "bpmndi:BPMNShape", id=f"{node.id}_di", bpmnElement=node.id),
                "dc:Bounds", x=str(x), y=str(y), width=str(node.width),
                height=str(node.height))
    for flow_id, _, _ in flows:
        edge = element(plane, "bpmndi:BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in routes[flow_id]:
            element(edge, "di:waypoint", x=str(x), y=str(y))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _bpmn_layout(nodes: list[_Node], flows: list[tuple[str, str, str]]
                 ) -> tuple[dict[str, tuple[int, int]], dict[str, list[tuple[int, int]]]]:
    """Top-left corners of the nodes and waypoints of the flows, in pixels from the top left.

    The bundled ``graphviz-pure`` lays the diagram out left to right, always (the system
    ``dot`` may be another version, with other coordinates); flows are drawn as polylines
    whose corners are the waypoints.
    """
    from cjm.render.graphviz import render

    lines = ["digraph {", "graph [rankdir=LR, splines=polyline, nodesep=0.5, ranksep=0.6];",
             'node [fixedsize=true, label=""];', "edge [arrowhead=none];"]
    lines += [f"{n.id} [shape={n.shape}, width={n.width / 72:.4f}, "
              f"height={n.height / 72:.4f}];" for n in nodes]
    lines += [f"{source} -> {target};" for _, source, target in flows]
    plain = render("\n".join([*lines, "}"]), "plain", prefer_system=False).decode("utf-8")
    size = {n.id: (n.width, n.height) for n in nodes}
    height = 0.0
    bounds: dict[str, tuple[int, int]] = {}
    splines: dict[tuple[str, str], list[list[tuple[int, int]]]] = {}
    for fields in (line.split() for line in plain.splitlines()):
        if fields[0] == "graph":
            height = float(fields[3]) * 72
        elif fields[0] == "node":
            x, y = float(fields[2]) * 72, height - float(fields[3]) * 72
            width, tall = size[fields[1]]
            bounds[fields[1]] = (round(x - width / 2), round(y - tall / 2))
        elif fields[0] == "edge":
            points = [(round(float(fields[i]) * 72), round(height - float(fields[i + 1]) * 72))
                      for i in range(4, 4 + 2 * int(fields[3]), 2)]
            # A polyline's B-spline repeats each corner: its points 0, 3, 6, ... are on it.
            splines.setdefault((fields[1], fields[2]), []).append(points[::3])
    routes = {flow_id: splines[(source, target)].pop(0) for flow_id, source, target in flows}
    return bounds, routes


def pnml_xml(net: PetriNet) -> bytes:
    """PNML with places, transitions and arcs in a fixed order and ids that are never random.

    pm4py names a visible transition with a random UUID, an arc by its hash and the net by
    the time; its places and silent transitions are numbered as the tree is converted.
    """
    import uuid

    from lxml import etree
    from pm4py.objects.petri_net.exporter.variants.pnml import export_petri_tree

    def places(transition, side: str) -> list[str]:
        return sorted(_natural(getattr(arc, side).name) for arc in
                      getattr(transition, "in_arcs" if side == "source" else "out_arcs"))

    net.net.name = "model"
    visible = sorted((t for t in net.net.transitions if t.label is not None),
                     key=lambda t: (t.label, places(t, "source"), places(t, "target")))
    for n, transition in enumerate(visible, start=1):
        transition.name = f"stage_{n}"
    page = export_petri_tree(net.net, net.initial, net.final).getroot().find("net/page")
    order = {"place": 0, "transition": 1, "arc": 2}
    children = sorted(page, key=lambda e: (order[e.tag], _natural(e.get("id")) if e.tag != "arc"
                                           else (_natural(e.get("source")),
                                                 _natural(e.get("target")))))
    page[:] = children
    for n, arc in enumerate(page.iterfind("arc"), start=1):
        arc.set("id", f"arc_{n}")
    for tool in page.iterfind("transition/toolspecific[@localNodeID]"):
        tool.set("localNodeID", str(uuid.uuid5(uuid.NAMESPACE_URL,
                                               "cjm:" + tool.getparent().get("id"))))
    return etree.tostring(page.getroottree(), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)


def _natural(name: str) -> tuple:
    """Sort key in which p_9 comes before p_10."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def ptml_xml(tree: Any) -> bytes:
    """PTML with UUIDs numbered in the order the tree is written, never random ones."""
    import re
    import uuid

    from lxml import etree
    from pm4py.objects.process_tree.exporter.variants.ptml import export_ptree_tree

    stable: dict[bytes, bytes] = {}

    def renumber(match: re.Match) -> bytes:
        return stable.setdefault(match.group(0), str(uuid.uuid5(
            uuid.NAMESPACE_URL, f"cjm:{len(stable)}")).encode())

    xml = etree.tostring(export_ptree_tree(tree), xml_declaration=True, encoding="UTF-8",
                         pretty_print=True)
    return re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", renumber,
                  xml)


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
    """Token-based replay exactly as pm4py's, weighted by journeys.

    Replaying one more stage depends only on the marking reached so far, so each distinct
    prefix is replayed once, one stage on from its parent's, in a trie of the paths; pm4py's
    own end of a replay (towards the final marking) then runs once per marking reached.
    """
    _pm4py()
    stages_replay = _StageReplay(net, stop_unfit=False)
    root = _Prefix(net.initial)
    initial = sum(net.initial.values())
    totals = dict.fromkeys(("missing", "consumed", "remaining", "produced"), 0)
    path_fitness, path_fits = {}, {}
    for stages, weight in paths:
        node = root
        for stage in stages:
            node = node.child(stage, stages_replay)
        fits, missing, consumed, remaining, produced = stages_replay.end(node.marking)
        tokens = {"missing": node.missing + missing, "consumed": node.consumed + consumed,
                  "remaining": remaining, "produced": initial + node.produced + produced}
        for name, count in tokens.items():
            totals[name] += weight * count
        path_fits[stages] = fits and not node.missing  # as pm4py: before the end's missing
        path_fitness[stages] = _fitness(tokens, 1.0)
    return Replay(_fitness(totals, 0.0), path_fitness, path_fits)


def _fitness(tokens: dict[str, int], empty: float) -> float:
    """pm4py's token-based replay fitness of the tokens counted; ``empty`` when none moved."""
    if not (tokens["consumed"] > 0 and tokens["produced"] > 0):
        return empty
    return (0.5 * (1 - tokens["missing"] / tokens["consumed"])
            + 0.5 * (1 - tokens["remaining"] / tokens["produced"]))


def precision(net: PetriNet, paths: Sequence[tuple[tuple[str, ...], int]]) -> float:
    """ETConformance precision, exactly as pm4py's token-based replay computes it.

    pm4py replays every prefix of every trace from the initial marking. With its precision
    settings, replaying one more stage depends only on the marking reached so far, so each
    distinct prefix is replayed once, one stage on from its parent's, in a trie of the paths;
    each prefix is weighted by the journeys that share it.
    """
    _pm4py()
    from pm4py.util import constants

    stages_replay = _StageReplay(net, stop_unfit=True)
    root = _Prefix(net.initial)
    journeys = 0
    starts: set[str] = set()
    for stages, weight in paths:
        journeys += weight
        if stages:
            starts.add(stages[0])
        node = root
        for stage, following in pairwise(stages):
            # pm4py keys a prefix by its stages joined with "," and replays the key split at
            # every ",": a stage with a comma in its name is replayed as several.
            for part in stage.split(constants.DEFAULT_VARIANT_SEP):
                node = node.child(part, stages_replay)
            node.journeys += weight
            node.following.add(following)
    at_start = stages_replay.enabled(net.initial)
    sum_at = journeys * len(at_start)  # the empty prefix, as pm4py counts it
    sum_ee = journeys * len(at_start - starts)
    for node in root.descendants():
        if node.journeys and node.marking is not None:
            enabled = stages_replay.enabled(node.marking)
            sum_at += len(enabled) * node.journeys
            sum_ee += len(enabled - node.following) * node.journeys
    return 1 - sum_ee / sum_at if sum_at else 1.0


class _StageReplay:
    """pm4py's token replay of one stage from a marking: silent transitions walked to enable
    the stage; where it still does not fit, the replay stops (``stop_unfit``, as pm4py's
    precision runs it) or the missing tokens are added (as its fitness does). Each step, each
    set of enabled stages and each end of a replay is computed once per marking."""

    def __init__(self, net: PetriNet, *, stop_unfit: bool) -> None:
        from pm4py.algo.conformance.tokenreplay.variants import token_replay
        from pm4py.objects.petri_net.utils.petri_utils import get_places_shortest_path_by_hidden

        self.net, self.final, self.stop_unfit = net.net, net.final, stop_unfit
        self.silent_paths = get_places_shortest_path_by_hidden(
            net.net, token_replay.TechnicalParameters.MAX_REC_DEPTH.value)
        # As pm4py: a stage no transition is enabled for is tried with the last one by name.
        self.transition = {t.label: t for t in sorted(net.net.transitions, key=lambda t: t.name)}
        self.steps: dict[tuple, tuple[Any, int, int, int]] = {}
        self.visible: dict[tuple, frozenset[str]] = {}
        self.ends: dict[tuple, tuple[bool, int, int, int, int]] = {}

    def step(self, marking: Any, stage: str) -> tuple[Any, int, int, int]:
        """The marking after ``stage`` (None where the replay stops there) and the tokens
        missing, consumed and produced on the way."""
        if stage not in self.transition:
            return marking, 0, 0, 0  # pm4py passes over a stage the net does not have
        # Keyed by the places in order: pm4py's walk through silent transitions reads them so.
        key = (tuple(marking.items()), stage)
        if key not in self.steps:
            self.steps[key] = self._fire(marking, stage)
        return self.steps[key]

    def _fire(self, marking: Any, stage: str) -> tuple[Any, int, int, int]:
        """The body of pm4py's token_replay.apply_trace for one event."""
        from pm4py.algo.conformance.tokenreplay.variants.token_replay import (
            add_missing_tokens,
            apply_hidden_trans,
        )
        from pm4py.objects.petri_net import semantics

        enabled = [t for t in semantics.enabled_transitions(self.net, marking) if t.label == stage]
        transition = enabled[0] if enabled else self.transition[stage]
        missing = consumed = produced = 0
        if not enabled:
            _, marking, fired, _ = apply_hidden_trans(
                transition, self.net, copy(marking), self.silent_paths, [], 0, set(), [], False)
            consumed, produced = _tokens(fired)
            if not semantics.is_enabled(transition, self.net, marking):
                if self.stop_unfit:
                    return None, 1, consumed, produced
                missing = add_missing_tokens(transition, marking)[0]  # on the walk's copy
        consumed_here, produced_here = _tokens([transition])
        return (semantics.execute(transition, self.net, marking), missing,
                consumed + consumed_here, produced + produced_here)

    def enabled(self, marking: Any) -> frozenset[str]:
        """The stages a marking enables, through silent transitions too."""
        from pm4py.objects.petri_net.utils.align_utils import (
            get_visible_transitions_eventually_enabled_by_marking,
        )

        key = tuple(marking.items())
        if key not in self.visible:
            self.visible[key] = frozenset(
                t.label for t in get_visible_transitions_eventually_enabled_by_marking(
                    self.net, marking) if t.label is not None)
        return self.visible[key]

    def end(self, marking: Any) -> tuple[bool, int, int, int, int]:
        """pm4py's end of a replay from ``marking`` (its replay of no stage at all from there):
        whether it fits, and the tokens missing, consumed, remaining and produced."""
        from pm4py.algo.conformance.tokenreplay.variants.token_replay import apply_trace

        key = tuple(marking.items())
        if key not in self.ends:
            result = apply_trace([], self.net, marking, self.final, self.transition, False, {},
                                 {}, {}, self.silent_paths, True)
            fits, missing, consumed, remaining, produced = result[0], *result[6:]
            # That replay counts the tokens of ``marking`` as produced; the path did so already.
            self.ends[key] = (fits, missing, consumed, remaining,
                              produced - sum(marking.values()))
        return self.ends[key]


def _tokens(transitions: Iterable[Any]) -> tuple[int, int]:
    """The tokens that firing ``transitions`` consumes and produces, as pm4py counts them."""
    from pm4py.algo.conformance.tokenreplay.variants.token_replay import (
        get_consumed_tokens,
        get_produced_tokens,
    )

    return (sum(get_consumed_tokens(t)[0] for t in transitions),
            sum(get_produced_tokens(t)[0] for t in transitions))


class _Prefix:
    """A node of the trie of prefixes: the marking its replay reached (None: the replay
    stopped), the tokens missing, consumed and produced to get there, the journeys that share
    it and the stages that follow it."""

    __slots__ = ("children", "consumed", "following", "journeys", "marking", "missing",
                 "produced")

    def __init__(self, marking: Any, missing: int = 0, consumed: int = 0,
                 produced: int = 0) -> None:
        self.marking = marking
        self.missing, self.consumed, self.produced = missing, consumed, produced
        self.journeys = 0
        self.following: set[str] = set()
        self.children: dict[str, _Prefix] = {}

    def child(self, stage: str, replay: _StageReplay) -> _Prefix:
        node = self.children.get(stage)
        if node is None:
            marking, missing, consumed, produced = (
                (None, 0, 0, 0) if self.marking is None else replay.step(self.marking, stage))
            node = self.children[stage] = _Prefix(
                marking, self.missing + missing, self.consumed + consumed,
                self.produced + produced)
        return node

    def descendants(self) -> Iterator[_Prefix]:
        stack = list(self.children.values())
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children.values())


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
