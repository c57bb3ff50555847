"""`cfgbench history add|show` and `cfgbench fleet`: CI runs over time and across runners."""

from __future__ import annotations

import click

from cfgbench.cli import BOUNDED
from cfgbench.history import fleet as fleets
from cfgbench.history import trend
from cfgbench.history.store import add_to_history

FORMATS = sorted(trend.RENDERERS)


@click.group()
def history() -> None:
    """Keep CI runs' result files per machine; show each target's trend with change points."""


@history.command("add")
@click.argument("files", nargs=-1, required=True, metavar="RESULT.json...")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="the history directory (created if missing)")
@click.option("--commit", required=True, metavar="SHA", help="the commit these runs measured, e.g. \"$GITHUB_SHA\"")
@click.option("--machine", default=None, metavar="NAME",
              help="machine directory (default: the files' hostname); name the runner where hosts are ephemeral VMs")
def history_add(files: tuple[str, ...], directory: str, commit: str, machine: str | None) -> None:
    """Add result files to a history as DIR/<machine>/<date>-<commit>-<method>.json, never overwriting."""
    for added in add_to_history(directory, files, commit, machine):
        verb = "already in the history" if added.already_there else "added"
        click.echo(f"{verb}: {added.path} ({added.source})")


@history.command("show")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="markdown is what a CI job summary shows")
@click.option("--machine", "machines", multiple=True, metavar="NAME", help="only this machine (repeatable)")
@click.option("--method", "methods", multiple=True, metavar="METHOD", help="only this method (repeatable)")
@click.option("--last", type=BOUNDED, default=None, metavar="N",
              help="show the last N runs of each series (change points are found in all of them)")
@click.option("--max-pvalue", type=BOUNDED, default=trend.DEFAULT_MAX_PVALUE,
              show_default=True, help="a change point's t-test must be below this")
@click.option("--min-change", type=BOUNDED, default=trend.DEFAULT_MIN_CHANGE * 100, show_default=True,
              metavar="PERCENT", help="ignore change points smaller than this many percent")
def history_show(directory: str, output_format: str, machines: tuple[str, ...], methods: tuple[str, ...],
                 last: int | None, max_pvalue: float, min_change: float) -> None:
    """Trend of each target, method and machine, with change points (Apache Otava) marked."""
    report = trend.history_report(directory, max_pvalue, min_change / 100, machines, methods, last)
    click.echo(trend.RENDERERS[output_format](report), nl=False)


@click.command()
@click.argument("directories", nargs=-1, required=True, metavar="RUNNER_DIR...")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="markdown is what a CI job summary shows")
@click.option("--reference", default=None, metavar="NAME",
              help="the bare-metal environment guests are divided by (default: the first bare-metal one given)")
def fleet(directories: tuple[str, ...], output_format: str, reference: str | None) -> None:
    """Compare the runs of several runners, one directory each: medians, mechanism ratios, guest/bare-metal factors."""
    click.echo(fleets.RENDERERS[output_format](fleets.fleet_report(directories, reference)), nl=False)


COMMANDS: list[click.Command] = [history, fleet]
