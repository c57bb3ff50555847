"""`cfgbench fleet`: one table across the environments of a fleet of runners.

Each runner's CI artifact is one directory holding the files of one run
(pio.json, mmio.json, kernel.json). Per target and environment the table gives
each method's median, pio/mmio (what the mechanism costs: two port accesses
against one load) and, for guests, each method's median over the same method's
median on a bare-metal machine (what virtualisation costs).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf

from cfgbench.errors import CfgbenchError
from cfgbench.history import METHOD_KEY, method_rank
from cfgbench.hypervisors import describe_where
from cfgbench.results import load_suite
from cfgbench.units import format_time

@dataclass(frozen=True)
class Environment:
    """One runner's run: where it ran, and each (target, method)'s median."""

    name: str
    directory: Path
    kind: str  # bare-metal, guest or unknown (cfgbench_environment)
    hypervisor: str
    cpu: str
    medians: dict[tuple[str, str], float]

    @property
    def bare_metal(self) -> bool:
        return self.kind == "bare-metal"

    @property
    def guest(self) -> bool:
        return self.kind == "guest"

    @property
    def description(self) -> str:
        return describe_where(self.kind, self.hypervisor, self.cpu)


def _only(values: set[str], what: str, directory: Path) -> str:
    if len(values) > 1:
        raise CfgbenchError(f"{directory} mixes results of several {what}s ({', '.join(sorted(values))})",
                            "give one directory per runner, holding the files of one run")
    return next(iter(values), "")


def _first_run_metadata(bench: pyperf.Benchmark) -> dict[str, Any]:
    # Run metadata, not the benchmark's common metadata: pyperf drops from the
    # latter whatever the runs do not share.
    return next((run.get_metadata() for run in bench.get_runs() if run.values), bench.get_metadata())


def load_environment(directory: Path | str) -> Environment:
    directory = Path(directory)
    if not directory.is_dir():
        raise CfgbenchError(f"{directory} is not a directory", "give one directory per runner, holding its result files")
    files = [f for f in sorted(directory.glob("*.json")) if not f.name.startswith(".")]
    if not files:
        raise CfgbenchError(f"no result files in {directory}", "give one directory per runner, holding pio.json, mmio.json, kernel.json")
    medians: dict[tuple[str, str], float] = {}
    seen: dict[str, set[str]] = {"hostname": set(), "cfgbench_environment": set(), "cfgbench_hypervisor": set(),
                                 "cfgbench_cpu_model": set()}
    for path in files:
        for bench in load_suite(path).get_benchmarks():
            metadata = _first_run_metadata(bench)
            key = (bench.get_name(), str(metadata.get(METHOD_KEY, "unknown")))
            if key in medians:
                raise CfgbenchError(f"{directory} holds {key[0]!r} by {key[1]} twice",
                                    "keep one run per runner in its directory")
            medians[key] = statistics.median(bench.get_values())
            for meta_key, values in seen.items():
                if meta_key in metadata:
                    values.add(str(metadata[meta_key]))
    hostname = _only(seen["hostname"], "hostname", directory)
    return Environment(hostname or directory.name, directory,
                       _only(seen["cfgbench_environment"], "environment", directory) or "unknown",
                       _only(seen["cfgbench_hypervisor"], "hypervisor", directory),
                       _only(seen["cfgbench_cpu_model"], "CPU model", directory), medians)


@dataclass(frozen=True)
class Fleet:
    environments: tuple[Environment, ...]
    reference: Environment | None  # the bare-metal machine every guest is divided by
    targets: tuple[str, ...]
    methods: tuple[str, ...]

    def median(self, env: Environment, target: str, method: str) -> float | None:
        return env.medians.get((target, method))

    def pio_over_mmio(self, env: Environment, target: str) -> float | None:
        pio, mmio = self.median(env, target, "pio"), self.median(env, target, "mmio")
        return pio / mmio if pio is not None and mmio else None

    def guest_factor(self, env: Environment, target: str, method: str) -> float | None:
        """The guest's median over the reference bare-metal median of the same method and target."""
        if not env.guest or self.reference is None:
            return None
        guest, metal = self.median(env, target, method), self.median(self.reference, target, method)
        return guest / metal if guest is not None and metal else None

    @property
    def factor_methods(self) -> list[str]:
        return [m for m in self.methods
                if any(self.guest_factor(e, t, m) is not None for e in self.environments for t in self.targets)]


def _unique_names(environments: list[Environment]) -> list[Environment]:
    names = [e.name for e in environments]
    return [Environment(f"{e.name} ({e.directory.name})", e.directory, e.kind, e.hypervisor, e.cpu, e.medians)
            if names.count(e.name) > 1 else e for e in environments]


