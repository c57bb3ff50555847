"""The interleaved schedule: every method and target times one value per round,
in a fresh random order each round, so whatever the machine does meanwhile
lands on all of them alike and their values pair by round.

One process (`python -m cfgbench.interleave`, or the caller itself with
--in-process) calibrates, warms up and times in rounds, then writes one
pyperf Run per benchmark. The runner starts the processes one after another,
as pyperf does, and gathers their runs into pyperf files (public API only:
`pyperf.Run`, `Benchmark`, `BenchmarkSuite`)."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from cfgbench.access.base import ConfigAccessor
from cfgbench.errors import CfgbenchError
from cfgbench.processes import run_worker_process
from cfgbench.runs import POSITIONS_KEY, PROCESS_KEY, ROUNDS_KEY
from cfgbench.measure import (
    Plan,
    TimedMeasurement,
    measurement_metadata,
    null_loop_ns,
    process_metadata,
    round_sample_budget_s,
    run_tally_metadata,
)

PROGRAM_ARGS = ("-m", "cfgbench.interleave")
MAX_LOOPS = 2**32  # pyperf's bound on calibrated loops



@dataclass(frozen=True)
class Settings:
    """pyperf's knobs, with pyperf's defaults and meanings."""

    processes: int = 20
    values: int = 3  # per process: one per round
    warmups: int = 1  # rounds timed and discarded before the values
    loops: int = 0  # reads per value; 0: calibrate to min_time in the first process
    min_time: float = 0.1  # seconds per value when calibrating
    affinity: str = ""  # CPU list, e.g. "2" or "2-3"
    in_process: bool = False  # time in the calling process: no Python start-up per process
    quiet: bool = False  # no progress dots

    @classmethod
    def from_pyperf_style(cls, fast: bool = False, rigorous: bool = False, processes: int | None = None,
                          values: int | None = None, warmups: int | None = None, loops: int | None = None,
                          min_time: float | None = None, affinity: str = "", in_process: bool = False,
                          quiet: bool = False) -> Settings:
        """As pyperf turns its options into settings: --fast halves the processes
        (at least 3) and takes 2 values, --rigorous doubles the processes."""
        base = cls()
        n_processes, n_values = base.processes, base.values
        if rigorous:
            n_processes *= 2
        elif fast:
            n_processes, n_values = max(n_processes // 2, 3), max(n_values * 2 // 3, 2)
        return cls(
            processes=1 if in_process else (processes or n_processes),
            values=values or n_values,
            warmups=base.warmups if warmups is None else warmups,
            loops=loops or 0,
            min_time=base.min_time if min_time is None else min_time,
            affinity=affinity,
            in_process=in_process,
            quiet=quiet,
        )

    def describe(self) -> str:
        loops = f"{self.loops} reads per value" if self.loops else f"reads per value calibrated to {self.min_time:g} s"
        where = "in this process" if self.in_process else f"{self.processes} processes"
        pinned = f", pinned to CPU {self.affinity}" if self.affinity else ""
        return f"interleaved: {where} x {self.values} rounds (+{self.warmups} warmup), {loops}{pinned}"

    def as_metadata(self) -> dict[str, Any]:
        return {"cfgbench_schedule": "interleaved", "cfgbench_settings": self.describe()}


def parse_cpu_list(text: str) -> set[int]:
    """'2', '0-3', '1,3-5' as taskset and pyperf --affinity write them."""
    cpus: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    except ValueError:
        cpus.clear()
    if not cpus:
        raise CfgbenchError(f"--affinity {text!r} is not a CPU list", "write it as taskset does, e.g. 2 or 2-3 or 1,3")
    return cpus


def pin(affinity: str) -> None:
    if not affinity:
        return
    cpus = parse_cpu_list(affinity)
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as exc:
        raise CfgbenchError(f"cannot pin to CPUs {affinity} ({exc.strerror})",
                            "give CPUs that are online (/sys/devices/system/cpu/online)") from None


@dataclass
class BenchmarkTiming:
    """What one process recorded for one benchmark."""

    name: str
    metadata: dict[str, Any]
    loops: int = 0
    calibration: list[tuple[int, float]] = field(default_factory=list)  # (loops, s/read) while calibrating
    warmups: list[tuple[int, float]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # seconds per read
    rounds: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


def calibrate(timed: Callable[[int], float], min_time: float) -> tuple[int, list[tuple[int, float]]]:
    """pyperf's calibration: double the loops until one value takes min_time.
    A value that reached it by a hiccup of the machine does not end it: the
    loops are timed once more, and below half of min_time the doubling goes
    on. (On a busy host one descheduled moment of the lab guest stopped the
    kernel floor's calibration at 16 reads, 64 us values that every timer
    interrupt then moved by several us a read.)"""
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


class ProcessTimer:
    """Times a plan's benchmarks in rounds within this process."""

    def __init__(self, plan: Plan, settings: Settings, index: int, loops: dict[str, int] | None,
                 rng: random.Random | None = None) -> None:
        self.plan, self.settings, self.index = plan, settings, index
        self.rng = rng or random.Random()
        self._accessors: dict[str, ConfigAccessor] = {}
        self.timed = [TimedMeasurement(m, self._accessors) for m in plan.measurements]
        self.timings = [BenchmarkTiming(plan.bench_name(m), {}) for m in plan.measurements]
        self._given_loops = loops or {}
        self.floor_ns = 0.0
        self.started = time.monotonic()

    def run(self, on_round: Callable[[int], None] | None = None) -> None:
        """Calibrate (if needed), warm up and time every round; interruptible:
        what finished stays in self.timings."""
        try:
            self.floor_ns = null_loop_ns()  # the floor of this very process
            self._set_loops()
            order = list(range(len(self.timed)))
            for _ in range(self.settings.warmups):
                for i in self.rng.sample(order, len(order)):
                    self.timings[i].warmups.append((self.timings[i].loops, self._value(i)))
            for r in range(self.settings.values):
                round_number = self.index * self.settings.values + r
                for position, i in enumerate(self.rng.sample(order, len(order))):
                    self._round_slot(i, round_number, position)
                if on_round:
                    on_round(r)
        finally:
            for accessor in self._accessors.values():
                accessor.close()

    def _set_loops(self) -> None:
        for timing, timed in zip(self.timings, self.timed, strict=True):
            if self.settings.loops:
                timing.loops = self.settings.loops
            elif timing.name in self._given_loops:
                timing.loops = self._given_loops[timing.name]
            else:
                timing.loops, timing.calibration = calibrate(timed, self.settings.min_time)

    def _value(self, i: int) -> float:
        loops = self.timings[i].loops
        return self.timed[i](loops) / loops

    def _round_slot(self, i: int, round_number: int, position: int) -> None:
        """One value, then this round's share of per-read samples (in the
        round, so they meet the same moment of the machine as the value)."""
        timing, timed = self.timings[i], self.timed[i]
        value = self._value(i)
        timing.values.append(value)
        timing.rounds.append(round_number)
        timing.positions.append(position)
        if self.plan.samples:
            per_round = math.ceil(self.plan.samples / self.settings.values)
            timed.sample(per_round, round_sample_budget_s(value * timing.loops, self.settings.values))

    def runs(self) -> list[pyperf.Benchmark]:
        """One benchmark per measurement with this process's run (and, where this
        process calibrated, pyperf's calibration run before it)."""
        common = {**pyperf_metadata(), **process_metadata(self.plan), **self.settings.as_metadata(),
                  "duration": time.monotonic() - self.started}
        benchmarks = []
        for m, timing, timed in zip(self.plan.measurements, self.timings, self.timed, strict=True):
            if not timing.values:
                continue
            base = {**common, **timing.metadata, "name": timing.name, "unit": "second", "loops": timing.loops,
                    **measurement_metadata(m)}
            runs = []
            if timing.calibration:
                runs.append(pyperf.Run([], warmups=timing.calibration,
                                       metadata={**base, "loops": timing.calibration[-1][0],
                                                 "calibrate_loops": timing.calibration[-1][0]},
                                       collect_metadata=False))
            per_run = {
                PROCESS_KEY: self.index,
                ROUNDS_KEY: ",".join(map(str, timing.rounds)),
                POSITIONS_KEY: ",".join(map(str, timing.positions)),
                "cfgbench_null_loop_ns": round(self.floor_ns, 3),
                **run_tally_metadata(timed.tally, timed.histogram, timed.overhead, m.method),
            }
            runs.append(pyperf.Run(timing.values, warmups=timing.warmups or None, metadata={**base, **per_run},
                                   collect_metadata=False))
            benchmarks.append(pyperf.Benchmark(runs))
        return benchmarks

    @property
    def loops(self) -> dict[str, int]:
        return {t.name: t.loops for t in self.timings}


