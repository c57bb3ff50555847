"""The end of `cfgbench lab` and of a multi-method `cfgbench run`: the
answer, one line per target with its interval; then the caveats, one line
each with what to do about it (one boot, emulation, unstable figures, values
in two clusters, a loop mean that the per-read median contradicts); then
each figure's own caveats, which the lab prints only when asked (-v). The
full tables are `cfgbench compare`'s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyperf

from cfgbench import access, runs
from cfgbench.compare.model import UNSTABLE_RELATIVE_STDEV, describe_clusters, is_unstable, unstable_line
from cfgbench.compare.render import factor_words, interval_words, per_run_words
from cfgbench.compare.stats import PAIRED, Clusters, Estimate, Sample, estimate, two_clusters
from cfgbench.schema import READS_PER_PASS, SCAN_FUNCTIONS, is_split
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
    details_hint: str = ""  # where each figure's caveats are when a line sums them up ("`cfgbench lab -v` lists ...")


@dataclass(frozen=True)
class Headline:
    """What a run found, for a person: `answers` one line per target,
    `caveats` one line each with what to do about it, `details` each
    figure's own caveats where a caveat sums them up."""

    answers: list[str]
    caveats: list[str]
    details: list[str]

    def lines(self, details: bool = False) -> list[str]:
        return self.answers + self.caveats + (self.details if details else [])


def short_target(name: str) -> str:
    """'read 0000:00:00.0+0x000/4' -> '00:00.0+0x000'; other workloads keep their word."""
    workload, _, target = name.partition(" ")
    target = target.removeprefix("0000:")
    if workload == "read":
        return target.removesuffix("/4")
    return f"{workload} {target}"


def _target_line(name: str, benches: Mapping[str, pyperf.Benchmark]) -> tuple[str, list[Estimate]]:
    """The line, and the estimates it gives."""
    # The registry's first method is the reference where it reaches (pio: the question is PIO against ECAM).
    methods = access.ordered(benches)
    ref = methods[0]
    parts, estimates = [], []
    for method in methods[1:]:
        e = estimate(benches[ref], benches[method])
        estimates.append(e)
        details = "; ".join(p for p in (interval_words(e), per_run_words(e)) if p)
        if not e.significant and e.p_value is not None:
            details += "; not significant"
        parts.append(f"{method} {factor_words(e)} than {ref} ({details})")
    if not parts:
        only = benches[ref]
        return f"{short_target(name)}: {ref} {format_time(only.median())} (no other method reaches it)", []
    return f"{short_target(name)}: " + "; ".join(parts) + _pass_words(benches), estimates


def _pass_words(benches: Mapping[str, pyperf.Benchmark]) -> str:
    """A scan's pass as the kernel's enumeration pays it, per method: over the
    window's buses (the default) the functions found are the machine's own, so
    the pio and mmio figures are its enumeration reads in the kernel's order
    (type 1 below 0x100) and in ECAM only."""
    metadata = next(iter(benches.values())).get_metadata()
    reads, functions = metadata.get(READS_PER_PASS), metadata.get(SCAN_FUNCTIONS)
    if not reads or not functions:
        return ""
    costs = [f"{method} {format_time(b.median() * int(reads))} ({format_time(b.median() * int(reads) / int(functions))} "
             "per function)" for method, b in ((m, benches[m]) for m in access.ordered(benches))]
    return f"; a pass of {int(reads):,} reads finds {int(functions)} functions: {', '.join(costs)}"


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


def _summed_up(listed: list[str], summary: str) -> tuple[list[str], list[str]]:
    """(caveats, details): the lines themselves when they are few, else one line and the lines as details."""
    return (listed, []) if len(listed) <= MAX_LISTED else ([summary], listed)


def _hint(context: HeadlineContext) -> str:
    return f"; {context.details_hint}" if context.details_hint else ""


def _unstable_lines(found: list[tuple[str, Sample]], context: HeadlineContext) -> tuple[list[str], list[str]]:
    listed = [line for where, sample in found if (line := unstable_line(where, sample, context.values_advice))]
    examples = ", ".join(f"{where} {sample.std / sample.mean:.0%}" for where, sample in found[:MAX_LISTED])
    return _summed_up(listed, f"{len(found)} figures are unstable (std dev over {UNSTABLE_RELATIVE_STDEV:.0%} of the "
                              f"mean: {examples}, ...): {context.values_advice}{_hint(context)}")


