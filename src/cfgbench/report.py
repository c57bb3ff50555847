"""Text summaries of result files: what `cfgbench run` prints and `cfgbench show` shows."""

from __future__ import annotations

import pyperf

from cfgbench import breakdown, distribution, runs
from cfgbench.units import format_time


def bench_lines(bench: pyperf.Benchmark, label: str = "") -> list[str]:
    md = bench.get_metadata()
    totals = runs.totals(bench)
    values = bench.get_values()
    spread = bench.stdev() if len(values) > 1 else 0.0
    prefix = f"{label:6} " if label else ""
    floor = f"{totals.floor_ns:g} ns" if totals.floor_ns is not None else "not recorded"
    sessions = f", {len(totals.sessions)} runs" if len(totals.sessions) > 1 else ""
    lines = [
        f"{prefix}{breakdown.display_name(bench)}: {format_time(bench.mean(), spread)} per read "
        f"(median {format_time(bench.median())}, {len(values)} values{sessions}; "
        f"{totals.mismatches} mismatches in {totals.reads} reads; harness floor {floor})"
    ]
    if totals.mismatches:
        lines.append(f"    {mismatch_note(str(md.get('cfgbench_method', '')), totals.mismatches, totals.reads)}")
    per_pass = md.get("cfgbench_reads_per_pass")
    if per_pass:
        lines.append(f"    one pass: {per_pass} reads, {format_time(bench.mean() * int(per_pass))}")
    dist = totals.distribution()
    if dist is not None:
        lines += distribution_lines(dist)
    return lines


def mismatch_note(method: str, mismatches: int, reads: int) -> str:
    """What mismatches mean: for pio, evidence that the kernel interleaved."""
    if method == "pio":
        return (f"WARNING: {mismatches} of {reads} reads returned another value: a kernel config access on another "
                "CPU interleaved with cfgbench's 0xCF8 writes, and kernel accesses may have been misdirected "
                "(docs/safety.md)")
    return f"WARNING: {mismatches} of {reads} reads returned another value: the register changed during the run"


def distribution_lines(dist: distribution.Distribution) -> list[str]:
    def row(name: str, values: dict[float, float]) -> str:
        cells = "  ".join(f"p{q:g} {format_time(v * 1e-9)}" for q, v in values.items())
        return f"    {name:9} {cells}"

    return [
        f"    per read ({dist.samples} timed one by one, timestamp pair {format_time(dist.timestamp_ns * 1e-9)}):",
        row("raw", dist.raw_ns),
        row("corrected", dist.corrected_ns),
        f"    max {format_time(dist.max_ns * 1e-9)}; {dist.over_tail} reads over {distribution.TAIL_FACTOR}x the median",
    ]


def suite_lines(suite: pyperf.BenchmarkSuite, label: str = "") -> list[str]:
    lines: list[str] = []
    for bench in suite.get_benchmarks():
        lines += bench_lines(bench, label or str(bench.get_metadata().get("cfgbench_method", "")))
    return lines


def breakdown_lines(suite: pyperf.BenchmarkSuite) -> list[str]:
    """`cfgbench show`: where the time goes, when the file holds split benchmarks."""
    found = breakdown.lines(suite.get_benchmarks())
    if not found:
        return []
    return [f"{breakdown.TITLE} ({breakdown.HOW}):", *(f"  {line}" for line in found)]
