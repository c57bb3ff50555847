"""What one benchmark times, and the time function handed to pyperf."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cfgbench import access
from cfgbench._native import ffi, lib
from cfgbench.access.base import ALL_ONES, ConfigAccessor
from cfgbench.address import Bdf, format_target, parse_bdf
from cfgbench.errors import CfgbenchError

NULL_LOOP_READS = 1 << 20


@dataclass
class Measurement:
    """One method reading one target. `expected` is the value verified before timing."""

    method: str
    device: str  # canonical BDF text
    offset: int
    width: int
    workload: str = "read"
    expected: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. the ECAM window used

    @property
    def bdf(self) -> Bdf:
        return parse_bdf(self.device)

    @property
    def target_label(self) -> str:
        return format_target(self.bdf, self.offset, self.width)

    @property
    def bench_name(self) -> str:
        """Named by target, not method, so pyperf compare_to pairs methods."""
        return f"{self.workload} {self.target_label}"


@dataclass
class Plan:
    """What a worker process measures; written by the runner, read by the worker."""

    measurements: list[Measurement]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return sorted({m.method for m in self.measurements})

    def bench_name(self, m: Measurement) -> str:
        # One process may time several methods (the lab); their names must differ.
        return m.bench_name if len(self.methods) == 1 else f"{m.method}: {m.bench_name}"

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps({"measurements": [asdict(m) for m in self.measurements], "metadata": self.metadata}))

    @classmethod
    def load(cls, path: Path) -> Plan:
        data = json.loads(path.read_text())
        return cls([Measurement(**m) for m in data["measurements"]], data.get("metadata", {}))


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


def run_loop(target: Any, loops: int) -> Any:
    """One native timed loop; raises on a failed read."""
    result = ffi.new("struct cfg_loop_result *")
    err = lib.cfg_time_loop(target, loops, result)
    if err:
        raise CfgbenchError(f"a timed read failed: {os.strerror(err)}", "check the device is still present")
    return result


def null_loop_ns(reads: int = NULL_LOOP_READS, repeats: int = 5) -> float:
    """The harness floor: ns per iteration of the loop with no access in it."""
    target = ffi.new("struct cfg_target *")
    target.kind = lib.CFG_KIND_NULL
    target.width = 4
    return min(run_loop(target, reads).ns for _ in range(repeats)) / reads


class TimedRead:
    """pyperf's time function for one measurement; opens its method lazily so a
    pyperf manager process that never times anything never touches hardware."""

    def __init__(self, measurement: Measurement, accessors: dict[str, ConfigAccessor]) -> None:
        self.measurement = measurement
        self._accessors = accessors
        self._target: Any = None
        self.tally = Tally()

    def _open_target(self) -> Any:
        m = self.measurement
        accessor = self._accessors.get(m.method)
        if accessor is None:
            accessor = self._accessors[m.method] = access.create(m.method)
            accessor.open()
        return accessor.target(m.bdf, m.offset, m.width, m.expected)

    def __call__(self, loops: int) -> float:
        if self._target is None:
            self._target = self._open_target()
        result = run_loop(self._target, loops)
        self.tally.add(result)
        return result.ns / 1e9


def verify_read(accessor: ConfigAccessor, reference: ConfigAccessor | None, bdf: Bdf, offset: int, width: int) -> int:
    """Read the target through the method and the kernel; refuse to time a wrong value."""
    value = accessor.read(bdf, offset, width)
    if reference is not None:
        expected = reference.read(bdf, offset, width)
        if value != expected:
            raise CfgbenchError(
                f"{accessor.name} read {value:#0{2 + 2 * width}x} at {bdf}+{offset:#x} but the kernel "
                f"read {expected:#0{2 + 2 * width}x}; refusing to time the wrong register",
                "check the target, the ECAM window (cfgbench info) and that nothing else is using port 0xCF8",
            )
    if value == ALL_ONES[width] and offset < 4 and accessor.read(bdf, 0, 2) == 0xFFFF:
        raise CfgbenchError(f"no device answers at {bdf} (vendor ID reads all ones)", "pick one from `cfgbench list`")
    return value
