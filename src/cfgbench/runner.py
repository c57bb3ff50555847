"""`cfgbench run` as a library call: plan, verify, time (interleaved or sequential), save."""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import access, breakdown, capabilities, interleave, report, results, sequential, workloads
from cfgbench.access.base import ConfigAccessor
from cfgbench.access.pio import pio_hazard_warning
from cfgbench.address import Bdf, format_target
from cfgbench.errors import CfgbenchError, RunInterrupted
from cfgbench.lab.environment import host_path, lab_metadata
from cfgbench.mcfg import ecam_window_for, read_ecam_windows
from cfgbench.measure import Measurement, Plan, verify_read
from cfgbench.runs import SCHEDULE_KEY, SESSION_KEY

Progress = Callable[[str], None]
HOST_BRIDGE_CLASS = 0x0600
DISPLAY_CLASS = 0x0300
SANITY_VENDORS = (0x8086, 0x0E11)  # Intel, Compaq: what pciutils' intel_sanity_check accepts
METHOD_PLACEHOLDER = "{method}"
DEFAULT_SAMPLES = 10_000
SCHEDULES = ("auto", "interleaved", "sequential")


@dataclass(frozen=True)
class Target:
    bdf: Bdf
    offset: int
    width: int

    def __str__(self) -> str:
        return format_target(self.bdf, self.offset, self.width)


@dataclass
class RunOptions:
    methods: Sequence[str]
    targets: Sequence[Target]
    output: Path | None = None  # may hold {method} when several methods run
    append: bool = False
    pyperf_args: Sequence[str] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    workloads: Sequence[str] = ("read",)
    buses: range | None = None  # scan: None means the ECAM window's buses, or all
    samples: int = DEFAULT_SAMPLES  # per-read timestamps per process; 0 turns distributions off
    allow_any_offset: bool = False  # read outside the header and advertised capabilities
    schedule: str = "auto"  # auto | interleaved | sequential
    settings: interleave.Settings = field(default_factory=interleave.Settings)  # the interleaved schedule's
    resume: bool = False  # measure only the benchmarks the output files lack, into them
    pyperf_passthrough: Sequence[str] = ()  # the user's own pyperf options: sequential only


@dataclass
class SavedRun:
    method: str
    path: Path | None
    suite: pyperf.BenchmarkSuite


def output_paths(methods: Sequence[str], output: Path | None) -> dict[str, Path | None]:
    if output is None:
        return {m: None for m in methods}
    if len(methods) > 1 and METHOD_PLACEHOLDER not in str(output):
        raise CfgbenchError(
            f"{len(methods)} methods cannot share one output file {output}",
            f"put {METHOD_PLACEHOLDER} in the -o name, e.g. -o 'run-{METHOD_PLACEHOLDER}.json'",
        )
    return {m: Path(str(output).replace(METHOD_PLACEHOLDER, m)) for m in methods}


def sanity_check(accessor: ConfigAccessor) -> None:
    """pciutils' test before trusting a raw method: bus 0 holds a host bridge
    (or a display controller, or an Intel/Compaq function)."""
    for device in range(32):
        bdf = Bdf(0, 0, device, 0)
        if _why_unreachable(accessor, Target(bdf, 0, 2)):
            continue  # an ECAM window that does not cover bus 0
        vendor = accessor.read(bdf, 0x00, 2)  # a refused mapping is the error to report
        if vendor == 0xFFFF:
            continue
        if accessor.read(bdf, 0x0A, 2) in (HOST_BRIDGE_CLASS, DISPLAY_CLASS) or vendor in SANITY_VENDORS:
            return
    raise CfgbenchError(
        f"{accessor.name} finds no host bridge on bus 0: this method does not reach real config space here",
        "check the platform (cfgbench info) or use --method=kernel",
    )


def _kernel_reference(needed: bool) -> AbstractContextManager[ConfigAccessor | None]:
    """The opened kernel method, against which raw reads are checked; None when no raw method runs."""
    return access.create("kernel") if needed else nullcontext()


def _why_unreachable(accessor: ConfigAccessor, target: Target) -> str:
    """'' when the method can read the target, else why not."""
    try:
        accessor.check_reach(target.bdf, target.offset, target.width)
    except CfgbenchError as exc:
        return exc.one_line()
    return ""