def pyperf_metadata() -> dict[str, Any]:
    """pyperf's own run metadata (date, CPU, Python, ...), as its workers record
    it: pyperf.Run collects them when asked, so a throwaway run hands them over."""
    metadata = dict(pyperf.Run([1.0], metadata={"name": "probe"}).get_metadata())
    metadata.pop("name")
    return metadata


def time_process(plan: Plan, settings: Settings, index: int,
                 loops: dict[str, int] | None) -> tuple[pyperf.BenchmarkSuite | None, dict[str, int]]:
    """Time one process's rounds here; the suite of its runs and the loops used."""
    timer = ProcessTimer(plan, settings, index, loops)
    timer.run()
    benchmarks = timer.runs()
    return (pyperf.BenchmarkSuite(benchmarks) if benchmarks else None), timer.loops


def dump_settings(settings: Settings) -> str:
    return json.dumps(asdict(settings))


def _process_file(workdir: Path, index: int) -> Path:
    return workdir / f"process-{index:03d}.json"


def _dump(benchmarks: list[pyperf.Benchmark], path: Path) -> None:
    if benchmarks:
        pyperf.BenchmarkSuite(benchmarks).dump(str(path))


class _Dots:
    """pyperf-style progress: one dot per finished process on one stderr line."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.done, self.started, self.quiet = total, 0, time.monotonic(), quiet
        self._write(f"cfgbench: timing {total} processes ")

    def _write(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def dot(self) -> None:
        self.done += 1
        self._write(".")
        if self.done == 1 and self.total > 1:
            left = (time.monotonic() - self.started) * (self.total - 1)
            self._write(f" (about {left:.0f} s to go) ")

    def end(self) -> None:
        self._write("\n")  # also before an error, which must start its own line


def time_interleaved(plan: Plan, settings: Settings, workdir: Path) -> pyperf.BenchmarkSuite:
    """Time the plan in rounds, process after process; KeyboardInterrupt leaves
    the finished processes' files in workdir for salvage()."""
    if settings.in_process:
        pin(settings.affinity)
        timer = ProcessTimer(plan, settings, 0, None)
        try:
            timer.run()
        finally:  # an interrupted process keeps the rounds it finished
            _dump(timer.runs(), _process_file(workdir, 0))
    else:
        _time_in_processes(plan, settings, workdir)
    suite = salvage(workdir)
    if suite is None:
        raise CfgbenchError("the interleaved workers recorded no values", "see their output above")
    return suite


