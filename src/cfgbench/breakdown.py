"""Where the time goes: a config read next to its accesses timed alone (the
split workload), per target and mechanism, from one method's benchmarks.

Each split benchmark records its access, label, role and mechanism (access/
base.py, SplitPart); nothing here knows a method by name:

- parts (role "part") are the accesses the read is made of: type 1's address
  write and data read, ECAM's load. The line gives each, their sum and the
  full read, and the sum's ratio to the full read;
- a floor (role "floor") is the read's path without the access, the kernel's
  pread that returns 0 bytes: gross - floor = net, the access and what the
  kernel wraps around it;
- extras (role "extra") are timed beside the read, in no sum: type 1's
  address read.

Every figure is a median: a loop value that caught the host descheduling
the guest's vCPU (ten times the others, on a busy machine) would move a mean
of 24 values by 40%. Benchmarks of one interleaved session pair by round: the
figures are then medians over the rounds all of them share, and the parts'
sum against the full read and the net (gross - floor) are taken round by
round: the median of the per-round ratios and differences, with a
distribution-free 95% interval over the rounds of one run, or the mean of the
runs' medians with a t interval over them when there are several
(compare.stats.grouped_median_interval). Per round, because the emulator and
the host change state during a run, and a round's benchmarks share the
state; the medians of the separate figures need not agree to the last digit
with the per-round median. Without shared rounds (the sequential schedule)
each figure is its benchmark's median, the ratio and the net those medians'
ratio and difference, with no interval."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyperf

from cfgbench import runs
from cfgbench.units import format_time

if TYPE_CHECKING:
    from cfgbench.compare.stats import Interval

ACCESS_KEY = "cfgbench_access"
LABEL_KEY = "cfgbench_access_label"
ROLE_KEY = "cfgbench_access_role"
MECHANISM_KEY = "cfgbench_mechanism"
TARGET_KEY = "cfgbench_target"
PART, FLOOR, EXTRA = "part", "floor", "extra"  # access/base.py's roles (no native import here)
TITLE = "where the time goes"
HOW = "medians per read; sum/full and net per paired round, with 95% intervals"


@dataclass(frozen=True)
class Share:
    """One access's time per read, as the breakdown uses it."""

    label: str
    seconds: float


@dataclass(frozen=True)
class Breakdown:
    """One target's read and one mechanism's accesses of it."""

    target: str  # the read's target, `0000:00:00.0+0x000/4`
    mechanism: str  # "type 1", "ECAM", "kernel"
    full_s: float  # the whole read (gross, for a floor)
    parts: tuple[Share, ...] = ()
    floor: Share | None = None
    extras: tuple[Share, ...] = ()
    ratio: Interval | None = None  # the per-round (sum of the parts / full read): median and 95% interval
    net: Interval | None = None  # the per-round (full read - floor), seconds: median and 95% interval
    paired: int = 0  # rounds the figures share; 0: each figure is its benchmark's median

    @property
    def sum_s(self) -> float:
        return sum(p.seconds for p in self.parts)

    @property
    def net_s(self) -> float:
        """The full read less the floor: per round where they pair."""
        if self.net is not None:
            return self.net.center
        return self.full_s - (self.floor.seconds if self.floor else 0.0)

    @property
    def sum_ratio(self) -> float:
        """The parts' sum over the full read: per round where they pair."""
        return self.ratio.center if self.ratio is not None else self.sum_s / self.full_s


def split_info(bench: pyperf.Benchmark) -> dict[str, str] | None:
    """The access a split benchmark times (access, label, role, mechanism,
    target), or None for any other benchmark."""
    md = bench.get_metadata()
    if ACCESS_KEY not in md:
        return None
    return {key: str(md.get(full, "")) for key, full in (("access", ACCESS_KEY), ("label", LABEL_KEY),
                                                          ("role", ROLE_KEY), ("mechanism", MECHANISM_KEY),
                                                          ("target", TARGET_KEY))}


def is_split(bench: pyperf.Benchmark) -> bool:
    return ACCESS_KEY in bench.get_metadata()


def display_name(bench: pyperf.Benchmark) -> str:
    """The benchmark's name with its access named as readers name it:
    `split 0000:00:00.0+0x000/4 address write (0xCF8)`."""
    info = split_info(bench)
    name = bench.get_name()
    if info is None or not info["label"]:
        return name
    return name.removesuffix(f" {info['access']}") + f" {info['label']}"


def _device(target: str) -> str:
    return target.partition("+")[0]


def _covers(part_target: str, read_target: str) -> bool:
    """A part of this read: the same target, or the read's function (per device)."""
    return part_target == read_target or ("+" not in part_target and _device(read_target) == part_target)


def breakdowns(benchmarks: Iterable[pyperf.Benchmark]) -> list[Breakdown]:
    """Every (target, mechanism) whose read and accesses the benchmarks hold."""
    benches = list(benchmarks)
    reads = {str(b.get_metadata().get(TARGET_KEY)): b for b in benches
             if not is_split(b) and b.get_metadata().get("cfgbench_workload") == "read"}
    splits = [(info, b) for b in benches if (info := split_info(b)) is not None]
    found = []
    for target, read in reads.items():
        by_mechanism: dict[str, list[tuple[dict[str, str], pyperf.Benchmark]]] = {}
        for info, bench in splits:
            if _covers(info["target"], target):
                by_mechanism.setdefault(info["mechanism"], []).append((info, bench))
        for mechanism, members in by_mechanism.items():
            if any(info["role"] in (PART, FLOOR) for info, _ in members):
                found.append(_breakdown(target, mechanism, read, members))
    return found