def plan_run(options: RunOptions, progress: Progress) -> Plan:
    """Open each method, check it reads what the kernel reads, and fix the plan."""
    measurements: list[Measurement] = []
    # Raw methods are checked against the kernel's read of the same registers.
    any_raw = any(access.METHODS[m].raw for m in options.methods)
    with _kernel_reference(any_raw) as kernel:
        for method in options.methods:
            with access.create(method) as accessor:
                if accessor.raw:
                    sanity_check(accessor)
                checker = kernel if accessor.raw else None
                measurements += _plan_method(options, method, accessor, checker, progress)
    if not measurements:
        raise CfgbenchError("no method can reach any of the targets", "see the lines above, or cfgbench info")
    if any(m.method == "pio" for m in measurements) and (hazard := pio_hazard_warning()):
        progress(hazard)
    # In the lab guest every run records the lab and its physical host.
    return Plan(measurements, {**lab_metadata(), **options.metadata}, options.samples)


class _Skipper:
    """With several methods, targets or workloads, what one method cannot do is
    skipped with a note; with one of each, it is the error."""

    def __init__(self, options: RunOptions, progress: Progress) -> None:
        combinations = len(options.methods) * len(options.targets) * len(options.workloads)
        self.several = combinations > 1
        self.progress = progress

    def __call__(self, what: str, why_not: str) -> None:
        if not self.several:
            raise CfgbenchError(why_not)
        self.progress(f"skipping {what}: {why_not}")


def _plan_method(options: RunOptions, method: str, accessor: ConfigAccessor, checker: ConfigAccessor | None, progress: Progress) -> list[Measurement]:
    skip = _Skipper(options, progress)
    planned: list[Measurement] = []
    for workload in options.workloads:
        if workload == "scan":
            planned += _plan_scan(options, method, accessor, checker, skip, progress)
        elif workload == "sweep":
            planned += _plan_sweeps(options, method, accessor, checker, skip)
        elif workload == workloads.SPLIT:
            planned += _plan_reads(options, method, accessor, checker, skip, split=progress)
        else:
            planned += _plan_reads(options, method, accessor, checker, skip)
    # split brings the read it splits (read may be asked for too) and one
    # floor per function: each benchmark once.
    unique: dict[str, Measurement] = {}
    for m in planned:
        unique.setdefault(m.bench_name, m)
    return list(unique.values())


def _plan_reads(options: RunOptions, method: str, accessor: ConfigAccessor, checker: ConfigAccessor | None,
                skip: _Skipper, split: Progress | None = None) -> list[Measurement]:
    """One benchmark per target; with split (its notes' printer), the read
    and each of its accesses alone."""
    planned = []
    for target in options.targets:
        why_not = _why_unreachable(accessor, target)
        if why_not:
            skip(f"{method} on {target}", why_not)
            continue
        if not options.allow_any_offset:
            check_offset_safe(accessor, checker, target.bdf, target.offset, target.width)
        value = verify_read(accessor, checker, target.bdf, target.offset, target.width)
        extra = accessor.target_metadata(target.bdf)
        if split is not None:
            planned += workloads.split_measurements(method, accessor, target.bdf, target.offset, target.width, value,
                                                    extra, split)
        else:
            planned.append(Measurement.single_read(method, target.bdf, target.offset, target.width, value, extra))
    return planned


def _plan_scan(options: RunOptions, method: str, accessor: ConfigAccessor, checker: ConfigAccessor | None, skip: _Skipper, progress: Progress) -> list[Measurement]:
    if not (accessor.raw or accessor.hidden):
        skip(f"a {method} scan", f"a scan needs a raw method: {method} shows only the functions the kernel enumerated; use --method=pio or --method=mmio")
        return []
    buses = options.buses or _default_scan_buses(accessor)
    progress(f"planning a scan of buses {buses.start:02x}-{buses.stop - 1:02x} through {method}")
    return [workloads.scan_measurement(method, accessor, checker, 0, buses)]


def _plan_sweeps(options: RunOptions, method: str, accessor: ConfigAccessor, checker: ConfigAccessor | None, skip: _Skipper) -> list[Measurement]:
    planned = []
    for bdf in dict.fromkeys(t.bdf for t in options.targets):  # one sweep per device
        why_not = _why_unreachable(accessor, Target(bdf, 0, 4))
        if why_not:
            skip(f"a {method} sweep of {bdf}", why_not)
            continue
        walker = checker or accessor
        allowed = _offset_filter(walker, bdf, _walk_size(accessor, walker, bdf), options.allow_any_offset)
        planned += workloads.sweep_measurements(method, accessor, checker, bdf, allowed)
    return planned


