"""run, info, read, list: measuring and looking at this machine's config space."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cfgbench import access, kernelpath, registers, report, results, workloads
from cfgbench.access.base import raw_forbidden_reason
from cfgbench.address import parse_bdf
from cfgbench.checks import read_once
from cfgbench.cli import BOUNDED, say
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import read_ecam_windows
from cfgbench.pci import config_size, list_functions, listing_lines, no_paths_note
from cfgbench.pci_regs import EXTENDED_CONFIG_SIZE
from cfgbench.plan import PlanRequest, Target
from cfgbench.platform import fingerprint
from cfgbench.settings import PRESETS, SCHEDULES, Settings

if TYPE_CHECKING:
    from cfgbench.compare.model import Report
    from cfgbench.session import SavedRun


class MethodType(click.ParamType):
    """A method name or alias, checked against the registry when parsed."""

    name = "method"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return access.canonical_method(value)


METHOD_CHOICE = MethodType()


def _parse_metadata(items: tuple[str, ...]) -> dict[str, str]:
    metadata = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CfgbenchError(f"--metadata {item!r} is not KEY=VALUE", "e.g. --metadata runner=lab-3")
        metadata[key] = value
    return metadata


@click.command()
@click.option("--method", "-m", "methods", type=METHOD_CHOICE, multiple=True, required=True,
              help=f"{access.methods_help()}; repeat to time several")
@click.option("--device", "-d", "devices", multiple=True, help="PCI function, e.g. 0000:00:00.0 or 00:1f.3 [default: 0000:00:00.0]; repeatable")
@click.option("--offset", "offsets", multiple=True, metavar="REGISTER", help=f"{registers.HELP}; repeatable")
@click.option("--width", "-w", type=click.Choice(["1", "2", "4"]), default="4", show_default=True, help="bytes per read")
@click.option("--workload", "workload_names", type=click.Choice(workloads.WORKLOADS), multiple=True,
              help="read: one register [default]; scan: the kernel's enumeration; sweep: every dword that may be read; split: "
                   "each read and its accesses alone; probe, peer-probe, sequence: a pass and its hot register; repeatable")
@click.option("--buses", help="scan: bus range, e.g. 00-ff [default: the ECAM window's, else 00-ff]")
@click.option("--samples", type=BOUNDED, default=Settings.samples, show_default=True,
              help="read: per-read timestamps per worker process for the latency distribution (0: none)")
@click.option("--allow-any-offset", is_flag=True,
              help="also read outside the standard header and the capabilities the device advertises (reads can have side effects: docs/safety.md)")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=Settings.schedule, show_default=True,
              help="interleaved: one value of every benchmark per round, in a random order, so that values pair by round; "
                   "sequential: each benchmark's values back to back; auto: interleaved when anything pairs")
@click.option("--fast", is_flag=True, help="as pyperf --fast: half the processes, 2 values each")
@click.option("--rigorous", is_flag=True, help="as pyperf --rigorous: twice the processes")
@click.option("--loops", type=BOUNDED, help="reads per value [default: calibrated to --min-time]")
@click.option("--processes", type=BOUNDED, help="worker processes [default: 20, as pyperf]")
@click.option("--values", type=BOUNDED, help="values (rounds) per process [default: 3]")
@click.option("--warmups", type=BOUNDED, help="warmup values (rounds) per process [default: 1]")
@click.option("--min-time", type=BOUNDED, help="seconds per value when calibrating loops [default: 0.1]")
@click.option("--affinity", default="", metavar="CPUS", help="pin the timing processes to these CPUs, e.g. 3 or 2-3 (isolated ones)")
@click.option("--in-process", is_flag=True, help="time in one process: faster start, what the lab uses")
@click.option("--quiet", "-q", is_flag=True, help="no progress output")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="result file (pyperf JSON); with several methods put {method} in the name")
@click.option("--append", is_flag=True, help="add this run to an existing result file")
@click.option("--resume", is_flag=True, help="measure only the benchmarks the result file lacks, into it (after an interruption)")
@click.option("--metadata", "metadata_items", multiple=True, metavar="KEY=VALUE", help="extra metadata to record; repeatable")
@click.option("--seed", type=int, help="the rounds' random order [default: a fresh one, recorded in the files]")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="also write the run's answer figure to FILE (.png, .svg, .pdf); needs matplotlib")
def run(methods: tuple[str, ...], devices: tuple[str, ...], offsets: tuple[str, ...], width: str,
        workload_names: tuple[str, ...], buses: str | None, samples: int, allow_any_offset: bool, schedule: str,
        fast: bool, rigorous: bool, loops: int | None, processes: int | None, values: int | None,
        warmups: int | None, min_time: float | None, affinity: str, in_process: bool, quiet: bool,
        output: Path | None, append: bool, resume: bool, metadata_items: tuple[str, ...], seed: int | None,
        plot_path: Path | None) -> None:
    """Time config-space reads of each device and offset through each method; the files are pyperf's, with the settings
    recorded in them."""
    from cfgbench import session

    if (append or resume) and output is None:
        raise CfgbenchError(f"{'--resume' if resume else '--append'} needs -o FILE", "name the result file to add to")
    if fast and rigorous:
        raise CfgbenchError("--fast and --rigorous contradict each other", "choose one")
    if append and resume:
        raise CfgbenchError("--append and --resume cannot go together: --append times every benchmark again, "
                            "--resume only those the file lacks", "choose one")
    if plot_path is not None:
        from cfgbench import plot

        plot.require_matplotlib()
        plot.check_output(plot_path, option="--plot")  # now, not after the timing
        if plot_path.resolve() in {p.resolve() for p in session.output_paths(methods, output).values() if p}:
            raise CfgbenchError(f"--plot {plot_path} is also where -o saves the results", "give the figure another name")
    base = PRESETS["fast" if fast else "rigorous" if rigorous else "default"]
    settings = base.with_options(processes=processes, values=values, warmups=warmups, loops=loops, min_time=min_time,
                                 affinity=affinity or None, in_process=in_process or None, samples=samples,
                                 schedule=schedule, seed=seed, quiet=quiet or None).checked()  # before any planning
    bdfs = [parse_bdf(d) for d in devices or ("0000:00:00.0",)]
    notes = []
    if set(methods) == {access.REFERENCE_READER} and not offsets:
        # The kernel alone answers with its two paths: +0x000 (type 1) against +0x100 (ECAM), net of its floor.
        extended = {b: (config_size(b) or 0) >= EXTENDED_CONFIG_SIZE for b in bdfs}
        notes = [no_paths_note(b) for b, has in extended.items() if not has]
        offsets = ("0", "0x100") if any(extended.values()) else ("0",)
    width_given = click.get_current_context().get_parameter_source("width") is not click.core.ParameterSource.DEFAULT
    resolved = registers.resolve_all(bdfs, offsets or ("0",), int(width) if width_given else None,
                                     lambda: access.create(access.reader_method(methods)))
    what = PlanRequest(methods=list(methods), targets=[Target(b, r.offset, r.width) for b, r in resolved],
                       workloads=list(dict.fromkeys(workload_names)) or ["read"],
                       buses=workloads.parse_bus_range(buses) if buses else None, allow_any_offset=allow_any_offset)
    request = session.RunRequest(what, settings, output=output, append=append, resume=resume,
                                 metadata=_parse_metadata(metadata_items))
    saved = session.run(request, say)
    from cfgbench.compare.model import report_of

    timed = report_of({s.method: s.suite for s in saved})  # what this run timed: its summary, and its figure if unsaved
    figure = _answer_figure(saved, plot_path, timed) if plot_path is not None else None
    for line in notes + session.summary_lines(saved, timed, figure=figure):
        click.echo(line)


def _answer_figure(saved: Sequence[SavedRun], path: Path, timed: Report) -> Path:
    """The figure of what the run saved (with --append, every run in the files), else of what it timed."""
    from cfgbench import plot

    files = [str(s.path) for s in saved if s.path is not None]
    try:
        if len(files) == len(saved):
            written = plot.plot_paths(files, path, panels=(plot.ANSWER,))
        else:
            written = plot.save_answer(timed, path)
    except CfgbenchError as exc:
        kept = f"; the results are saved: cfgbench plot {' '.join(files)} -o OTHER.png" if files else ""
        raise CfgbenchError(f"no figure: {exc.cause}{kept}", exc.fix) from None
    if (note := written.left_out_line()) is not None:
        say(note)
    return written.path


@click.command()
def info() -> None:
    """This machine: bare metal or guest, and which methods can run here."""
    fp = fingerprint()
    click.echo(f"environment: {fp.environment} (hypervisor: {fp.hypervisor})")
    click.echo(f"machine:     {fp.dmi_vendor or 'unknown'} {fp.dmi_product}".rstrip())
    click.echo(f"cpu:         {fp.cpu_model} ({fp.arch})")
    click.echo(f"kernel:      {fp.kernel_release}, lockdown: {fp.lockdown or 'not reported'}")
    click.echo(f"user:        {'root' if fp.euid == 0 else f'uid {fp.euid}'}")
    try:
        windows = "; ".join(str(w) for w in read_ecam_windows())
    except CfgbenchError as exc:
        windows = f"none ({exc.cause})"
    click.echo(f"ecam:        {windows}")
    click.echo(f"kernel path: {kernelpath.describe()}")
    forbidden = raw_forbidden_reason()
    if forbidden:
        click.echo(f"raw access:  {forbidden}")
    click.echo("methods:")
    for name in access.offered_methods():
        accessor = access.create(name)
        detection = accessor.detect()
        if forbidden and accessor.raw:
            detection = access.Detection(False, "forbidden in this environment (see raw access above)")
        status = "yes" if detection.ok else "no "
        line = f"  {name:7} {status} {detection.reason}"
        if detection.fix and not detection.ok:
            line += f"; fix: {detection.fix}"
        click.echo(line)
        click.echo(f"          ({accessor.help})")


@click.command(help=f"""One untimed read, printed as setpci prints it (for cross-checking by hand).