def _cluster_lines(found: list[tuple[str, Clusters]], context: HeadlineContext) -> tuple[list[str], list[str]]:
    listed = [describe_clusters(where, clusters) for where, clusters in found]
    if not found:
        return [], []
    factors = [c.high / c.low for _, c in found]
    where, example = found[0]
    return _summed_up(listed, f"{len(found)} figures fall into two clusters {min(factors):.2f}-{max(factors):.2f}x apart "
                              f"(e.g. {where}: {format_time(example.low)} and {format_time(example.high)}): the machine "
                              "switched state during the run; the values of one round met the same state, which the "
                              f"paired ratios above cancel{_hint(context)}")


def _speed_line(unstable: list[tuple[str, Sample]], clustered: list[tuple[str, Clusters]],
                context: HeadlineContext) -> str:
    """Under TCG every figure moves with the machine: one line says so, instead of one per figure."""
    said = []
    if unstable:
        said.append(f"{len(unstable)} figures vary by over {UNSTABLE_RELATIVE_STDEV:.0%} of their mean")
    if clustered:
        said.append(f"{len(clustered)} fall into two clusters up to {max(c.high / c.low for _, c in clustered):.2f}x "
                    "apart")
    return (f"this machine changes speed during a run ({', '.join(said)}): each round times every method at the "
            "same speed, so the paired ratios above cancel it; compare ratios, not times" + _hint(context))


def _per_read_lines(listed: list[str], context: HeadlineContext) -> tuple[list[str], list[str]]:
    return _summed_up(listed, f"{len(listed)} loop means disagree with their per-read median by more than their "
                              f"spread (e.g. {listed[0].split(':')[0]}); the headline uses the loop values"
                              f"{_hint(context)}" if listed else "")


def summarize(suites: Mapping[str, pyperf.BenchmarkSuite], context: HeadlineContext) -> Headline:
    """One line per target, then the caveats, then each figure's own. Split
    benchmarks (one access of a read, one method's own) have their lines in
    the breakdown instead."""
    by_target: dict[str, dict[str, pyperf.Benchmark]] = {}
    for method, suite in suites.items():
        for bench in suite.get_benchmarks():
            if not is_split(bench):
                by_target.setdefault(bench.get_name(), {})[method] = bench
    answers, per_read, estimates = [], [], []
    unstable: list[tuple[str, Sample]] = []
    clustered: list[tuple[str, Clusters]] = []
    for name, benches in by_target.items():
        line, found = _target_line(name, benches)
        answers.append(line)
        estimates += found
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
    caveats, details = [], []
    if max((len(e.per_run) for e in estimates), default=1) <= 1 and context.between_units_note:
        caveats.append(f"one {context.unit}: the intervals above are within it; {context.between_units_note}")
    if context.accel == "tcg":
        caveats.append("under TCG these are QEMU's emulation costs, not VM exits: they show the mechanism "
                       "(two port accesses against one load), not a hypervisor's price; KVM or bare metal give "
                       "that (`cfgbench lab --accel kvm` where the CPU allows)")
    paired = bool(estimates) and all(e.design == PAIRED for e in estimates)
    if context.accel == "tcg" and paired and (unstable or clustered):
        caveats.append(_speed_line(unstable, clustered, context))
        details += [text for where, sample in unstable if (text := unstable_line(where, sample, context.values_advice))]
        details += [describe_clusters(where, clusters) for where, clusters in clustered]
    else:
        for more_caveats, more_details in (_unstable_lines(unstable, context), _cluster_lines(clustered, context)):
            caveats += more_caveats
            details += more_details
    more_caveats, more_details = _per_read_lines(per_read, context)
    return Headline(answers, caveats + more_caveats, details + more_details)


def headline(suites: Mapping[str, pyperf.BenchmarkSuite], context: HeadlineContext) -> list[str]:
    """The answers and the caveats."""
    return summarize(suites, context).lines()