def check_offset_safe(accessor: ConfigAccessor, kernel: ConfigAccessor | None, bdf: Bdf, offset: int, width: int) -> None:
    """Refuse offsets outside the header and advertised capabilities; the walk
    reads through the kernel where it can, the safer path."""
    walker = kernel or accessor
    capabilities.check_offset_allowed(walker.read, bdf, offset, width, _walk_size(accessor, walker, bdf))


def _walk_size(accessor: ConfigAccessor, walker: ConfigAccessor, bdf: Bdf) -> int:
    """The reader's size bounds the walk; the kernel's also says whether the
    function has extended space at all (a conventional PCI function behind
    ECAM does not, though the window reaches 4096 bytes)."""
    return min(accessor.space_size(bdf), walker.space_size(bdf))


def read_once(method: str, bdf: Bdf, offset: int, width: int, allow_any_offset: bool = False) -> int:
    """One untimed read (cfgbench read), under the same safety rules as a run."""
    accessor = access.create(method)
    with _kernel_reference(accessor.raw) as kernel, accessor:
        accessor.check_reach(bdf, offset, width)  # the method's own limit first (type 1: 256 bytes), as run says it
        if accessor.raw:
            sanity_check(accessor)
        if not allow_any_offset:
            check_offset_safe(accessor, kernel, bdf, offset, width)
        return verify_read(accessor, None, bdf, offset, width)


def _offset_filter(walker: ConfigAccessor, bdf: Bdf, space_size: int, allow_any: bool) -> workloads.OffsetFilter:
    if allow_any:
        return lambda _bdf, _offset: True
    space = capabilities.map_config_space(walker.read, bdf, space_size)
    return lambda _bdf, offset: not space.why_refused(offset, 4)


def _default_scan_buses(accessor: ConfigAccessor) -> range:
    """The buses of the ECAM window of domain 0 when there is one (the kernel's
    view of the bus range), else all 256."""
    try:
        window = ecam_window_for(Bdf(0, 0, 0, 0), read_ecam_windows())
    except CfgbenchError:
        return workloads.ALL_BUSES
    return range(window.start_bus, window.end_bus + 1)


def split_by_method(suite: pyperf.BenchmarkSuite, plan: Plan) -> dict[str, pyperf.BenchmarkSuite]:
    """One suite per method, benchmarks renamed to their target-only names."""
    by_method: dict[str, pyperf.BenchmarkSuite] = {}
    names = {plan.bench_name(m): m for m in plan.measurements}
    for bench in suite.get_benchmarks():
        m = names[bench.get_name()]
        bench.update_metadata({"name": m.bench_name})
        if m.method in by_method:
            by_method[m.method].add_benchmark(bench)
        else:
            by_method[m.method] = pyperf.BenchmarkSuite([bench])
    return by_method


def _check_appends(plan: Plan, paths: dict[str, Path | None], append: bool) -> None:
    """Refuse before timing, not after, a run its file could not take."""
    for m in plan.measurements:
        path = paths.get(m.method)
        if append and path is not None and path.exists():
            results.check_can_append(results.load_suite(path), m.bench_name, m.method, path=path)


def resolve_schedule(options: RunOptions) -> str:
    """auto: interleave whenever several methods are compared, or a read is
    split into its accesses (the parts pair with the whole read by round), so
    that drift of the machine lands on all of them alike; otherwise pyperf's own."""
    if options.schedule != "auto":
        return options.schedule
    return "interleaved" if len(options.methods) > 1 or workloads.SPLIT in options.workloads else "sequential"


