"""What a run will time, as data: the targets, each benchmark's reads and metadata, and their JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cfgbench import access
from cfgbench.access.base import READ
from cfgbench.address import Bdf, format_target, parse_bdf
from cfgbench.schema import READ_WORKLOAD


@dataclass(frozen=True)
class Target:
    """One register: a function, an offset and a width."""

    bdf: Bdf
    offset: int
    width: int

    def __str__(self) -> str:
        return format_target(self.bdf, self.offset, self.width)


@dataclass
class ReadSpec:
    """One register read and the value it must return, or one access of it (split: e.g. "address-write")."""

    device: str  # canonical BDF text
    offset: int
    width: int
    expected: int
    access: str = READ

    @property
    def bdf(self) -> Bdf:
        return parse_bdf(self.device)


@dataclass
class BenchSpec:
    """One benchmark: a method's reads (one register, or a fixed pass of them) and its file's metadata."""

    method: str
    workload: str
    label: str  # the target part of the benchmark name
    reads: list[ReadSpec]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def access(self) -> str:
        """READ, or the one access of a read that this benchmark times (split)."""
        return self.reads[0].access

    @property
    def bench_name(self) -> str:
        """Named by target, not method, so pyperf compare_to pairs methods;
        a split benchmark adds its access (`split 0000:00:00.0+0x000/4 data-read`)."""
        access_name = "" if self.access == READ else f" {self.access}"
        return f"{self.workload} {self.label}{access_name}"


@dataclass
class Plan:
    """What the worker processes time; written by session.py, read by each worker."""

    benches: list[BenchSpec]
    metadata: dict[str, Any] = field(default_factory=dict)  # recorded on every run: session, lab, the user's

    @property
    def methods(self) -> list[str]:
        return access.ordered(b.method for b in self.benches)

    def bench_name(self, spec: BenchSpec) -> str:
        # One process may time several methods; their names must differ there.
        return spec.bench_name if len(self.methods) == 1 else f"{spec.method}: {spec.bench_name}"

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Plan:
        data = json.loads(path.read_text())
        benches = [BenchSpec(b["method"], b["workload"], b["label"], [ReadSpec(**r) for r in b["reads"]], b["metadata"])
                   for b in data["benches"]]
        return cls(benches, data["metadata"])


@dataclass
class PlanRequest:
    """What the user asked to time."""

    methods: list[str]
    targets: list[Target]
    workloads: list[str] = field(default_factory=lambda: [READ_WORKLOAD])
    buses: range | None = None  # scan: None means the ECAM window's buses, or all
    allow_any_offset: bool = False  # read outside the header and advertised capabilities

    def as_json(self) -> dict[str, Any]:
        return {"methods": self.methods, "targets": [[str(t.bdf), t.offset, t.width] for t in self.targets],
                "workloads": self.workloads, "allow_any_offset": self.allow_any_offset,
                "buses": [self.buses.start, self.buses.stop - 1] if self.buses is not None else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanRequest:
        buses = data.get("buses")
        return cls(list(data["methods"]), [Target(parse_bdf(b), o, w) for b, o, w in data["targets"]],
                   list(data["workloads"]), range(buses[0], buses[1] + 1) if buses else None,
                   bool(data.get("allow_any_offset")))