def _time_in_processes(plan: Plan, settings: Settings, workdir: Path) -> None:
    plan_path, loops_path = workdir / "plan.json", workdir / "loops.json"
    plan.dump(plan_path)
    dots = _Dots(settings.processes, settings.quiet)
    try:
        for index in range(settings.processes):
            command = [sys.executable, *PROGRAM_ARGS, "--plan", str(plan_path), "--settings", dump_settings(settings),
                       "--index", str(index), "--loops", str(loops_path), "--out", str(_process_file(workdir, index))]
            returncode = run_worker_process(command)
            if returncode != 0 or not _process_file(workdir, index).exists():
                raise CfgbenchError(f"interleaved worker process {index + 1} failed (exit code {returncode})",
                                    "see its output above; `cfgbench info` says whether the method can run here")
            dots.dot()
    finally:
        dots.end()


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


def main(argv: Sequence[str] | None = None) -> int:
    """One worker process of the interleaved schedule (the runner starts it)."""
    parser = argparse.ArgumentParser(prog="python -m cfgbench.interleave")
    parser.add_argument("--plan", required=True, type=Path)
    parser.add_argument("--settings", required=True, help="JSON of Settings")
    parser.add_argument("--index", required=True, type=int, help="which process this is (0 calibrates)")
    parser.add_argument("--loops", type=Path, help="JSON {benchmark: loops} from process 0; written by process 0")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        settings = Settings(**json.loads(args.settings))
        pin(settings.affinity)
        plan = Plan.load(args.plan)
        given = json.loads(args.loops.read_text()) if args.loops and args.loops.exists() else None
        suite, loops = time_process(plan, settings, args.index, given)
    except CfgbenchError as exc:
        print(f"cfgbench worker: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.loops and given is None:
        args.loops.write_text(json.dumps(loops))
    if suite is not None:
        suite.dump(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
