"""The one timing engine: worker processes that calibrate, warm up and time values, written as pyperf runs."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyperf

from cfgbench import __version__, schema
from cfgbench.access.base import ConfigAccessor
from cfgbench.errors import CfgbenchError
from cfgbench.plan import Plan
from cfgbench.platform import fingerprint
from cfgbench.settings import Settings, check_cpus_online
from cfgbench.timing import TimedBench, null_loop_ns, round_sample_budget_s

PROGRAM_ARGS = ("-m", "cfgbench.engine")
MAX_LOOPS = 2**32  # pyperf's bound
STOP_GRACE_S = 5.0
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Timed(Protocol):
    """One benchmark as the engine times it: a plan's native loops (timing.TimedBench), or a lab rescan."""

    name: str

    def metadata(self) -> dict[str, Any]:
        """What its benchmark records."""

    def __call__(self, loops: int) -> float:
        """Seconds that `loops` repetitions took."""

    def sample(self, samples: int, budget_s: float) -> None:
        """Time single repetitions for a distribution, within the budget (or nothing)."""

    def run_metadata(self) -> dict[str, Any]:
        """What this process saw while timing it (counts, histograms)."""


@dataclass
class _BenchValues:
    """What one process recorded for one benchmark."""

    loops: int = 0
    calibration: list[tuple[int, float]] = field(default_factory=list)  # (loops, s per loop)
    warmups: list[tuple[int, float]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # seconds per loop
    rounds: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


def calibrate(timed: Callable[[int], float], min_time: float) -> tuple[int, list[tuple[int, float]]]:
    """pyperf's doubling of the loops until a value takes min_time, confirmed by a second value of at least half."""
    loops, seen = 1, []
    while True:
        elapsed = timed(loops)
        seen.append((loops, elapsed / loops))
        if loops * 2 > MAX_LOOPS:
            return loops, seen
        if elapsed >= min_time:
            again = timed(loops)
            seen.append((loops, again / loops))
            if again >= min_time / 2:
                return loops, seen
        loops *= 2


def pin(affinity: str) -> None:
    if not affinity:
        return
    cpus = check_cpus_online(affinity)
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as exc:
        raise CfgbenchError(f"cannot pin to CPUs {affinity} ({exc.strerror})",
                            "give CPUs that are online (/sys/devices/system/cpu/online)") from None


class ProcessTimer:
    def __init__(self, timed: Sequence[Timed], settings: Settings, index: int = 0,
                 loops: dict[str, int] | None = None) -> None:
        self.timed, self.settings, self.index = list(timed), settings, index
        self.records = [_BenchValues() for _ in self.timed]
        # Each process's own order, from the run's seed: a run can be replayed.
        self.rng = random.Random(f"{settings.seed}:{index}") if settings.seed is not None else random.Random()
        self._given_loops = loops or {}
        self.null_loop_ns = 0.0
        self.started = time.monotonic()

    def run(self) -> None:
        """Calibrate (if needed), warm up and time; on an interruption what finished stays in self.records."""
        self.null_loop_ns = null_loop_ns()  # the harness's own cost in this very process
        self._set_loops()
        if self.settings.schedule == schema.INTERLEAVED:
            self._interleaved()
        else:
            self._sequential()

    def _interleaved(self) -> None:
        order = list(range(len(self.timed)))
        for _ in range(self.settings.warmups):
            for i in self.rng.sample(order, len(order)):
                self.records[i].warmups.append((self.records[i].loops, self._value(i)))
        for r in range(self.settings.values):
            round_number = self.index * self.settings.values + r
            for position, i in enumerate(self.rng.sample(order, len(order))):
                self.records[i].rounds.append(round_number)
                self.records[i].positions.append(position)
                self._slot(i)

    def _sequential(self) -> None:
        for i, record in enumerate(self.records):
            for _ in range(self.settings.warmups):
                record.warmups.append((record.loops, self._value(i)))
            for _ in range(self.settings.values):
                self._slot(i)

    def _set_loops(self) -> None:
        for record, timed in zip(self.records, self.timed, strict=True):
            if self.settings.loops:
                record.loops = self.settings.loops
            elif timed.name in self._given_loops:
                record.loops = self._given_loops[timed.name]
            else:
                record.loops, record.calibration = calibrate(timed, self.settings.min_time)

    def _value(self, i: int) -> float:
        loops = self.records[i].loops
        return self.timed[i](loops) / loops

    def _slot(self, i: int) -> None:
        """One value, then its share of per-read samples: they meet the same moment of the machine."""
        record, timed = self.records[i], self.timed[i]
        value = self._value(i)
        record.values.append(value)
        if self.settings.samples:
            per_value = math.ceil(self.settings.samples / self.settings.values)
            timed.sample(per_value, round_sample_budget_s(value * record.loops, self.settings.values))

    def benchmarks(self, common: dict[str, Any]) -> list[pyperf.Benchmark]:
        """This process's run of each benchmark with values, after pyperf's calibration run where it calibrated."""
        common = {**common, "duration": time.monotonic() - self.started}
        found = []
        for timed, record in zip(self.timed, self.records, strict=True):
            if not record.values:
                continue
            base = {**common, **timed.metadata(), "name": timed.name, "unit": "second", "loops": record.loops}
            runs = []
            if record.calibration:
                calibrated = record.calibration[-1][0]
                runs.append(pyperf.Run([], warmups=record.calibration, collect_metadata=False,
                                       metadata={**base, "loops": calibrated, "calibrate_loops": calibrated}))
            per_run: dict[str, Any] = {schema.PROCESS: self.index, schema.NULL_LOOP_NS: round(self.null_loop_ns, 3),
                                       **timed.run_metadata()}
            if record.rounds:
                per_run[schema.ROUNDS] = ",".join(map(str, record.rounds))
                per_run[schema.ROUND_POSITIONS] = ",".join(map(str, record.positions))
            runs.append(pyperf.Run(record.values, warmups=record.warmups or None, metadata={**base, **per_run},
                                   collect_metadata=False))
            found.append(pyperf.Benchmark(runs))
        return found

    @property
    def loops(self) -> dict[str, int]:
        return {t.name: r.loops for t, r in zip(self.timed, self.records, strict=True)}


def pyperf_metadata() -> dict[str, Any]:
    """pyperf's own run metadata (date, CPU, Python, ...): a throwaway pyperf.Run collects them."""
    metadata = dict(pyperf.Run([1.0], metadata={"name": "probe"}).get_metadata())
    metadata.pop("name")
    return metadata


def common_metadata(run_metadata: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """What every run of a process records: pyperf's, the machine, cfgbench, the session."""
    return {**pyperf_metadata(), **fingerprint().as_metadata(), schema.VERSION: __version__, schema.FORMAT: schema.FORMAT_VERSION,
            **run_metadata, schema.SCHEDULE: settings.schedule, schema.SETTINGS: settings.describe()}


def time_here(timed: Sequence[Timed], settings: Settings, metadata: dict[str, Any], index: int = 0,
              loops: dict[str, int] | None = None, out: Path | None = None) -> tuple[pyperf.BenchmarkSuite | None, dict[str, int]]:
    """The suite of this process's runs (dumped to out, even when interrupted) and the loops used."""
    timer = ProcessTimer(timed, settings, index, loops)
    try:
        timer.run()
    finally:
        benchmarks = timer.benchmarks(common_metadata(metadata, settings))
        suite = pyperf.BenchmarkSuite(benchmarks) if benchmarks else None
        if suite is not None and out is not None:
            # Whole or absent: an interruption while writing must not leave half a file.
            partial = out.with_name(f".{out.name}.tmp")
            suite.dump(str(partial))
            os.replace(partial, out)
    return suite, timer.loops


def time_plan_here(plan: Plan, settings: Settings, index: int = 0, loops: dict[str, int] | None = None,
                   out: Path | None = None) -> tuple[pyperf.BenchmarkSuite | None, dict[str, int]]:
    accessors: dict[str, ConfigAccessor] = {}
    try:
        timed = [TimedBench(spec, plan.bench_name(spec), accessors) for spec in plan.benches]
        return time_here(timed, settings, plan.metadata, index, loops, out)
    finally:
        for accessor in accessors.values():
            accessor.close()


def _process_file(workdir: Path, index: int) -> Path:
    return workdir / f"process-{index:03d}.json"


class _Dots:
    """pyperf-style progress: a dot per finished process on one stderr line, after the first the time left."""

    def __init__(self, total: int, quiet: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.quiet, self.clock = total, 0, quiet, clock
        self.started = clock()
        self._write(f"cfgbench: timing {total} processes ")

    def _write(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def dot(self) -> None:
        self.done += 1
        self._write(".")
        if self.done == 1 and self.total > 1:
            self._write(f" (about {time_left(self.clock() - self.started, self.done, self.total):.0f} s to go) ")

    def end(self) -> None:
        self._write("\n")  # also before an error, which must start its own line


def time_left(elapsed: float, done: int, total: int) -> float:
    return elapsed / done * (total - done)


def time_plan(plan: Plan, settings: Settings, workdir: Path) -> pyperf.BenchmarkSuite:
    """In this process or in workers one after another; an interruption leaves their files for salvage()."""
    if settings.in_process:
        pin(settings.affinity)
        time_plan_here(plan, settings, out=_process_file(workdir, 0))
    else:
        _time_in_processes(plan, settings, workdir)
    suite = salvage(workdir)
    if suite is None:
        raise CfgbenchError("the workers recorded no values", "see their output above")
    return suite


def _time_in_processes(plan: Plan, settings: Settings, workdir: Path) -> None:
    plan_path, loops_path = workdir / "plan.json", workdir / "loops.json"
    plan.dump(plan_path)
    dots = _Dots(settings.processes, settings.quiet)
    try:
        for index in range(settings.processes):
            command = [sys.executable, *PROGRAM_ARGS, "--plan", str(plan_path), "--settings", settings.to_json(),
                       "--index", str(index), "--loops", str(loops_path), "--out", str(_process_file(workdir, index))]
            returncode = run_worker_process(command)
            if returncode != 0 or not _process_file(workdir, index).exists():
                raise CfgbenchError(f"worker process {index + 1} failed (exit code {returncode})",
                                    "see its output above; `cfgbench info` says whether the method can run here")
            dots.dot()
    finally:
        dots.end()


def run_worker_process(command: Sequence[str]) -> int:
    """Its exit code; its output not on a pipe (a reader on the same CPU would skew the timing), our environment."""
    try:
        stderr = sys.stderr.fileno()
    except (OSError, ValueError):
        stderr = 2  # a stand-in stderr (a test's capture): the process's own
    # An interruption inside Popen would leave the worker running unknown to us: noted, acted on with its pid.
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum)) for sig in STOP_SIGNALS}
    try:
        worker = subprocess.Popen(list(command), stdout=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise CfgbenchError(f"cannot start a worker process ({command[0]}: {exc.strerror or exc})",
                            "time in this process with --in-process, or run with a Python this user may execute") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        if held:
            raise KeyboardInterrupt
        return worker.wait()
    except BaseException:
        stop_group(worker)
        raise


def stop_group(worker: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(worker.pid, sig)
        except ProcessLookupError:
            return
        try:
            worker.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def salvage(workdir: Path) -> pyperf.BenchmarkSuite | None:
    """Every finished process's runs, in process order, gathered per benchmark."""
    gathered: dict[str, pyperf.Benchmark] = {}
    for path in sorted(workdir.glob("process-*.json")):
        for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
            if bench.get_name() in gathered:
                gathered[bench.get_name()].add_runs(bench)
            else:
                gathered[bench.get_name()] = bench
    return pyperf.BenchmarkSuite(list(gathered.values())) if gathered else None


def _stop_timing(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """One worker process; SIGTERM (the run's on an interruption) ends it as Ctrl-C does, its rounds written first."""
    signal.signal(signal.SIGTERM, _stop_timing)
    parser = argparse.ArgumentParser(prog="python -m cfgbench.engine")
    parser.add_argument("--plan", required=True, type=Path)
    parser.add_argument("--settings", required=True, help="Settings as JSON")
    parser.add_argument("--index", required=True, type=int, help="which process this is (0 calibrates)")
    parser.add_argument("--loops", type=Path, help="JSON {benchmark: loops} from process 0; written by process 0")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_json(args.settings)
        pin(settings.affinity)
        given = json.loads(args.loops.read_text()) if args.loops and args.loops.exists() else None
        _, loops = time_plan_here(Plan.load(args.plan), settings, args.index, given, args.out)
    except CfgbenchError as exc:
        print(f"cfgbench worker: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.loops and given is None:
        args.loops.write_text(json.dumps(loops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