def _pick_reference(environments: list[Environment], reference: str | None) -> Environment | None:
    metal = [e for e in environments if e.bare_metal]
    if reference is None:
        return metal[0] if metal else None  # the first bare-metal directory given
    chosen = next((e for e in environments if reference in (e.name, e.directory.name, str(e.directory))), None)
    if chosen is None or not chosen.bare_metal:
        names = ", ".join(e.name for e in metal) or "none given"
        what = "is not bare metal" if chosen else "is not among the environments"
        raise CfgbenchError(f"--reference {reference} {what}", f"choose a bare-metal one: {names}")
    return chosen


def fleet_report(directories: Sequence[Path | str], reference: str | None = None) -> Fleet:
    """The library entry point of `cfgbench fleet`."""
    environments = _unique_names([load_environment(d) for d in directories])
    targets = tuple(dict.fromkeys(t for e in environments for (t, _m) in e.medians))
    methods = tuple(sorted({m for e in environments for (_t, m) in e.medians}, key=method_rank))
    return Fleet(tuple(environments), _pick_reference(environments, reference), targets, methods)


# --- rendering ---------------------------------------------------------------

def _times(ratio: float | None) -> str:
    if ratio is None:
        return ""
    digits = 0 if ratio >= 100 else 1 if ratio >= 10 else 2
    return f"{ratio:.{digits}f}x"


def _time(value: float | None) -> str:
    return format_time(value) if value is not None else ""


def _rows(fleet: Fleet) -> tuple[list[str], list[list[str]]]:
    factors = fleet.factor_methods
    header = (["target", "environment", "where"] + list(fleet.methods)
              + (["pio/mmio"] if {"pio", "mmio"} <= set(fleet.methods) else [])
              + [f"{m} guest/bare metal" for m in factors])
    rows = []
    for target in fleet.targets:
        for env in fleet.environments:
            if not any(fleet.median(env, target, m) is not None for m in fleet.methods):
                continue
            name = env.name + (" (reference)" if env is fleet.reference and factors else "")
            row = [target, name, env.description] + [_time(fleet.median(env, target, m)) for m in fleet.methods]
            if {"pio", "mmio"} <= set(fleet.methods):
                row.append(_times(fleet.pio_over_mmio(env, target)))
            rows.append(row + [_times(fleet.guest_factor(env, target, m)) for m in factors])
    return header, rows


def explanation(fleet: Fleet) -> str:
    """The sentence under the table: which column answers which half of the question."""
    mechanism = ("How much of a config read's cost is the mechanism and how much virtualisation: pio/mmio on a "
                 "bare-metal row is the mechanism (type 1's two port accesses against ECAM's one load); ")
    if fleet.reference is None:
        return mechanism + "no bare-metal environment was given, so no column isolates virtualisation."
    if not fleet.factor_methods:
        return mechanism + f"no guest shares a method and target with {fleet.reference.name}, so no guest/bare-metal factor."
    others = [e.name for e in fleet.environments if e.bare_metal and e is not fleet.reference]
    also = f" (not {', '.join(others)})" if others else ""
    return (mechanism + "guest/bare metal is virtualisation: a guest's median over the same method's "
            f"median on {fleet.reference.name}{also}, the reference bare-metal machine.")


def render_markdown(fleet: Fleet) -> str:
    header, rows = _rows(fleet)
    numeric = set(range(3, len(header)))
    lines = [f"### cfgbench fleet: {len(fleet.environments)} environments", "",
             "| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if i in numeric else "---" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines + ["", explanation(fleet), "", ""])  # a blank line before whatever follows in the summary


def render_text(fleet: Fleet) -> str:
    header, rows = _rows(fleet)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if c >= 3 else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines + ["", explanation(fleet)]) + "\n"


def render_json(fleet: Fleet) -> str:
    data = {
        "reference": fleet.reference.name if fleet.reference else None,
        "environments": [{"name": e.name, "directory": str(e.directory), "environment": e.kind,
                          "hypervisor": e.hypervisor, "cpu": e.cpu} for e in fleet.environments],
        "rows": [{"target": t, "environment": e.name,
                  "medians": {m: fleet.median(e, t, m) for m in fleet.methods if fleet.median(e, t, m) is not None},
                  "pio_over_mmio": fleet.pio_over_mmio(e, t),
                  "guest_over_bare_metal": {m: f for m in fleet.methods
                                            if (f := fleet.guest_factor(e, t, m)) is not None}}
                 for t in fleet.targets for e in fleet.environments
                 if any(fleet.median(e, t, m) is not None for m in fleet.methods)],
        "explanation": explanation(fleet),
    }
    return json.dumps(data, indent=2) + "\n"


RENDERERS: dict[str, Callable[[Fleet], str]] = {"json": render_json, "markdown": render_markdown, "text": render_text}
