"""`cfgbench fleet`: one table across the environments of a fleet of runners (docs/ci-history.md)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cfgbench import access, runs
from cfgbench.errors import CfgbenchError
from cfgbench.platform import describe_where
from cfgbench.results import load_suite
from cfgbench.schema import CPU_MODEL, ENVIRONMENT, HYPERVISOR, PYPERF_HOSTNAME, method_of
from cfgbench import document as doc
from cfgbench.document import LEFT, RIGHT, format_time


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


def load_environment(directory: Path | str) -> Environment:
    directory = Path(directory)
    if not directory.is_dir():
        raise CfgbenchError(f"{directory} is not a directory", "give one directory per runner, holding its result files")
    files = [f for f in sorted(directory.glob("*.json")) if not f.name.startswith(".")]
    if not files:
        raise CfgbenchError(f"no result files in {directory}", "give one directory per runner, holding its {method}.json files")
    medians: dict[tuple[str, str], float] = {}
    benches = []
    for path in files:
        for bench in load_suite(path).get_benchmarks():
            key = (bench.get_name(), method_of(bench))
            if key in medians:
                raise CfgbenchError(f"{directory} holds {key[0]!r} by {key[1]} twice",
                                    "keep one run per runner in its directory")
            medians[key] = statistics.median(bench.get_values())
            benches.append(bench)

    def only(key: str, what: str) -> str:
        return runs.only_value(runs.metadata_values(benches, key), what, directory,
                               "give one directory per runner, holding the files of one run")

    return Environment(only(PYPERF_HOSTNAME, "hostname") or directory.name, directory,
                       only(ENVIRONMENT, "environment") or "unknown", only(HYPERVISOR, "hypervisor"),
                       only(CPU_MODEL, "CPU model"), medians)


@dataclass(frozen=True)
class Fleet:
    environments: tuple[Environment, ...]
    reference: Environment | None  # the bare-metal machine every guest is divided by
    targets: tuple[str, ...]
    methods: tuple[str, ...]

    def median(self, env: Environment, target: str, method: str) -> float | None:
        return env.medians.get((target, method))

    def mechanism_ratio(self, env: Environment, target: str) -> float | None:
        first, second = (self.median(env, target, m) for m in access.MECHANISMS)
        return first / second if first is not None and second else None

    @property
    def has_mechanisms(self) -> bool:
        return set(access.MECHANISMS) <= set(self.methods)

    def guest_factor(self, env: Environment, target: str, method: str) -> float | None:
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
    environments = _unique_names([load_environment(d) for d in directories])
    targets = tuple(dict.fromkeys(t for e in environments for (t, _m) in e.medians))
    methods = tuple(access.ordered(m for e in environments for (_t, m) in e.medians))
    return Fleet(tuple(environments), _pick_reference(environments, reference), targets, methods)


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
              + (["/".join(access.MECHANISMS)] if fleet.has_mechanisms else [])
              + [f"{m} guest/bare metal" for m in factors])
    rows = []
    for target in fleet.targets:
        for env in fleet.environments:
            if not any(fleet.median(env, target, m) is not None for m in fleet.methods):
                continue
            name = env.name + (" (reference)" if env is fleet.reference and factors else "")
            row = [target, name, env.description] + [_time(fleet.median(env, target, m)) for m in fleet.methods]
            if fleet.has_mechanisms:
                row.append(_times(fleet.mechanism_ratio(env, target)))
            rows.append(row + [_times(fleet.guest_factor(env, target, m)) for m in factors])
    return header, rows


def explanation(fleet: Fleet) -> str:
    """Which column answers which half of the question."""
    mechanism = (f"How much of a config read's cost is the mechanism and how much virtualisation: "
                 f"{'/'.join(access.MECHANISMS)} on a bare-metal row is the mechanism (type 1's two port accesses "
                 "against ECAM's one load); ")
    if fleet.reference is None:
        return mechanism + "no bare-metal environment was given, so no column isolates virtualisation."
    if not fleet.factor_methods:
        return mechanism + f"no guest shares a method and target with {fleet.reference.name}, so no guest/bare-metal factor."
    others = [e.name for e in fleet.environments if e.bare_metal and e is not fleet.reference]
    also = f" (not {', '.join(others)})" if others else ""
    return (mechanism + "guest/bare metal is virtualisation: a guest's median over the same method's "
            f"median on {fleet.reference.name}{also}, the reference bare-metal machine.")


_ALIGN = LEFT * 3 + RIGHT * 50  # the target, environment and where; then figures


def render_markdown(fleet: Fleet) -> str:
    return doc.to_markdown([doc.Heading(f"cfgbench fleet: {len(fleet.environments)} environments", 3),
                            doc.Table(*_rows(fleet), _ALIGN), doc.Paragraph(explanation(fleet))])


def render_text(fleet: Fleet) -> str:
    return doc.to_text([doc.Table(*_rows(fleet), _ALIGN), doc.Paragraph(explanation(fleet))])


def render_json(fleet: Fleet) -> str:
    data = {
        "reference": fleet.reference.name if fleet.reference else None,
        "environments": [{"name": e.name, "directory": str(e.directory), "environment": e.kind,
                          "hypervisor": e.hypervisor, "cpu": e.cpu} for e in fleet.environments],
        "rows": [{"target": t, "environment": e.name,
                  "medians": {m: fleet.median(e, t, m) for m in fleet.methods if fleet.median(e, t, m) is not None},
                  "mechanisms": list(access.MECHANISMS),
                  "mechanism_ratio": fleet.mechanism_ratio(e, t),
                  "guest_over_bare_metal": {m: f for m in fleet.methods
                                            if (f := fleet.guest_factor(e, t, m)) is not None}}
                 for t in fleet.targets for e in fleet.environments
                 if any(fleet.median(e, t, m) is not None for m in fleet.methods)],
        "explanation": explanation(fleet),
    }
    return json.dumps(data, indent=2) + "\n"


RENDERERS: dict[str, Callable[[Fleet], str]] = {"json": render_json, "markdown": render_markdown, "text": render_text}
