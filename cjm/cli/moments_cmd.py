"""``cjm moments``: the stages and transitions that go with better or worse outcomes."""

from typing import Annotated

import typer

import cjm.cli.mapout as mapout
import cjm.cli.options as options
from cjm.cli.common import LogArgs, log_command, report
from cjm.cli.engine import Engine, SparkMaster, SparkRemote, open_log


@log_command
def moments_command(
    args: LogArgs,
    min_count: Annotated[int, typer.Option(
        "--min-count", help="Leave out stages and transitions seen in (or missed by) fewer "
        "journeys than this.", min=2)] = 20,
    before_goal: options.BeforeGoal = False,
    goal: options.Goal = None,
    json_out: mapout.JsonOut = None,
    top: mapout.Top = None,
    quiet: options.Quiet = False,
    engine: Engine = None,
    spark_remote: SparkRemote = None,
    spark_master: SparkMaster = None,
) -> None:
    """Moments of truth: for each stage and transition, the outcome of the journeys with it
    and without it, the difference with a 95% confidence interval, ranked. A difference is
    clear when its p-value, Holm-adjusted over all the items tested, is below 5%. This is
    association, not cause. The outcome column is a yes/no (converted) or a number (NPS).

    Example: cjm moments examples/shop.csv --outcome converted --before-goal --goal Purchase
    """
    from cjm.moments import moments
    from cjm.render.json_out import moments_json
    from cjm.render.terminal import moments_view

    report(args, lambda log: moments(log, min_count=min_count, goals=goal or (),
                                     before_goal=before_goal), moments_json,
           lambda result, log: moments_view(result, log, top or 10), json_out, quiet,
           lambda: open_log(args, engine, spark_remote, spark_master))
