"""What one benchmark times, and the time function handed to pyperf."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cfgbench import access, kernelpath
from cfgbench._native import ffi, lib
from cfgbench.access.base import ALL_ONES, READ, ConfigAccessor
from cfgbench.address import Bdf, format_target, parse_bdf
from cfgbench.errors import CfgbenchError, no_device
from cfgbench.distribution import HIST_KEY, OVERHEAD_KEY
from cfgbench.histogram import LogHistogram

NULL_LOOP_READS = 1 << 20
SAMPLE_CHUNK = 256
# Per-read sampling may take a twentieth of the time pyperf spent timing in the
# process, at least SAMPLE_TIME_FLOOR_S (short lab runs) and at most
# SAMPLE_TIME_CAP_S: raw methods reach --samples at ~nothing, slow paths
# (sysfs) stop early (benchmarks/sampling_cost.py measures it).
SAMPLE_TIME_SHARE = 0.05
SAMPLE_TIME_FLOOR_S = 0.02
SAMPLE_TIME_CAP_S = 0.25


@dataclass
class ReadSpec:
    """One register read and the value it must return; or one access of it
    (the split workload: its method's name for it, e.g. "address-write")."""

    device: str  # canonical BDF text
    offset: int
    width: int
    expected: int
    access: str = READ

    @property
    def bdf(self) -> Bdf:
        return parse_bdf(self.device)


@dataclass
class Measurement:
    """One method doing one workload: a single register read over and over
    (read), or a fixed sequence of reads per pass (scan, sweep)."""

    method: str
    workload: str
    label: str  # the target part of the benchmark name
    reads: list[ReadSpec]
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. the ECAM window used
    register: bool = True  # reaches a register (the kernel floor reaches none: no kernel path to record)

    @property
    def access(self) -> str:
        """READ, or the one access of a read that this benchmark times (split)."""
        return self.reads[0].access

    @property
    def bench_name(self) -> str:
        """Named by target, not method, so pyperf compare_to pairs methods;
        a split benchmark adds its access (`split 0000:00:00.0+0x000/4 data-read`)."""
        access = "" if self.access == READ else f" {self.access}"
        return f"{self.workload} {self.label}{access}"

    @classmethod
    def single_read(cls, method: str, bdf: Bdf, offset: int, width: int, expected: int, metadata: dict[str, Any] | None = None) -> Measurement:
        return cls(method, "read", format_target(bdf, offset, width), [ReadSpec(str(bdf), offset, width, expected)], metadata or {})


@dataclass
class Plan:
    """What a worker process measures; written by the runner, read by the worker."""

    measurements: list[Measurement]
    metadata: dict[str, Any] = field(default_factory=dict)
    samples: int = 0  # per-read timestamps per process and benchmark; 0: no distribution

    @property
    def methods(self) -> list[str]:
        return sorted({m.method for m in self.measurements})

    def bench_name(self, m: Measurement) -> str:
        # One process may time several methods (the lab); their names must differ.
        return m.bench_name if len(self.methods) == 1 else f"{m.method}: {m.bench_name}"

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Plan:
        data = json.loads(path.read_text())
        measurements = [
            Measurement(m["method"], m["workload"], m["label"], [ReadSpec(**r) for r in m["reads"]], m["metadata"],
                        m.get("register", True))
            for m in data["measurements"]
        ]
        return cls(measurements, data["metadata"], data["samples"])


@dataclass
class Tally:
    """What the loops saw beyond time: kept per benchmark, merged by the runner."""

    reads: int = 0
    mismatches: int = 0
    ns: int = 0
    cycles: int = 0

    def add(self, result: Any) -> None:
        self.reads += result.reads
        self.mismatches += result.mismatches
        self.ns += result.ns
        self.cycles += result.cycles

    def merge(self, other: Tally) -> None:
        for key, value in vars(other).items():
            setattr(self, key, getattr(self, key) + value)


def _check(err: int) -> None:
    if err:
        raise CfgbenchError(f"a timed read failed: {os.strerror(err)}", "check the device is still present")


def run_loop(target: Any, loops: int) -> Any:
    """One native timed loop of a single target; raises on a failed read."""
    result = ffi.new("struct cfg_loop_result *")
    _check(lib.cfg_time_loop(target, loops, result))
    return result


def null_target() -> Any:
    target = ffi.new("struct cfg_target *")
    target.kind = lib.CFG_KIND_NULL
    target.width = 4
    return target


def null_loop_ns(reads: int = NULL_LOOP_READS, repeats: int = 5) -> float:
    """The harness floor: ns per iteration of the loop with no access in it."""
    target = null_target()
    return min(run_loop(target, reads).ns for _ in range(repeats)) / reads


def sample_cycles(target: Any, samples: int, budget_s: float = SAMPLE_TIME_CAP_S) -> tuple[list[int], Tally]:
    """Per-read TSC deltas, each read bracketed by lfence; rdtsc; lfence (the
    fences keep the read from moving across either timestamp). Stops early
    (after at least one chunk) when the time budget is spent."""
    buffer = ffi.new("uint64_t[]", samples)
    tally = Tally()
    result = ffi.new("struct cfg_loop_result *")
    done = 0
    deadline = time.monotonic() + budget_s
    while done < samples and (done == 0 or time.monotonic() < deadline):
        n = min(SAMPLE_CHUNK, samples - done)
        _check(lib.cfg_sample_loop(target, n, buffer + done, result))
        tally.add(result)
        done += n
    return list(ffi.unpack(buffer, done)), tally


class TimedMeasurement:
    """pyperf's time function for one measurement; opens its method lazily so a
    pyperf manager process that never times anything never touches hardware."""

    def __init__(self, measurement: Measurement, accessors: dict[str, ConfigAccessor]) -> None:
        self.measurement = measurement
        self._accessors = accessors
        self._targets: Any = None
        self.tally = Tally()
        self.histogram: LogHistogram | None = None
        self.overhead: LogHistogram | None = None

    @property
    def reads_per_pass(self) -> int:
        return len(self.measurement.reads)

    def _open(self) -> Any:
        m = self.measurement
        accessor = self._accessors.get(m.method)
        if accessor is None:
            accessor = self._accessors[m.method] = access.create(m.method)
            accessor.open()
        accessor.prepare_targets(r.bdf for r in m.reads)  # mmio maps a scan's bus range once
        targets = [accessor.target(r.bdf, r.offset, r.width, r.expected, r.access) for r in m.reads]
        if len(targets) == 1:
            return targets[0]
        array = ffi.new("struct cfg_target[]", len(targets))
        for i, target in enumerate(targets):
            array[i] = target[0]
        return array

    def __call__(self, loops: int) -> float:
        """Seconds for `loops` reads, whatever the workload: a scan or sweep does
        whole passes (at least `loops` reads) and scales to exactly `loops`, so
        --loops means reads per value everywhere and values are seconds per read."""
        if self._targets is None:
            self._targets = self._open()
        result = ffi.new("struct cfg_loop_result *")
        if self.reads_per_pass == 1:
            _check(lib.cfg_time_loop(self._targets, loops, result))
        else:
            passes = -(-loops // self.reads_per_pass)
            _check(lib.cfg_time_many(self._targets, self.reads_per_pass, passes, result))
        self.tally.add(result)
        return result.ns / 1e9 * loops / result.reads

    def sample(self, samples: int, budget_s: float | None = None) -> None:
        """Per-read timestamps and the timestamp pair's own cost, added to this
        measurement's histograms; may be called once per round. The default
        budget is a share of the time this process spent timing it so far."""
        if self._targets is None or self.reads_per_pass > 1 or not lib.cfg_have_x86() or samples <= 0:
            return
        if budget_s is None:
            budget_s = sample_budget_s(self.tally.ns / 1e9)
        cycles, tally = sample_cycles(self._targets, samples, budget_s)
        overhead, _ = sample_cycles(null_target(), len(cycles))
        if self.histogram is None or self.overhead is None:
            self.histogram, self.overhead = LogHistogram(), LogHistogram()
        self.histogram.add_samples(cycles)
        self.overhead.add_samples(overhead)
        self.tally.merge(tally)


def sample_budget_s(timed_s: float) -> float:
    """How long per-read sampling may take after timed_s of timing."""
    return min(SAMPLE_TIME_CAP_S, max(SAMPLE_TIME_FLOOR_S, SAMPLE_TIME_SHARE * timed_s))


def round_sample_budget_s(value_s: float, rounds: int) -> float:
    """The same budget, spread over the rounds of an interleaved process."""
    return min(SAMPLE_TIME_CAP_S / rounds, max(SAMPLE_TIME_FLOOR_S / rounds, SAMPLE_TIME_SHARE * value_s))


def measurement_metadata(m: Measurement) -> dict[str, Any]:
    """What a result records about the benchmark itself."""
    first = m.reads[0]
    metadata = {
        "cfgbench_method": m.method,
        "cfgbench_workload": m.workload,
        "cfgbench_target": m.label,
        **(kernelpath.metadata_for(first.bdf, first.offset) if m.register else {}),
        **m.metadata,
    }
    if len(m.reads) == 1:
        metadata["cfgbench_value"] = f"{first.expected:#0{2 + 2 * first.width}x}"
    else:
        metadata["cfgbench_reads_per_pass"] = len(m.reads)
    return metadata


def process_metadata(plan: Plan) -> dict[str, Any]:
    """What every run of a process records: the machine, cfgbench, the session."""
    from cfgbench import __version__
    from cfgbench.platform import fingerprint

    return {**fingerprint().as_metadata(), "cfgbench_version": __version__, **plan.metadata}


def run_tally_metadata(tally: Tally, histogram: LogHistogram | None, overhead: LogHistogram | None,
                       method: str = "") -> dict[str, Any]:
    """What one process saw while timing one benchmark, kept on its own run:
    readers add runs up (runs.py), so nothing is lost when files are appended.
    Mismatches are also said in words on the run that saw them."""
    from cfgbench.report import mismatch_note

    md: dict[str, Any] = {"cfgbench_reads": tally.reads, "cfgbench_mismatches": tally.mismatches}
    if tally.mismatches:
        md["cfgbench_mismatch_note"] = mismatch_note(method, tally.mismatches, tally.reads)
    if tally.cycles and tally.ns:
        md["cfgbench_tsc_hz"] = round(tally.cycles * 1e9 / tally.ns)
    if histogram is not None and overhead is not None:
        md[HIST_KEY] = histogram.to_json()
        md[OVERHEAD_KEY] = overhead.to_json()
    return md


def disagreement(method: str, value: int, kernel_value: int, bdf: Bdf, offset: int, width: int) -> CfgbenchError:
    """The one error for a method that reads another value than the kernel."""
    digits = 2 + 2 * width
    return CfgbenchError(
        f"{method} read {value:#0{digits}x} at {bdf}+{offset:#x} but the kernel read {kernel_value:#0{digits}x}; "
        "refusing to time the wrong register",
        "check the target, the ECAM window (cfgbench info) and that nothing else is using port 0xCF8",
    )


def verify_read(accessor: ConfigAccessor, reference: ConfigAccessor | None, bdf: Bdf, offset: int, width: int) -> int:
    """Read the target through the method and the kernel; refuse to time a wrong value."""
    value = accessor.read(bdf, offset, width)
    if reference is not None:
        expected = reference.read(bdf, offset, width)
        if value != expected:
            raise disagreement(accessor.name, value, expected, bdf, offset, width)
    if value == ALL_ONES[width] and accessor.read(bdf, 0, 2) == 0xFFFF:
        raise no_device(bdf)
    return value