def _breakdown(target: str, mechanism: str, read: pyperf.Benchmark,
               members: Sequence[tuple[dict[str, str], pyperf.Benchmark]]) -> Breakdown:
    from cfgbench.compare.stats import grouped_median_interval  # scipy: only when a breakdown is made

    parts = [(i["label"], b) for i, b in members if i["role"] == PART]
    floors = [(i["label"], b) for i, b in members if i["role"] == FLOOR][:1]
    extras = tuple(Share(i["label"], b.median()) for i, b in members if i["role"] == EXTRA)
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

    shares = tuple(Share(label, median(part_rounds[i], b)) for i, (label, b) in enumerate(parts))
    floor = Share(floors[0][0], median(floor_rounds[0], floors[0][1])) if floors else None
    ratio = net = None
    if keys and parts:
        ratios = {k: sum(r[k] for r in part_rounds) / full_rounds[k] for k in keys}
        ratio = grouped_median_interval(grouped(ratios), log=True)
    if keys and floors:
        net = grouped_median_interval(grouped({k: full_rounds[k] - floor_rounds[0][k] for k in keys}))
    return Breakdown(target, mechanism, median(full_rounds, read), shares, floor, extras, ratio, net, len(keys))


def _short(target: str) -> str:
    return target.removeprefix("0000:").removesuffix("/4")


def _rests_on(interval: Interval | None) -> str:
    if interval is not None:
        return f"{interval.units} {interval.unit_name}"
    return "not paired by round"


def _bounds(interval: Interval | None, form: Callable[[float], str], joint: str) -> str:
    """'95% CI 0.91-1.02, ', or '' where there is no interval."""
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return f"95% CI {form(interval.low)}{joint}{form(interval.high)}, "


def line(b: Breakdown) -> str:
    """`00:00.0+0x000: type 1 = address write (0xCF8) 210 ns + data read (0xCFC) 290 ns (sum 500 ns,
    full read 488 ns; sum/full 1.02x, 95% CI 0.99-1.06, 24 paired rounds)`, or gross - floor = net."""
    where = f"{_short(b.target)}: {b.mechanism} = "
    if b.floor is not None:
        interval = _bounds(b.net, format_time, " to ")
        text = (f"{where}{format_time(b.full_s)} gross - {format_time(b.floor.seconds)} floor = "
                f"{format_time(b.net_s)} net ({interval}{_rests_on(b.net)}; "
                f"the floor is {b.floor.seconds / b.full_s:.0%} of the read)")
    else:
        parts = " + ".join(f"{p.label} {format_time(p.seconds)}" for p in b.parts)
        total = f"sum {format_time(b.sum_s)}, " if len(b.parts) > 1 else ""
        interval = _bounds(b.ratio, lambda x: f"{x:.2f}", "-")
        text = (f"{where}{parts} ({total}full read {format_time(b.full_s)}; "
                f"{'sum' if len(b.parts) > 1 else 'part'}/full {b.sum_ratio:.2f}x, {interval}{_rests_on(b.ratio)})")
    if b.extras:
        text += "; " + ", ".join(f"{e.label} {format_time(e.seconds)}" for e in b.extras)
    return text


def lines(benchmarks: Iterable[pyperf.Benchmark], label: str = "") -> list[str]:
    """The breakdown's lines for one method's benchmarks; none without split benchmarks."""
    found = breakdowns(benchmarks)
    if not found:
        return []
    prefix = f"{label} " if label else ""
    return [f"{prefix}{line(b)}" for b in found]


def suites_lines(suites: dict[str, pyperf.BenchmarkSuite]) -> list[str]:
    """Per method (the end of a multi-method run, of the lab): a title, then
    each method's lines; nothing without split benchmarks."""
    found = [text for method, suite in suites.items() for text in lines(suite.get_benchmarks(), method)]
    return [f"{TITLE} ({HOW}):", *(f"  {t}" for t in found)] if found else []


def as_json(b: Breakdown) -> dict[str, Any]:
    def interval(i: Interval | None) -> dict[str, float | int | str | None] | None:
        if i is None:
            return None
        return {"median": i.center, "low": i.low, "high": i.high, "confidence": 0.95, "units": i.units,
                "unit_name": i.unit_name}

    return {"target": b.target, "mechanism": b.mechanism, "full_s": b.full_s,
            "parts": [{"label": p.label, "s": p.seconds} for p in b.parts],
            "floor": {"label": b.floor.label, "s": b.floor.seconds} if b.floor else None,
            "extras": [{"label": e.label, "s": e.seconds} for e in b.extras],
            "sum_s": b.sum_s if b.parts else None, "sum_over_full": b.sum_ratio if b.parts else None,
            "sum_over_full_ci": interval(b.ratio), "net_s": b.net_s if b.floor else None,
            "net_ci": interval(b.net), "paired_rounds": b.paired, "statistic": "median"}
