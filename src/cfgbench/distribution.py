"""Per-read percentiles from the histograms a run stores in its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cfgbench.histogram import LogHistogram
from cfgbench.schema import DIST_CYCLES, DIST_OVERHEAD_CYCLES

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
TAIL_FACTOR = 10  # "an exit that occasionally costs 10x"


@dataclass(frozen=True)
class Distribution:
    """Per-read latency in ns: raw (timestamp pair included), and corrected by the pair's median cost."""

    samples: int
    tsc_hz: int
    timestamp_ns: float
    raw_ns: dict[float, float]
    max_ns: float
    over_tail: int  # reads slower than TAIL_FACTOR x the median

    @property
    def corrected_ns(self) -> dict[float, float]:
        return {q: max(v - self.timestamp_ns, 0.0) for q, v in self.raw_ns.items()}


def summarize(hist: LogHistogram, overhead: LogHistogram, tsc_hz: int) -> Distribution:
    per_cycle_ns = 1e9 / tsc_hz
    median = hist.percentile(50)
    return Distribution(
        samples=hist.total,
        tsc_hz=tsc_hz,
        timestamp_ns=overhead.percentile(50) * per_cycle_ns,
        raw_ns={q: hist.percentile(q) * per_cycle_ns for q in PERCENTILES},
        max_ns=hist.max_value * per_cycle_ns,
        over_tail=hist.count_above(TAIL_FACTOR * median),
    )


def histograms_from_metadata(metadata: dict[str, Any]) -> tuple[LogHistogram, LogHistogram] | None:
    """The (reads, timestamp pair) histograms, or None where there are none or they cannot be read."""
    if DIST_CYCLES not in metadata or DIST_OVERHEAD_CYCLES not in metadata:
        return None
    try:
        return LogHistogram.from_json(metadata[DIST_CYCLES]), LogHistogram.from_json(metadata[DIST_OVERHEAD_CYCLES])
    except (ValueError, KeyError, TypeError):
        return None
