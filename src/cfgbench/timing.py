"""The native timed loops, and one benchmark of a plan as the engine times it (docs/design.md, "Timing model")."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from cfgbench import access
from cfgbench._native import ffi, lib
from cfgbench.access.base import ConfigAccessor
from cfgbench.errors import CfgbenchError
from cfgbench.histogram import LogHistogram
from cfgbench.plan import BenchSpec
from cfgbench.schema import DIST_CYCLES, DIST_OVERHEAD_CYCLES, MISMATCH_NOTE, MISMATCHES, READS, TSC_HZ

NULL_LOOP_READS = 1 << 20
SAMPLE_CHUNK = 256
# Per-read sampling's share of a process's timing, within these bounds (benchmarks/sampling_cost.py).
SAMPLE_TIME_SHARE = 0.05
SAMPLE_TIME_MIN_S = 0.02
SAMPLE_TIME_MAX_S = 0.25


@dataclass
class LoopCounts:
    """What the loops saw beyond time, per benchmark and process."""

    reads: int = 0
    mismatches: int = 0
    ns: int = 0
    cycles: int = 0

    def add(self, result: Any) -> None:
        """Add a native cfg_loop_result, or other LoopCounts."""
        self.reads += result.reads
        self.mismatches += result.mismatches
        self.ns += result.ns
        self.cycles += result.cycles


def _check(err: int) -> None:
    if err:
        raise CfgbenchError(f"a timed read failed: {os.strerror(err)}", "check the device is still present")


def run_loop(target: Any, loops: int) -> Any:
    result = ffi.new("struct cfg_loop_result *")
    _check(lib.cfg_time_loop(target, loops, result))
    return result


def null_target() -> Any:
    target = ffi.new("struct cfg_target *")
    target.kind = lib.CFG_KIND_NULL
    target.width = 4
    return target


def null_loop_ns(reads: int = NULL_LOOP_READS, repeats: int = 5) -> float:
    """The harness's own cost: ns per iteration of the loop with no access in it."""
    target = null_target()
    return min(run_loop(target, reads).ns for _ in range(repeats)) / reads


def sample_cycles(target: Any, samples: int, budget_s: float = SAMPLE_TIME_MAX_S) -> tuple[list[int], LoopCounts]:
    """Per-read TSC deltas (lfence; rdtsc; lfence each side), stopping after a chunk once the budget is spent."""
    buffer = ffi.new("uint64_t[]", samples)
    counts = LoopCounts()
    result = ffi.new("struct cfg_loop_result *")
    done = 0
    deadline = time.monotonic() + budget_s
    while done < samples and (done == 0 or time.monotonic() < deadline):
        n = min(SAMPLE_CHUNK, samples - done)
        _check(lib.cfg_sample_loop(target, n, buffer + done, result))
        counts.add(result)
        done += n
    return list(ffi.unpack(buffer, done)), counts


def round_sample_budget_s(value_s: float, values: int) -> float:
    return min(SAMPLE_TIME_MAX_S / values, max(SAMPLE_TIME_MIN_S / values, SAMPLE_TIME_SHARE * value_s))


class TimedBench:
    """One benchmark of a plan; opens its method lazily, sharing accessors with the process's other benchmarks."""

    def __init__(self, spec: BenchSpec, name: str, accessors: dict[str, ConfigAccessor]) -> None:
        self.spec, self.name = spec, name
        self._accessors = accessors
        self._targets: Any = None
        self.counts = LoopCounts()
        self.histogram: LogHistogram | None = None
        self.overhead: LogHistogram | None = None

    @property
    def reads_per_pass(self) -> int:
        return len(self.spec.reads)

    def metadata(self) -> dict[str, Any]:
        return self.spec.metadata

    def _open(self) -> Any:
        spec = self.spec
        accessor = self._accessors.get(spec.method)
        if accessor is None:
            accessor = self._accessors[spec.method] = access.create(spec.method)
            accessor.open()
        accessor.prepare_targets(r.bdf for r in spec.reads)
        targets = [accessor.target(r.bdf, r.offset, r.width, r.expected, r.access) for r in spec.reads]
        if len(targets) == 1:
            return targets[0]
        array = ffi.new("struct cfg_target[]", len(targets))
        for i, target in enumerate(targets):
            array[i] = target[0]
        return array

    def __call__(self, loops: int) -> float:
        """Seconds for `loops` reads: a scan or sweep does whole passes and scales to exactly `loops`."""
        if self._targets is None:
            self._targets = self._open()
        result = ffi.new("struct cfg_loop_result *")
        if self.reads_per_pass == 1:
            _check(lib.cfg_time_loop(self._targets, loops, result))
        else:
            passes = -(-loops // self.reads_per_pass)
            _check(lib.cfg_time_many(self._targets, self.reads_per_pass, passes, result))
        self.counts.add(result)
        return result.ns / 1e9 * loops / result.reads

    def sample(self, samples: int, budget_s: float) -> None:
        """Per-read timestamps and the timestamp pair's own cost, into the histograms (one register, on x86)."""
        if self._targets is None or self.reads_per_pass > 1 or not lib.cfg_have_x86() or samples <= 0:
            return
        cycles, counts = sample_cycles(self._targets, samples, budget_s)
        overhead, _ = sample_cycles(null_target(), len(cycles))
        if self.histogram is None or self.overhead is None:
            self.histogram, self.overhead = LogHistogram(), LogHistogram()
        self.histogram.add_samples(cycles)
        self.overhead.add_samples(overhead)
        self.counts.add(counts)

    def run_metadata(self) -> dict[str, Any]:
        """What this process saw, kept on its own run (readers add runs up)."""
        counts = self.counts
        md: dict[str, Any] = {READS: counts.reads, MISMATCHES: counts.mismatches}
        if counts.mismatches:
            md[MISMATCH_NOTE] = access.mismatch_note(self.spec.method, counts.mismatches, counts.reads)
        if counts.cycles and counts.ns:
            md[TSC_HZ] = round(counts.cycles * 1e9 / counts.ns)
        if self.histogram is not None and self.overhead is not None:
            md[DIST_CYCLES] = self.histogram.to_json()
            md[DIST_OVERHEAD_CYCLES] = self.overhead.to_json()
        return md
