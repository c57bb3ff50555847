"""`cfgbench run` as a library call: one session (docs/design.md, "The path of one `cfgbench run`")."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyperf

from cfgbench import access, engine, report, results, workloads
from cfgbench.errors import CfgbenchError, Progress, RunInterrupted
from cfgbench.platform import describe_where, fingerprint, host_path, lab_metadata
from cfgbench.plan import Plan, PlanRequest
from cfgbench.planner import build_plan
from cfgbench.schema import LAB_ACCEL, SESSION
from cfgbench.settings import Settings

if TYPE_CHECKING:
    from cfgbench.compare.model import Report

METHOD_PLACEHOLDER = "{method}"


@dataclass
class RunRequest:
    """Everything one `cfgbench run` is asked; the lab sends it to its guest as JSON."""

    plan: PlanRequest
    settings: Settings = field(default_factory=Settings)
    output: Path | None = None  # may hold {method} when several methods run
    append: bool = False
    resume: bool = False  # measure only the benchmarks the output files lack, into them
    metadata: dict[str, Any] = field(default_factory=dict)  # the user's, recorded on every run

    def to_json(self) -> str:
        return json.dumps({"plan": self.plan.as_json(), "settings": json.loads(self.settings.to_json()),
                           "output": str(self.output) if self.output else None, "append": self.append,
                           "resume": self.resume, "metadata": self.metadata})

    @classmethod
    def from_json(cls, text: str) -> RunRequest:
        data = json.loads(text)
        return cls(PlanRequest.from_json(data["plan"]), Settings.from_json(json.dumps(data["settings"])),
                   Path(data["output"]) if data.get("output") else None, bool(data.get("append")),
                   bool(data.get("resume")), dict(data.get("metadata") or {}))


@dataclass
class SavedRun:
    method: str
    path: Path | None
    suite: pyperf.BenchmarkSuite


def output_paths(methods: Sequence[str], output: Path | None) -> dict[str, Path | None]:
    if output is None:
        return {m: None for m in methods}
    if len(methods) > 1 and METHOD_PLACEHOLDER not in str(output):
        raise CfgbenchError(f"{len(methods)} methods cannot share one output file {output}",
                            f"put {METHOD_PLACEHOLDER} in the -o name, e.g. -o 'run-{METHOD_PLACEHOLDER}.json'")
    return {m: Path(str(output).replace(METHOD_PLACEHOLDER, m)) for m in methods}


def new_session_id() -> str:
    """Shared by the files of one run: readers pair their values by it."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"


def split_by_method(suite: pyperf.BenchmarkSuite, plan: Plan) -> dict[str, pyperf.BenchmarkSuite]:
    """One suite per method, benchmarks renamed to their target-only names."""
    by_method: dict[str, pyperf.BenchmarkSuite] = {}
    specs = {plan.bench_name(spec): spec for spec in plan.benches}
    for bench in suite.get_benchmarks():
        spec = specs[bench.get_name()]
        bench.update_metadata({"name": spec.bench_name})
        if spec.method in by_method:
            by_method[spec.method].add_benchmark(bench)
        else:
            by_method[spec.method] = pyperf.BenchmarkSuite([bench])
    return by_method


def _drop_measured(plan: Plan, paths: dict[str, Path | None], existing: dict[Path, pyperf.BenchmarkSuite],
                   progress: Progress) -> Plan:
    """--resume: keep only the benchmarks the output files lack."""
    kept = []
    for spec in plan.benches:
        path = paths.get(spec.method)
        if path in existing and spec.bench_name in existing[path].get_benchmark_names():
            progress(f"{path} already has {spec.bench_name}: not measured again")
            continue
        kept.append(spec)
    if not kept:
        raise CfgbenchError("every benchmark of this run is already in its output file", "nothing to resume")
    return Plan(kept, plan.metadata)


def _check_appends(plan: Plan, paths: dict[str, Path | None], existing: dict[Path, pyperf.BenchmarkSuite]) -> None:
    """Refuse before timing, not after, a run its file could not take."""
    for spec in plan.benches:
        if (path := paths.get(spec.method)) in existing:
            results.check_can_append(existing[path], spec.bench_name, spec.method, path=path)


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


