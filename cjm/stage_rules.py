"""Stage groups, renames and collapsed repeats: the stages as the analyst wants to see them.

Applied as the log is read, by every engine alike, so that every command sees the same
stages. The rules are decided here, in Python, on the log's distinct stage names (a few
thousand at most), and each engine then only swaps names by the resulting table:

- ``--rename old=new`` renames one stage;
- ``--group "a,b=name"`` merges the stages listed, ``--group "re:PATTERN=name"`` those whose
  name matches the regular expression (Python's ``re.search``: anchor it with ^ and $);
- renames come first, then groups in the order given (a stage takes the first group that
  matches it); the flags' rules come before those of cjm.toml's ``[stages]`` table;
- ``--collapse-repeats``: consecutive events of a journey at one stage (after the groups)
  count once, the first of them; the others are set aside and counted as filtered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cjm.errors import UsageError
from cjm.units import format_counted

SHOWN = 5  # merged stages a note names before it says how many more


@dataclass(frozen=True)
class StageRule:
    """Stages (by name, or matching ``pattern``) that become ``target``."""

    target: str
    names: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    def matches(self, stage: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(stage) is not None
        return stage in self.names


def parse_rule(text: str, flag: str) -> StageRule:
    """``a,b=name``, ``re:PATTERN=name`` (--group) or ``old=new`` (--rename)."""
    source, sep, target = text.rpartition("=")
    target = target.strip()
    if not sep or not source.strip() or not target:
        example = "old=new" if flag == "--rename" else "'product1,product2=product'"
        raise UsageError(f"{flag}: write {'OLD=NEW' if flag == '--rename' else 'A,B=NAME'}, "
                         f"not {text!r}", f"Example: {flag} {example}")
    if flag == "--group" and source.startswith("re:"):
        try:
            return StageRule(target, pattern=re.compile(source[3:]))
        except re.error as exc:
            raise UsageError(f"--group: {source[3:]!r} is not a regular expression: {exc}",
                             r"Example: --group 're:^product\d+$=product'") from None
    if flag == "--rename":
        return StageRule(target, names=(source.strip(),))
    names = tuple(n.strip() for n in source.split(",") if n.strip())
    return StageRule(target, names=names)


@dataclass(frozen=True)
class StageRules:
    renames: tuple[StageRule, ...] = ()
    groups: tuple[StageRule, ...] = ()
    collapse_repeats: bool = False

    def __bool__(self) -> bool:
        return bool(self.renames or self.groups or self.collapse_repeats)

    def mapping(self, stages: Iterable[str]) -> tuple[dict[str, str], list[StageRule]]:
        """Each stage that the rules change and what it becomes; and the rules that matched
        no stage (a typo, most likely)."""
        changed, used = {}, set()
        for stage in stages:
            name = stage
            for rules in (self.renames, self.groups):
                rule = next((r for r in rules if r.matches(name)), None)
                if rule is not None:
                    used.add(id(rule))
                    name = rule.target
            if name != stage:
                changed[stage] = name
        unused = [r for r in (*self.renames, *self.groups) if id(r) not in used]
        return changed, unused

    def notes(self, mapping: Mapping[str, str], unused: Sequence[StageRule],
              collapsed: int) -> list[str]:
        """What "how the log was read" says of the rules: the stages merged or renamed, the
        rules that matched nothing, and the repeats collapsed."""
        notes = []
        into: dict[str, list[str]] = {}
        for old, new in sorted(mapping.items()):
            into.setdefault(new, []).append(old)
        for new, olds in sorted(into.items()):
            shown = ", ".join(olds[:SHOWN]) + (f" and {len(olds) - SHOWN:,} more"
                                                if len(olds) > SHOWN else "")
            notes.append(f"{'stages' if len(olds) > 1 else 'stage'} {shown} read as {new}")
        notes += [f"no stage matches the rule {_describe(r)}" for r in unused]
        if self.collapse_repeats:
            notes.append(f"{format_counted(collapsed, 'repeated events')} set aside: "
                         "consecutive events at one stage count once (--collapse-repeats)")
        return notes


def _describe(rule: StageRule) -> str:
    return (f"re:{rule.pattern.pattern}" if rule.pattern is not None
            else ",".join(rule.names)) + f"={rule.target}"


def stage_rules(group: Sequence[str] | None, rename: Sequence[str] | None,
                collapse_repeats: bool | None, config: Any) -> StageRules:
    """The rules of the flags (or read_log's arguments), then those of cjm.toml's
    ``[stages]`` table (``group``, ``rename``: lists as the flags take them;
    ``collapse_repeats``: true or false)."""
    table = config.get("stages") or {}
    return StageRules(
        renames=tuple(parse_rule(t, "--rename") for t in (*(rename or ()),
                                                          *table.get("rename", ()))),
        groups=tuple(parse_rule(t, "--group") for t in (*(group or ()),
                                                        *table.get("group", ()))),
        collapse_repeats=bool(collapse_repeats if collapse_repeats is not None
                              else table.get("collapse_repeats", False)),
    )
