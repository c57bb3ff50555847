"""Cold against hot: a pass over its hot partner (one of its registers, read over and over), per read, paired by round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyperf

from cfgbench import runs
from cfgbench.compare.stats import Estimate, paired
from cfgbench.schema import HOT_PARTNER, VALUE
from cfgbench.document import format_time

ABSENT_VALUE = "0xffffffff"  # what a function that is not there answers


@dataclass(frozen=True)
class ColdHot:
    method: str
    cold: pyperf.Benchmark
    hot: pyperf.Benchmark
    estimate: Estimate | None  # cold over hot, per read; None when they were not timed in rounds


def cold_hot(suites: Mapping[str, pyperf.BenchmarkSuite]) -> list[ColdHot]:
    """Every pass with its hot partner, method by method (the suites' order)."""
    found = []
    for method, suite in suites.items():
        names = set(suite.get_benchmark_names())
        for bench in suite.get_benchmarks():
            if (hot := bench.get_metadata().get(HOT_PARTNER)) in names:
                partner = suite.get_benchmark(str(hot))
                found.append(ColdHot(method, bench, partner, paired(runs.values_by_round(partner),
                                                                    runs.values_by_round(bench))))
    return found


def lines(rows: Sequence[ColdHot]) -> list[str]:
    """One line per pass: each method's time per read cold and hot, and the paired ratio."""
    by_pass: dict[str, list[str]] = {}
    for row in rows:
        e, hot = row.estimate, row.hot.get_name().removeprefix("hot 0000:")
        kind = "absent" if row.hot.get_metadata().get(VALUE) == ABSENT_VALUE else "present"
        ratio = "" if e is None else f" = {e.ratio:.2f}x"
        interval = f", 95% CI {e.low:.2f}-{e.high:.2f}" if e is not None and e.low and e.high else ""
        by_pass.setdefault(row.cold.get_name().replace(" 0000:", " "), []).append(
            f"{row.method} {format_time(row.cold.median())} against {format_time(row.hot.median())} "
            f"({kind} {hot}){ratio}{interval}")
    return [f"{name}, per read, against one of its registers read over and over: " + "; ".join(parts)
            for name, parts in by_pass.items()]
