"""Designed journeys: what the business intended, loaded from YAML, BPMN or PNML.

The YAML format is cjm's own (docs/design.md)::

    name: Online purchase
    stages:
      - Visit Site
      - {name: Search, optional: true, repeatable: true}
      - {name: View Product, repeatable: true}
      - Add to Cart
      - Checkout
      - Purchase
    transitions:                 # allowed on top of the order of the stages
      - [Payment Failed, Checkout]
    start: [Visit Site]          # default: the first stage
    goals: [Purchase]            # default: the last stage
    service_levels:
      - {from: Checkout, to: Purchase, max_wait: 2d}

The stages listed in order make a sequence in which each stage may go on to the next one,
skipping optional stages (``sequence: false`` turns that off, so that only ``transitions``
are allowed). A repeatable stage may follow itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cjm.errors import DataError, UsageError
from cjm.safety import protect
from cjm.units import parse_span

DESIGN_FORMATS = (".yaml", ".yml", ".bpmn", ".pnml")
_YAML_KEYS = ("name", "stages", "sequence", "transitions", "start", "goals",
              "service_levels")


@dataclass(frozen=True)
class StageRule:
    name: str
    required: bool = True
    repeatable: bool = False


@dataclass
class Design:
    """A designed journey, whatever file it came from."""

    path: Path
    kind: str  # yaml, bpmn or pnml
    name: str
    stages: dict[str, StageRule]
    allowed: set[tuple[str, str]]
    starts: set[str]
    goals: set[str]
    order: dict[str, int] | None = None  # position of each stage in a sequence design
    ends: set[str] | None = None  # for a net: where a journey may end (None: after a goal)
    service_levels: dict[tuple[str, str], float] = field(default_factory=dict)
    net: Any = None  # a cjm.model.PetriNet, for fitness and precision
    warnings: list[str] = field(default_factory=list)  # what the file says that checks nothing

    def may_repeat(self, stage: str) -> bool:
        """Whether the design lets a journey visit ``stage`` again (directly or by a loop)."""
        rule = self.stages.get(stage)
        return bool(rule) and (rule.repeatable or _on_a_cycle(
            stage, {(a, b) for a, b in self.allowed if a != b}))

    def petri_net(self):
        """The Petri net of the design (built from the stages for a YAML design)."""
        if self.net is None:
            from cjm.model import net_from_transitions

            self.net = net_from_transitions(self.stages, self.allowed, self.starts, self.goals)
        return self.net


class _Spot:
    """Where in the YAML file something is, for messages."""

    def __init__(self, path: Path, node: Any) -> None:
        self.path = path
        self.line = node.start_mark.line + 1 if node is not None else 1

    def error(self, message: str, hint: str | None = None) -> DataError:
        return DataError(f"{self.path}:{self.line}: {message}", hint)


def load_design(path: str | Path) -> Design:
    """Read a designed journey from ``.yaml``/``.yml``, ``.bpmn`` or ``.pnml``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"--design {path}: is a folder, not a design file")
    if not path.is_file():
        raise UsageError(f"--design {path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in DESIGN_FORMATS:
        raise UsageError(f"--design {path}: a design is a .yaml, .bpmn or .pnml file")
    protect(path)
    if suffix in (".yaml", ".yml"):
        return _load_yaml(path)
    return _load_net(path, suffix[1:])


def _load_yaml(path: Path) -> Design:
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise DataError(f"{path}:{line}: not valid YAML: {exc.problem}",
                        "Check the indentation and the quoting on that line.") from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise DataError(f"{path}:1: a design is a mapping with 'stages' (and optionally "
                        "'transitions', 'start', 'goals', 'service_levels')",
                        "See docs/design.md for an example.")
    for key, _ in root.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _Spot(path, key).error("a design's keys are plain words such as 'stages'")
    fields = {key.value: value for key, value in root.value}
    nodes = {key.value: key for key, _ in root.value}
    for key in fields:
        if key not in _YAML_KEYS:
            from cjm.errors import did_you_mean

            raise _Spot(path, nodes[key]).error(
                f"unknown key {key!r}.{did_you_mean(key, _YAML_KEYS)}",
                "Keys: " + ", ".join(_YAML_KEYS))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # e.g. a tag such as !!python/object, which safe_load refuses
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise DataError(f"{path}:{line}: not a plain YAML design: "
                        f"{getattr(exc, 'problem', None) or exc}",
                        "Use plain lists, mappings and strings (no !! tags).") from None
    if "stages" not in data:
        raise _Spot(path, root).error("the design lists no 'stages'")
    stages = _stages(path, fields["stages"], data["stages"])
    names = list(stages)

    def known(name: Any, node: Any, what: str) -> str:
        if not isinstance(name, str) or name not in stages:
            from cjm.errors import did_you_mean

            raise _Spot(path, node).error(
                f"{what} {name!r} is not one of the stages.{did_you_mean(str(name), names)}")
        return name

    sequence = data.get("sequence", True)
    if not isinstance(sequence, bool):
        raise _Spot(path, fields["sequence"]).error("'sequence' must be true or false")
    allowed: set[tuple[str, str]] = set()
    if sequence:
        for i, source in enumerate(names):
            for target in names[i + 1:]:
                allowed.add((source, target))
                if stages[target].required:
                    break
    for name, rule in stages.items():
        if rule.repeatable:
            allowed.add((name, name))
    service: dict[tuple[str, str], float] = {}
    for item, node in _items(path, fields, data, "transitions"):
        source, target, wait = _pair(path, item, node, known)
        allowed.add((source, target))
        if wait is not None:
            service[(source, target)] = wait
    levels = []
    for item, node in _items(path, fields, data, "service_levels"):
        source, target, wait = _pair(path, item, node, known)
        if wait is None:
            raise _Spot(path, node).error("a service level needs max_wait (e.g. 2d)")
        service[(source, target)] = wait
        levels.append((source, target, _Spot(path, node).line))
    # By default a journey may start on each stage up to the first required one.
    default_starts = set()
    for name in names:
        default_starts.add(name)
        if stages[name].required:
            break
    starts = _names(path, fields, data, "start", known) or default_starts
    goals = _names(path, fields, data, "goals", known) or {names[-1]}
    # Waits are timed between directly consecutive events: between stages the design never
    # has next to each other, only journeys that already break the design are timed.
    warnings = [f"{path}:{line}: service level {a} → {b} can only time journeys that break "
                f"the design: it never has {b} directly after {a}, and only directly "
                "consecutive events are timed" for a, b, line in levels if (a, b) not in allowed]
    return Design(path, "yaml", str(data.get("name", path.stem)), stages, allowed, starts,
                  goals, order={n: i for i, n in enumerate(names)} if sequence else None,
                  service_levels=service, warnings=warnings)


def _stages(path: Path, node: Any, value: Any) -> dict[str, StageRule]:
    if not isinstance(value, list) or not value:
        raise _Spot(path, node).error("'stages' must be a list of stage names")
    stages: dict[str, StageRule] = {}
    for item, item_node in zip(value, node.value, strict=True):
        spot = _Spot(path, item_node)
        if isinstance(item, str):
            rule = StageRule(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            extra = set(item) - {"name", "optional", "repeatable"}
            if extra:
                raise spot.error(f"unknown stage setting {sorted(extra)[0]!r}",
                                 "A stage has: name, optional, repeatable.")
            for flag in ("optional", "repeatable"):
                if not isinstance(item.get(flag, False), bool):
                    raise spot.error(f"'{flag}' must be true or false")
            rule = StageRule(item["name"], not item.get("optional", False),
                             item.get("repeatable", False))
        else:
            raise spot.error("a stage is a name, or a mapping with 'name' "
                             "(and 'optional', 'repeatable')")
        if rule.name in stages:
            raise spot.error(f"stage {rule.name!r} is listed twice")
        stages[rule.name] = rule
    return stages


def _items(path: Path, fields: dict, data: dict, key: str):
    if key not in data:
        return []
    value = data[key]
    if not isinstance(value, list):
        raise _Spot(path, fields[key]).error(f"'{key}' must be a list")
    return zip(value, fields[key].value, strict=True)


def _pair(path: Path, item: Any, node: Any, known) -> tuple[str, str, float | None]:
    spot = _Spot(path, node)
    if isinstance(item, list) and len(item) == 2:
        return known(item[0], node, "from"), known(item[1], node, "to"), None
    if isinstance(item, dict) and "from" in item and "to" in item:
        extra = set(item) - {"from", "to", "max_wait"}
        if extra:
            raise spot.error(f"unknown transition setting {sorted(extra)[0]!r}",
                             "A transition has: from, to, max_wait.")
        wait = item.get("max_wait")
        seconds = None
        if wait is not None:
            try:
                seconds = parse_span(str(wait), "max_wait")
            except UsageError as exc:
                raise spot.error(exc.message, exc.hint) from None
        return known(item["from"], node, "from"), known(item["to"], node, "to"), seconds
    raise spot.error("a transition is [from, to] or {from: …, to: …, max_wait: …}")


def _names(path: Path, fields: dict, data: dict, key: str, known) -> set[str]:
    if key not in data:
        return set()
    value = data[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Spot(path, fields[key]).error(f"'{key}' must be a stage or a list of stages")
    return {known(name, fields[key], key) for name in items}


def _load_net(path: Path, kind: str) -> Design:
    """A BPMN or PNML design: what it allows is read off the net's footprints."""
    from cjm.model import footprints, read_net

    net = read_net(path)
    fp = footprints(net)
    allowed = fp["follows"]
    stages = {}
    for name in sorted(fp["stages"]):
        stages[name] = StageRule(name, name in fp["always"], _on_a_cycle(name, allowed))
    if not stages:
        raise DataError(f"{path}: the design has no labelled tasks or transitions",
                        "Name the tasks after the stages of the log.")
    ends = fp["ends"] or set(stages)
    return Design(path, kind, path.stem, stages, set(allowed), fp["starts"], ends, ends=ends,
                  net=net)


def _on_a_cycle(stage: str, allowed: set[tuple[str, str]]) -> bool:
    seen, todo = set(), [b for a, b in allowed if a == stage]
    while todo:
        node = todo.pop()
        if node == stage:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(b for a, b in allowed if a == node)
    return False