def new_session_id() -> str:
    """Shared by the files of one run: readers pair their values by it."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"


def _drop_measured(plan: Plan, paths: dict[str, Path | None], progress: Progress) -> Plan:
    """--resume: keep only the benchmarks the output files lack."""
    kept = []
    for m in plan.measurements:
        path = paths.get(m.method)
        if path is not None and path.exists() and m.bench_name in names_in(path):
            progress(f"{path} already has {m.bench_name}: not measured again")
            continue
        kept.append(m)
    if not kept:
        raise CfgbenchError("every benchmark of this run is already in its output file", "nothing to resume")
    return Plan(kept, plan.metadata, plan.samples)


def names_in(path: Path) -> set[str]:
    return {bench.get_name() for bench in results.load_suite(path).get_benchmarks()}


def _time(plan: Plan, options: RunOptions, schedule: str, workdir: Path) -> pyperf.BenchmarkSuite:
    if schedule == "interleaved":
        return interleave.time_interleaved(plan, options.settings, workdir)
    return sequential.time_sequentially(plan, options.pyperf_args, workdir)


def _salvage(schedule: str, workdir: Path) -> pyperf.BenchmarkSuite | None:
    try:
        return interleave.salvage(workdir) if schedule == "interleaved" else sequential.salvage(workdir)
    except (CfgbenchError, ValueError, OSError):
        return None  # a file cut short by the interruption


def run(options: RunOptions, progress: Progress) -> list[SavedRun]:
    methods = [access.canonical_method(m) for m in options.methods]
    options.methods = list(dict.fromkeys(methods))
    schedule = resolve_schedule(options)
    if schedule == "interleaved" and options.pyperf_passthrough:
        raise CfgbenchError(
            f"pyperf options ({' '.join(options.pyperf_passthrough)}) apply only to --schedule sequential",
            "use cfgbench's own --processes/--values/--warmups/--loops/--min-time/--affinity, or --schedule sequential",
        )
    paths = output_paths(options.methods, options.output)
    append = options.append or options.resume
    for path in paths.values():
        if path is not None:
            results.check_writable(path, append)
    plan = plan_run(options, progress)
    if options.resume:
        plan = _drop_measured(plan, paths, progress)
    _check_appends(plan, paths, append)
    how = options.settings.describe() if schedule == "interleaved" else \
        f"sequential (pyperf: {' '.join(options.pyperf_args) or 'default settings'})"
    plan.metadata.update({SESSION_KEY: new_session_id(), SCHEDULE_KEY: schedule, "cfgbench_settings": how})
    if options.output is None:
        progress("no -o given: the figures will be printed, nothing saved")
    if not options.settings.quiet:  # -q keeps warnings and errors, not progress
        progress(f"timing {len(plan.measurements)} benchmark(s), {how}")
    with tempfile.TemporaryDirectory(prefix="cfgbench-run-") as workdir:
        try:
            suite = _time(plan, options, schedule, Path(workdir))
        except KeyboardInterrupt:
            if schedule == "sequential":
                sys.stderr.write("\n")  # pyperf's progress dots may have left the line open
            partial = _salvage(schedule, Path(workdir))
            saved = _save(partial, plan, paths, append) if partial is not None else []
            names = ", ".join(str(s.path) for s in saved if s.path is not None)
            raise RunInterrupted(
                "interrupted" + (f"; the finished benchmarks are saved in {names}" if names else "; nothing was saved"),
                "measure the rest with the same command plus --resume" if names else "run it again",
            ) from None
    return _save(suite, plan, paths, append)


def _save(suite: pyperf.BenchmarkSuite, plan: Plan, paths: dict[str, Path | None], append: bool) -> list[SavedRun]:
    saved = []
    for method, method_suite in split_by_method(suite, plan).items():
        path = paths.get(method)
        if path is not None:
            try:
                results.save_suite(method_suite, path, append=append)
            except CfgbenchError as exc:
                if not append:
                    raise
                # The measured run must not be lost because the old file refused it.
                beside = results.save_beside(method_suite, path)
                raise CfgbenchError(f"{exc.cause}; this run was saved to {beside} instead", exc.fix) from None
        saved.append(SavedRun(method, path, method_suite))
    return saved


def summary_lines(saved: Sequence[SavedRun]) -> list[str]:
    """Per method and benchmark; with several methods, one headline per
    target; with split benchmarks, where the time goes."""
    lines = []
    for run_ in saved:
        lines += report.suite_lines(run_.suite, label=run_.method)
        if run_.path is not None:
            lines.append(f"saved {host_path(run_.path)}")
    suites = {r.method: r.suite for r in saved}
    if len(saved) > 1:
        from cfgbench.compare.headline import HeadlineContext, headline  # numpy and scipy: after timing

        accel = lab_metadata().get("cfgbench_lab_accel")
        lines += headline(suites, HeadlineContext(accel=accel))
    return lines + breakdown.suites_lines(suites)
