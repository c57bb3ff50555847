"""The end of `cfgbench lab` and of a multi-method `cfgbench run`: one line
per target with the answer and its interval, then one line per thing to
distrust (unstable figures, values in two clusters, a loop mean that the
per-read median contradicts). The full tables are `cfgbench compare`'s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyperf

from cfgbench import access, runs
from cfgbench.compare.model import UNSTABLE_RELATIVE_STDEV, describe_clusters, is_unstable, unstable_line
from cfgbench.compare.render import factor_words, interval_words, per_run_words
from cfgbench.compare.stats import Clusters, Sample, estimate, two_clusters
from cfgbench.schema import is_split
from cfgbench.units import format_time

# The loop mean and the per-read median "disagree" beyond this share of the
# mean, on top of twice the loop values' std dev (fences and TSC steps move
# single-read figures by ~10% under TCG: results/README.md), and of a tenth
# of the timestamp pair's cost (below that, one read is not resolved).
PER_READ_SLACK = 0.10
TIMESTAMP_RESOLUTION_SHARE = 0.1


@dataclass(frozen=True)
class HeadlineContext:
    unit: str = "run"  # "boot" in the lab
    values_advice: str = "record more values (--values, --processes)"
    accel: str | None = None  # "tcg": the figures are emulation costs
    between_units_note: str = ""  # shown when the answer rests on one unit


def short_target(name: str) -> str:
    """'read 0000:00:00.0+0x000/4' -> '00:00.0+0x000'; other workloads keep their word."""
    workload, _, target = name.partition(" ")
    target = target.removeprefix("0000:")
    if workload == "read":
        return target.removesuffix("/4")
    return f"{workload} {target}"


def _target_line(name: str, benches: Mapping[str, pyperf.Benchmark], context: HeadlineContext) -> tuple[str, int]:
    """The line, and how many runs (boots) its intervals rest on."""
    # The registry's first method is the reference where it reaches (pio: the question is PIO against ECAM).
    methods = access.ordered(benches)
    ref = methods[0]
    parts, units = [], 1
    for method in methods[1:]:
        e = estimate(benches[ref], benches[method])
        units = max(units, len(e.per_run))
        details = "; ".join(p for p in (interval_words(e), per_run_words(e)) if p)
        if not e.significant and e.p_value is not None:
            details += "; not significant"
        parts.append(f"{method} {factor_words(e)} than {ref} ({details})")
    if not parts:
        only = benches[ref]
        return f"{short_target(name)}: {ref} {format_time(only.median())} (no other method reaches it)", 1
    return f"{short_target(name)}: " + "; ".join(parts), units


def _per_read_line(method: str, name: str, bench: pyperf.Benchmark) -> str | None:
    dist = runs.totals(bench).distribution()
    values = bench.get_values()
    if dist is None or len(values) < 2:
        return None
    loop_mean, spread = bench.mean(), bench.stdev()
    per_read = dist.corrected_ns[50.0] * 1e-9
    resolution = TIMESTAMP_RESOLUTION_SHARE * dist.timestamp_ns * 1e-9
    if abs(loop_mean - per_read) <= 2 * spread + PER_READ_SLACK * loop_mean + resolution:
        return None
    return (f"{method} {short_target(name)}: the loop mean {format_time(loop_mean)} and the per-read median "
            f"{format_time(per_read)} disagree by more than their spread; the headline uses the loop values")


# Past this many figures, a caveat is one line for all of them: when the whole
# machine changes speed, forty lines saying so would bury the answer.
MAX_LISTED = 3


def _unstable_lines(found: list[tuple[str, Sample]], context: HeadlineContext) -> list[str]:
    if len(found) <= MAX_LISTED:
        return [line for where, sample in found if (line := unstable_line(where, sample, context.values_advice))]
    listed = ", ".join(f"{where} {sample.std / sample.mean:.0%}" for where, sample in found[:MAX_LISTED])
    return [f"{len(found)} figures are unstable (std dev over {UNSTABLE_RELATIVE_STDEV:.0%} of the mean: {listed}, "
            f"...): {context.values_advice}"]


def _cluster_lines(found: list[tuple[str, Clusters]]) -> list[str]:
    if len(found) <= MAX_LISTED:
        return [describe_clusters(where, clusters) for where, clusters in found]
    factors = [c.high / c.low for _, c in found]
    where, example = found[0]
    return [f"{len(found)} figures fall into two clusters {min(factors):.2f}-{max(factors):.2f}x apart (e.g. {where}: "
            f"{format_time(example.low)} and {format_time(example.high)}): the machine switched state during the "
            "run; the values of one round met the same state, which the paired ratios above cancel"]


def headline(suites: Mapping[str, pyperf.BenchmarkSuite], context: HeadlineContext) -> list[str]:
    """One line per target, then the caveats. Split benchmarks (one access of
    a read, one method's own) have their lines in the breakdown instead."""
    by_target: dict[str, dict[str, pyperf.Benchmark]] = {}
    for method, suite in suites.items():
        for bench in suite.get_benchmarks():
            if not is_split(bench):
                by_target.setdefault(bench.get_name(), {})[method] = bench
    lines, per_read, most_units = [], [], 1
    unstable: list[tuple[str, Sample]] = []
    clustered: list[tuple[str, Clusters]] = []
    for name, benches in by_target.items():
        line, units = _target_line(name, benches, context)
        lines.append(line)
        most_units = max(most_units, units)
        for method, bench in benches.items():
            where = f"{method} {short_target(name)}"
            sample = Sample.of(bench)
            if is_unstable(sample):
                unstable.append((where, sample))
            if (disagreement := _per_read_line(method, name, bench)) is not None:
                per_read.append(disagreement)
            for values in runs.values_by_session(bench).values():
                if (clusters := two_clusters(values)) is not None:
                    clustered.append((where, clusters))
    if most_units == 1 and context.between_units_note:
        lines.append(f"one {context.unit}: the intervals above are within it; {context.between_units_note}")
    if context.accel == "tcg":
        lines.append("under TCG these are QEMU's emulation costs, not VM exits: they show the mechanism "
                     "(two port accesses against one load), not a hypervisor's price")
    return lines + _unstable_lines(unstable, context) + _cluster_lines(clustered) + per_read
