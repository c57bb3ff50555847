"""`cfgbench compare` and `cfgbench plot`: read saved result files, never hardware."""

from __future__ import annotations

import sys

import click

from cfgbench import plot as plotting  # matplotlib itself is imported only when drawing
from cfgbench.cli import BOUNDED, say
from cfgbench.compare.model import compare_paths
from cfgbench.compare.render import RENDERERS
from cfgbench.plot import ANSWER, CHOICES


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="REFERENCE.json [OTHER.json...]")
@click.option("--format", "output_format", type=click.Choice(sorted(RENDERERS)), default="text",
              show_default=True, help="markdown is what a CI job summary shows")
@click.option("--fail-if", "fail_if", multiple=True, metavar="STAT:LIMIT",
              help="gate: mean:5%, median:5%, median:+200ns (repeatable); see the exit codes below")
@click.option("--allow-other-environment", is_flag=True,
              help="gate against a reference from another machine, kernel, hypervisor or method "
                   "(refused by default: the gate would measure the machines, not the change)")
def compare(files: tuple[str, ...], output_format: str, fail_if: tuple[str, ...],
            allow_other_environment: bool) -> None:
    """Compare result files per target against the first one (the reference): each time ratio with its 95% interval,
    paired by round within a run, and a verdict (docs/design.md, "Comparing"). One file: what it holds (the kernel's
    two paths, the split parts).

    With --fail-if, the exit code (the interval decides, per target): 0 no regression, 1 regression (wholly above the
    limit), 2 error, 3 inconclusive (an interval straddles the limit or there is none: add runs with --append)."""
    report = compare_paths(files, fail_if, allow_other_environment)
    click.echo(RENDERERS[output_format](report), nl=False)
    if report.gate_outcome is not None:
        # Also on stderr: the report may be going to a file such as $GITHUB_STEP_SUMMARY.
        say(f"gate: {report.gate_outcome} (exit {report.exit_code})")
    sys.exit(report.exit_code)


@click.command()
@click.argument("files", nargs=-1, metavar="RESULT.json...")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="image to write (.png, .svg or .pdf)")
@click.option("--force", is_flag=True, help="replace the output if it exists")
@click.option("--size", default=None, metavar="WxH",
              help=f"image size in pixels (default: 1600x1200 for {ANSWER}, else 540x420 per panel, in a grid)")
@click.option("--dpi", default=100, show_default=True, type=BOUNDED, help="dots per inch (text grows with it)")
@click.option("--panel", "panels", multiple=True, type=click.Choice(CHOICES),
              help=f"{ANSWER}: the answer figure (the default for several methods' files, or the kernel's two paths); "
                   "or, per target (repeatable): distribution (the default for one method's files), ecdf, reads (single "
                   "reads' ECDF), breakdown")
@click.option("--history", "history_dir", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="instead of files: a history's trend (median per CI run, one line per method and machine, "
                   "change points dashed)")
def plot(files: tuple[str, ...], output: str, force: bool, size: str | None, dpi: int,
         panels: tuple[str, ...], history_dir: str | None) -> None:
    """Plot result files (the answer figure for several methods, else each target's values), or a history's trend."""
    if (history_dir is None) == (not files):
        raise click.UsageError("give result files or --history DIR, not both" if files else
                               "give result files, or --history DIR")
    if history_dir is not None:
        history = plotting.plot_history(history_dir, output, force=force, size=plotting.parse_size(size), dpi=dpi)
        click.echo(f"wrote {history}")
        return
    written = plotting.plot_paths(files, output, force=force, size=plotting.parse_size(size), dpi=dpi, panels=panels)
    click.echo(f"wrote {written.path}")
    if (note := written.left_out_line()) is not None:
        say(note)


COMMANDS: list[click.Command] = [compare, plot]
