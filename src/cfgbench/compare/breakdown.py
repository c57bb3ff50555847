"""Where the time goes: a read beside its accesses timed alone, per target and mechanism; no method by name."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyperf

from cfgbench import runs
from cfgbench.compare.stats import Estimate, Interval, grouped_median_interval, paired
from cfgbench.schema import (EXTRA, FLOOR, KERNEL_PATH, PART, READ_WORKLOAD, SplitInfo, is_split, split_info, target_of,
                             workload_of)

PATH_WORDS = {"type1": "type 1", "ecam": "ECAM"}


@dataclass(frozen=True)
class AccessTime:
    label: str
    seconds: float


@dataclass(frozen=True)
class Breakdown:
    target: str  # the read's target, `0000:00:00.0+0x000/4`
    mechanism: str  # whose read: type 1, ECAM, kernel
    full_s: float  # the whole read (gross, for a floor)
    parts: tuple[AccessTime, ...] = ()
    floor: AccessTime | None = None
    extras: tuple[AccessTime, ...] = ()
    ratio: Interval | None = None  # per round: sum of the parts / full read
    net: Interval | None = None  # per round: full read - floor, seconds
    paired: int = 0  # rounds the figures share; 0: each figure is its benchmark's median

    @property
    def sum_s(self) -> float:
        return sum(p.seconds for p in self.parts)

    @property
    def net_s(self) -> float:
        if self.net is not None:
            return self.net.center
        return self.full_s - (self.floor.seconds if self.floor else 0.0)

    @property
    def sum_ratio(self) -> float:
        return self.ratio.center if self.ratio is not None else self.sum_s / self.full_s


def _device(target: str) -> str:
    return target.partition("+")[0]


def breakdowns(benchmarks: Iterable[pyperf.Benchmark]) -> list[Breakdown]:
    benches = list(benchmarks)
    reads = {target_of(b): b for b in benches if not is_split(b) and workload_of(b) == READ_WORKLOAD}
    splits = [(info, b) for b in benches if (info := split_info(b)) is not None]
    found = []
    for target, read in reads.items():
        by_mechanism: dict[str, list[tuple[SplitInfo, pyperf.Benchmark]]] = {}
        for info, bench in splits:
            if info.target == target or ("+" not in info.target and _device(target) == info.target):  # or per device
                by_mechanism.setdefault(info.mechanism, []).append((info, bench))
        for mechanism, members in by_mechanism.items():
            # A floor is the kernel's: the label says which of its two paths the read took.
            path = PATH_WORDS.get(str(read.get_metadata().get(KERNEL_PATH))) if any(i.role == FLOOR for i, _ in members) else None
            if any(info.role in (PART, FLOOR) for info, _ in members):
                found.append(_breakdown(target, f"{mechanism} ({path})" if path else mechanism, read, members))
    return found


def _breakdown(target: str, mechanism: str, read: pyperf.Benchmark,
               members: Sequence[tuple[SplitInfo, pyperf.Benchmark]]) -> Breakdown:
    parts = [(i.label, b) for i, b in members if i.role == PART]
    floors = [(i.label, b) for i, b in members if i.role == FLOOR][:1]
    extras = tuple(AccessTime(i.label, b.median()) for i, b in members if i.role == EXTRA)
    paired = [read, *(b for _, b in parts + floors)]
    by_round = [runs.values_by_round(b) for b in paired]
    keys = sorted(set.intersection(*(set(r) for r in by_round)))
    full_rounds, *member_rounds = by_round
    part_rounds, floor_rounds = member_rounds[:len(parts)], member_rounds[len(parts):]

    def median(rounds: dict[tuple[str, int], float], bench: pyperf.Benchmark) -> float:
        return statistics.median(rounds[k] for k in keys) if keys else bench.median()

    def grouped(per_round: dict[tuple[str, int], float]) -> dict[str, list[float]]:
        groups: dict[str, list[float]] = {}
        for (session, _), value in sorted(per_round.items()):
            groups.setdefault(session, []).append(value)
        return groups

    shares = tuple(AccessTime(label, median(part_rounds[i], b)) for i, (label, b) in enumerate(parts))
    floor = AccessTime(floors[0][0], median(floor_rounds[0], floors[0][1])) if floors else None
    ratio = net = None
    if keys and parts:
        ratios = {k: sum(r[k] for r in part_rounds) / full_rounds[k] for k in keys}
        ratio = grouped_median_interval(grouped(ratios), log=True)
    if keys and floors:
        net = grouped_median_interval(grouped({k: full_rounds[k] - floor_rounds[0][k] for k in keys}))
    return Breakdown(target, mechanism, median(full_rounds, read), shares, floor, extras, ratio, net, len(keys))


@dataclass(frozen=True)
class KernelPaths:
    """The kernel's two paths to one function, each net of the floor: below 0x100 (type 1) against from 0x100 (ECAM)."""

    device: str
    type1_target: str
    ecam_target: str
    type1_net_s: float  # medians over the paired rounds
    ecam_net_s: float
    ratio: Estimate  # type 1 net / ECAM net, paired by round


def kernel_paths(benchmarks: Iterable[pyperf.Benchmark]) -> list[KernelPaths]:
    benches = list(benchmarks)
    floors = {info.target: b for b in benches if (info := split_info(b)) is not None and info.role == FLOOR}
    reads: dict[tuple[str, str], tuple[str, pyperf.Benchmark]] = {}
    for bench in benches:
        path = bench.get_metadata().get(KERNEL_PATH)
        if not is_split(bench) and workload_of(bench) == READ_WORKLOAD and path is not None:
            reads.setdefault((_device(target_of(bench)), str(path)), (target_of(bench), bench))
    found = []
    for device, floor in floors.items():
        if (device, "type1") not in reads or (device, "ecam") not in reads:
            continue
        (t1_target, t1), (ecam_target, ecam) = reads[(device, "type1")], reads[(device, "ecam")]
        rounds = [runs.values_by_round(b) for b in (floor, t1, ecam)]
        keys = set.intersection(*(set(r) for r in rounds))
        nets = {k: (rounds[1][k] - rounds[0][k], rounds[2][k] - rounds[0][k]) for k in keys}
        nets = {k: n for k, n in nets.items() if n[0] > 0 and n[1] > 0}  # a ratio needs both nets positive
        estimate = paired({k: n[1] for k, n in nets.items()}, {k: n[0] for k, n in nets.items()})
        if estimate is not None:
            found.append(KernelPaths(device, t1_target, ecam_target, statistics.median(n[0] for n in nets.values()),
                                     statistics.median(n[1] for n in nets.values()), estimate))
    return found
