"""lab: run the measurement, or any command, in a throwaway QEMU q35 guest."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from cfgbench.cli import BOUNDED, say
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.errors import CfgbenchError
from cfgbench.lab.qemu import ACCELS, TREES
from cfgbench.schema import INTERLEAVED, SEQUENTIAL
from cfgbench.settings import PRESETS

LAB = PRESETS["lab"]
MAIN_JOB_ONLY = ("boots", "values", "loops", "min_time", "quiet", "verbose", "figure", "enumeration", "in_situ",
                 "schedule")


def _ignore(_text: str) -> None:
    pass


def _stream(text: str) -> None:
    click.echo(text, nl=False)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--accel", type=click.Choice(ACCELS), default="auto", show_default=True,
              help="kvm needs vmx/svm and a working /dev/kvm; auto falls back to tcg (emulation)")
@click.option("--kernel", type=click.Path(dir_okay=False, path_type=Path),
              help="guest kernel image [default: the one scripts/setup-lab.sh unpacked]")
@click.option("--timeout", type=BOUNDED, default=GuestConfig.timeout_s, show_default=True,
              help="seconds for boot plus command; then QEMU is killed")
@click.option("--out", "outdir", type=click.Path(file_okay=False, path_type=Path),
              help="host directory shared read-write with the guest as $CFGBENCH_LAB_OUT "
                   "[default: the main job's cfgbench-lab-YYYYMMDD-HHMMSS here]")
@click.option("--boots", type=BOUNDED, default=1, show_default=True,
              help="guests to boot one after another: each is a run of its own, and the headline's interval "
                   "spans them (each boot lands in its own emulator state)")
@click.option("--values", type=click.IntRange(min=2), default=LAB.values, show_default=True,
              help="interleaved rounds per boot: every method and target times one value per round")
@click.option("--loops", type=BOUNDED, help="reads per value [default: calibrated to --min-time]")
@click.option("--min-time", type=BOUNDED, default=LAB.min_time, show_default=True,
              help="seconds per value when calibrating loops")
@click.option("--quiet", "-q", is_flag=True, help="print only the headline (not the boot and guest output)")
@click.option("--verbose", "-v", is_flag=True,
              help="also print each figure's caveats and where the time goes (cfgbench compare prints them too)")
@click.option("--figure/--no-figure", default=True, show_default=True,
              help="write the answer figure as lab.png into --out; needs matplotlib (the plot extra)")
@click.option("--tree", type=click.Choice(list(TREES)), default="default", show_default=True,
              help="the PCI functions the guest has: default (a root port with an e1000e), medium (29 functions: a "
                   "switch, multi-function devices), large (91 functions over 12 buses)")
@click.option("--enumeration/--no-enumeration", default=True, show_default=True,
              help="also time the guest kernel's own enumeration, type 1 first against ECAM only (paired rescans of "
                   "the tree's port), and count every config access in a census boot")
@click.option("--in-situ", is_flag=True,
              help="with the enumeration: also time the cold pattern and the kernel's accessors in traced rescans, which "
                   "the projection's prices rest on (without them reads are priced hot and writes as reads)")
@click.option("--vcpus", type=BOUNDED, default=GuestConfig.smp, show_default=True,
              help="the guest's vCPUs (the census boot always has one)")
@click.option("--schedule", type=click.Choice((INTERLEAVED, SEQUENTIAL)), default=INTERLEAVED, show_default=True,
              help="sequential: each benchmark's values back to back, one benchmark after another (pyperf's "
                   "order, for comparison: drift of the host lands in the ratios)")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND [ARGS]...]")
@click.pass_context
def lab(ctx: click.Context, accel: str, kernel: Path | None, timeout: float, outdir: Path | None, boots: int,
        values: int, loops: int | None, min_time: float, quiet: bool, verbose: bool, figure: bool, tree: str,
        enumeration: bool, in_situ: bool, vcpus: int, schedule: str, command: tuple[str, ...]) -> None:
    """Boot a q35 guest on this machine's root (read-only) and measure there; or run COMMAND there, with its status."""
    cfg = GuestConfig(accel=accel, kernel=kernel, timeout_s=timeout, tree=tree, smp=vcpus)
    given = [name for name in MAIN_JOB_ONLY if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if command and given:
        option = f"--{given[0].replace('_', '-')}"
        raise CfgbenchError(f"{option} applies to the main job, not to a command run in the guest",
                            f"drop {option}, or the command")
    for what, text in (("--out", str(outdir or "")), ("the command", " ".join(command)), ("this directory", os.getcwd())):
        if text != text.encode(errors="replace").decode():  # a non-UTF-8 name, which the guest's script cannot carry
            raise CfgbenchError(f"{what} {text!r} is not UTF-8, as the guest's command script must be", "rename it")
    if not command:
        from cfgbench.lab.mainjob import LabJob, default_outdir, main_job

        settings = LAB.with_options(values=values, min_time=min_time, loops=loops, schedule=schedule).checked()
        outdir = outdir or default_outdir()
        existed = outdir.exists()
        try:
            ctx.exit(main_job(cfg, _ignore if quiet else say, outdir, output=_ignore if quiet else _stream,
                              job=LabJob(settings, boots, tree, enumeration, in_situ), say=click.echo, verbose=verbose,
                              figure=figure))
        except CfgbenchError:
            if not existed:  # a refusal (no kernel, no kvm, ...) leaves nothing behind: the --out it made, still empty
                with contextlib.suppress(OSError):
                    outdir.rmdir()
            raise
    result = run_in_guest(list(command), cfg, outdir=outdir, progress=say, output=_stream)
    ctx.exit(result.returncode)


COMMANDS: list[click.Command] = [lab]
