"""`cfgbench compare` and `cfgbench plot`: read saved result files, never hardware."""

from __future__ import annotations

import sys

import click

EXIT_GATE_FAILED = 1
# Spelled out so that `cfgbench run` does not import numpy, scipy and matplotlib
# (seconds in an emulated guest); tests/test_compare.py checks they match.
FORMATS = ("json", "markdown", "text")
PANELS = ("distribution", "ecdf", "reads")


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="REFERENCE.json OTHER.json...")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text",
              show_default=True, help="markdown is what a CI job summary shows")
@click.option("--fail-if", "fail_if", multiple=True, metavar="STAT:LIMIT",
              help="exit 1 when a later file is significantly slower than the first beyond LIMIT: "
                   "mean:5%, median:5%, median:+200ns (repeatable)")
def compare(files: tuple[str, ...], output_format: str, fail_if: tuple[str, ...]) -> None:
    """Compare result files per target against the first one (the reference).

    Per target: mean ± std dev, median, range, number of values, the time ratio
    to the reference with its uncertainty, and a significance verdict from a
    two-sided Mann-Whitney U test (scipy; a rank test, as read timings are
    skewed with long tails), alpha 0.05; without scipy, Welch's t-test.
    """
    from cfgbench import compare as comparing

    report = comparing.compare_paths(files, fail_if)
    click.echo(comparing.RENDERERS[output_format](report), nl=False)
    if report.gate_failed:
        # Also on stderr: the report may be going to a file such as $GITHUB_STEP_SUMMARY.
        for trip in report.trips:
            click.echo(f"cfgbench: gate: {comparing.describe_trip(trip, report.files)}", err=True)
        sys.exit(EXIT_GATE_FAILED)


@click.command()
@click.argument("files", nargs=-1, metavar="RESULT.json...")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="image to write (.png, .svg or .pdf)")
@click.option("--force", is_flag=True, help="replace the output if it exists")
@click.option("--size", default=None, metavar="WxH", help="image size in pixels (default: 1200 wide, 450 per target)")
@click.option("--dpi", default=100, show_default=True, type=click.IntRange(50, 600))
@click.option("--panel", "panels", multiple=True, default=("distribution",), show_default=True,
              type=click.Choice(PANELS),
              help="per target: distribution of values, their ECDF, ECDF of single reads (repeatable)")
@click.option("--history", "history_dir", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="instead of files: a history's trend (median per CI run, one line per method and machine, "
                   "change points dashed)")
def plot(files: tuple[str, ...], output: str, force: bool, size: str | None, dpi: int,
         panels: tuple[str, ...], history_dir: str | None) -> None:
    """Plot the distribution of the values per target and file, or a history's trend."""
    from cfgbench import plot as plotting  # matplotlib itself is imported only when drawing

    if (history_dir is None) == (not files):
        raise click.UsageError("give result files or --history DIR, not both" if files else
                               "give result files, or --history DIR")
    if history_dir is not None:
        written = plotting.plot_history(history_dir, output, force=force, size=plotting.parse_size(size), dpi=dpi)
    else:
        written = plotting.plot_paths(files, output, force=force, size=plotting.parse_size(size), dpi=dpi,
                                      panels=panels)
    click.echo(f"wrote {written}")


COMMANDS: list[click.Command] = [compare, plot]
