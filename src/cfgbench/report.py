"""Text summaries of result files: what `cfgbench run` prints and `cfgbench show` shows."""

from __future__ import annotations

import pyperf

from cfgbench import access, runs
from cfgbench.histogram import TAIL_FACTOR, Distribution
from cfgbench.schema import READS_PER_PASS, display_name, method_of
from cfgbench.document import format_time


def bench_lines(bench: pyperf.Benchmark, label: str = "") -> list[str]:
    totals = runs.totals(bench)
    values = bench.get_values()
    spread = bench.stdev() if len(values) > 1 else 0.0
    prefix = f"{label:6} " if label else ""
    null_loop = f"{totals.null_loop_ns:g} ns" if totals.null_loop_ns is not None else "not recorded"
    sessions = f", {len(totals.sessions)} runs" if len(totals.sessions) > 1 else ""
    lines = [
        f"{prefix}{display_name(bench)}: {format_time(bench.mean(), spread)} per read "
        f"(median {format_time(bench.median())}, {len(values)} values{sessions}; "
        f"{totals.mismatches} mismatches in {totals.reads} reads; harness null loop {null_loop})"
    ]
    if totals.mismatches:
        lines.append(f"    {access.mismatch_note(method_of(bench), totals.mismatches, totals.reads)}")
    per_pass = bench.get_metadata().get(READS_PER_PASS)
    if per_pass:
        lines.append(f"    one pass: {per_pass} reads, {format_time(bench.mean() * int(per_pass))}")
    dist = totals.distribution()
    if dist is not None:
        lines += distribution_lines(dist)
    return lines


def distribution_lines(dist: Distribution) -> list[str]:
    def row(name: str, values: dict[float, float]) -> str:
        cells = "  ".join(f"p{q:g} {format_time(v * 1e-9)}" for q, v in values.items())
        return f"    {name:9} {cells}"

    return [
        f"    per read ({dist.samples} timed one by one, timestamp pair {format_time(dist.timestamp_ns * 1e-9)}):",
        row("raw", dist.raw_ns),
        row("corrected", dist.corrected_ns),
        f"    max {format_time(dist.max_ns * 1e-9)}; {dist.over_tail} reads over {TAIL_FACTOR}x the median",
    ]


def suite_lines(suite: pyperf.BenchmarkSuite, label: str = "") -> list[str]:
    return [line for bench in suite.get_benchmarks() for line in bench_lines(bench, label or method_of(bench))]
