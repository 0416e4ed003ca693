"""Options that several commands take, each declared once: goals, slices, funnels, gates,
quiet."""

from typing import Annotated

import typer

from cjm.cli.common import OUTPUT

GOALS = "Goals and gaps"
SLICES = "Segments and periods"
FUNNEL = "Funnel"
DESIGN = "Design"
GATES = "CI gates"

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print no summary.",
                                     rich_help_panel=OUTPUT)]

Goal = Annotated[list[str] | None, typer.Option(
    "--goal", help="A goal stage (repeatable). (default: cjm.toml's goals, else the outcome "
    "column when it holds yes/no values, else inferred)", rich_help_panel=GOALS,
    metavar="STAGE", show_default=False)]
BeforeGoal = Annotated[bool, typer.Option(
    "--before-goal", help="Look only at what journeys do before their first goal event "
    "(the goal stages of --goal, else inferred as cjm discover does).",
    rich_help_panel=GOALS)]
GoalShare = Annotated[str | None, typer.Option(
    "--goal-share", help="For inferred goals: share of the journeys reaching a stage that "
    "must end there. (default: 80%)", rich_help_panel=GOALS, show_default=False)]
StillActive = Annotated[str | None, typer.Option(
    "--still-active", help="Journeys whose last event is this close to the end of the log "
    "are open, not dead-ends (e.g. 14d).", rich_help_panel=GOALS, metavar="SPAN",
    show_default=False)]
HandoffColumn = Annotated[str | None, typer.Option(
    "--handoff-column", help="What a hand-off changes: channel, device or department. "
    "(default: channel)", rich_help_panel=GOALS, show_default=False)]

By = Annotated[str | None, typer.Option(
    "--by", help="Split the journeys by the value of a role (segment, channel, device, "
    "department, outcome) at their first event.", rich_help_panel=SLICES,
    show_default=False)]
TopValues = Annotated[int | None, typer.Option(
    "--top-values", help="With --by: the most frequent values, the rest as 'other'.",
    rich_help_panel=SLICES, min=1, show_default=False)]
Period = Annotated[str | None, typer.Option(
    "--period", help="Split the journeys by the day, week, month, quarter or year of their "
    "first event.", rich_help_panel=SLICES, show_default=False)]
Values = Annotated[str | None, typer.Option(
    "--values", help="The two values (or periods) to compare, A first: vip,new or "
    "2024-Q2,2024-Q3.", rich_help_panel=SLICES, metavar="A,B", show_default=False)]
Where = Annotated[list[str] | None, typer.Option(
    "--where", help="Only journeys whose role has this value at their first event, e.g. "
    "--where segment=vip (repeatable).", rich_help_panel=SLICES, metavar="ROLE=VALUE",
    show_default=False)]
Since = Annotated[str | None, typer.Option(
    "--since", help="Only journeys that start on or after this date (2024-07-01).",
    rich_help_panel=SLICES, metavar="DATE", show_default=False)]
Until = Annotated[str | None, typer.Option(
    "--until", help="Only journeys that start before this date.", rich_help_panel=SLICES,
    metavar="DATE", show_default=False)]

Within = Annotated[str | None, typer.Option(
    "--within", help="Count a funnel step only within this span of the journey's first step "
    "(e.g. 7d).", rich_help_panel=FUNNEL, metavar="SPAN", show_default=False)]
Order = Annotated[str, typer.Option(
    "--order", help="strict: the funnel's steps in this order; any: all of them, in any "
    "order.", rich_help_panel=FUNNEL)]

Design = Annotated[str | None, typer.Option(
    "--design", help="The designed journey to check the journeys against: cjm's YAML, BPMN "
    "2.0 or PNML.", rich_help_panel=DESIGN, metavar="FILE", show_default=False)]
MaxPaths = Annotated[int, typer.Option(
    "--max-paths", help="Use the most frequent paths, up to this many (check: with "
    "--exact).", rich_help_panel=DESIGN, min=1)]

FailOnDeadEndRate = Annotated[str | None, typer.Option(
    "--fail-on-dead-end-rate", help="Exit 1 (after writing every output) when the dead-end "
    "rate exceeds this (30% or 0.3).", rich_help_panel=GATES, metavar="RATE",
    show_default=False)]