def _salvage(workdir: Path) -> pyperf.BenchmarkSuite | None:
    try:
        return engine.salvage(workdir)
    except (CfgbenchError, ValueError, OSError):
        return None  # a file cut short by the interruption


def _interrupted(plan: Plan, paths: dict[str, Path | None], append: bool,
                 partial: pyperf.BenchmarkSuite | None) -> RunInterrupted:
    """Save what was timed (whole processes, the interrupted one's finished rounds); say where, and how to go on."""
    saved = _save(partial, plan, paths, append) if partial is not None else []
    names = ", ".join(str(s.path) for s in saved if s.path is not None)
    if not names:
        return RunInterrupted("interrupted; nothing was saved", "run it again")
    timed = {bench.get_name() for s in saved for bench in s.suite.get_benchmarks()}
    missing = [spec.bench_name for spec in plan.benches if spec.bench_name not in timed]
    if missing:
        return RunInterrupted(f"interrupted; what was timed is saved in {names} ({len(missing)} benchmark(s) not "
                              "timed)", "measure the rest with the same command plus --resume")
    return RunInterrupted(f"interrupted; the values timed so far are saved in {names}",
                          "add more with the same command plus --append")


def run(request: RunRequest, progress: Progress) -> list[SavedRun]:
    """Plan, time and save one session; the saved runs, one per method."""
    methods = access.ordered(access.canonical_method(m) for m in request.plan.methods)
    what = replace(request.plan, methods=methods)
    settings = request.settings.checked()
    if settings.seed is None:
        settings = replace(settings, seed=secrets.randbits(32))  # recorded: the order can be replayed
    paths = output_paths(methods, request.output)
    append = request.append or request.resume
    for path in paths.values():
        if path is not None:
            results.check_writable(path, append)
    plan = build_plan(what, progress, settings.quiet)
    # Parts of a read (a split, the kernel's floor) pair with it by round, as methods pair with each other.
    settings = settings.resolved(len(methods) > 1, any(spec.workload in workloads.PAIRED_WORKLOADS for spec in plan.benches))
    # Each file appended to, read once (check_writable read it back already).
    existing = {p: results.load_suite(p) for p in set(paths.values()) if append and p is not None and p.exists()}
    if request.resume:
        plan = _drop_measured(plan, paths, existing, progress)
    _check_appends(plan, paths, existing)
    # In the lab guest every run records the lab and its physical host.
    plan.metadata = {**lab_metadata(), **request.metadata, SESSION: new_session_id()}
    if request.output is None:
        progress("no -o given: the figures will be printed, nothing saved")
    if not settings.quiet:  # -q keeps warnings and errors, not progress
        progress(f"timing {len(plan.benches)} benchmark(s), {settings.describe()}")
    with tempfile.TemporaryDirectory(prefix="cfgbench-run-") as workdir:
        try:
            suite = engine.time_plan(plan, settings, Path(workdir))
        except KeyboardInterrupt:
            raise _interrupted(plan, paths, append, _salvage(Path(workdir))) from None
    return _save(suite, plan, paths, append)


def machine_words() -> str:
    """This machine in words (bare metal, or a guest of which hypervisor, and the CPU), for the kernel's verdict."""
    fp = fingerprint()
    return describe_where(fp.environment, fp.hypervisor, fp.cpu_model)


def summary_lines(saved: Sequence[SavedRun], timed: Report | None = None, figure: Path | None = None) -> list[str]:
    """The answers first; then per benchmark, where each file went, the figure, the caveats, where the time goes."""
    from cfgbench.compare.headline import HeadlineContext, end_of_run
    from cfgbench.compare.model import report_of

    lines = []
    for run_ in saved:
        lines += report.suite_lines(run_.suite, label=run_.method)
        if run_.path is not None:
            lines.append(f"saved {host_path(run_.path)}")
    files = [str(host_path(r.path)) for r in saved if r.path is not None]
    hint = f"`cfgbench compare {' '.join(files)}` lists each" if len(files) == len(saved) else ""
    accel = lab_metadata().get(LAB_ACCEL)
    context = HeadlineContext(accel=accel, details_hint=hint, where="" if accel else machine_words())
    where = [f"figure: {host_path(figure)}"] if figure is not None else []
    timed = timed or report_of({r.method: r.suite for r in saved})
    return end_of_run(timed, context, where, lines, breakdown=True)