REGISTER is {registers.SYNTAX}. stdout holds the value alone; stderr names
the register read and the method.""")
@click.option("--method", "-m", type=METHOD_CHOICE, default=access.REFERENCE_READER, show_default=True,
              help=access.methods_help())
@click.option("--width", "-w", type=click.Choice(["1", "2", "4"]), help="bytes [default: the named register's width, else 4]")
@click.option("--allow-any-offset", is_flag=True, help="also read outside the header and advertised capabilities")
@click.argument("device")
@click.argument("register")
def read(method: str, width: str | None, allow_any_offset: bool, device: str, register: str) -> None:
    bdf = parse_bdf(device)
    [(_, target)] = registers.resolve_all([bdf], [register], int(width) if width else None,
                                          lambda: access.create(access.reader_method([method])))
    value = read_once(method, Target(bdf, target.offset, target.width), allow_any_offset)
    say(f"{bdf} {target.describe()} via {method}")
    click.echo(f"{value:0{2 * target.width}x}")


@click.command(name="list")
def list_() -> None:
    """The PCI functions the kernel shows, with config-space size."""
    functions = list_functions()
    if not functions:
        raise CfgbenchError("the kernel shows no PCI functions in /sys/bus/pci/devices", "is sysfs mounted?")
    for line in listing_lines(functions):
        click.echo(line)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def show(files: tuple[Path, ...]) -> None:
    """Print a saved result: mean, spread, per-read percentiles and, with split benchmarks, where the time goes."""
    from cfgbench.compare.model import report_of
    from cfgbench.compare.render import breakdown_section

    for path in files:
        suite = results.load_suite(path)
        click.echo(f"{path}:")
        for line in report.suite_lines(suite) + breakdown_section(report_of({"": suite})):
            click.echo(f"  {line}")


COMMANDS: list[click.Command] = [run, info, read, list_, show]
