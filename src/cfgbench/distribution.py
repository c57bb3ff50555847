"""Per-read percentiles from the histograms a run stores in its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cfgbench.histogram import LogHistogram

HIST_KEY = "cfgbench_dist_cycles"
OVERHEAD_KEY = "cfgbench_dist_overhead_cycles"
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
TAIL_FACTOR = 10  # "an exit that occasionally costs 10x"


@dataclass(frozen=True)
class Distribution:
    """Per-read latency in ns: raw (timestamp pair included) and with the
    median cost of the timestamp pair subtracted."""

    samples: int
    tsc_hz: int
    timestamp_ns: float
    raw_ns: dict[float, float]
    max_ns: float
    over_tail: int  # reads slower than TAIL_FACTOR x the median

    @property
    def corrected_ns(self) -> dict[float, float]:
        return {q: max(v - self.timestamp_ns, 0.0) for q, v in self.raw_ns.items()}

    def as_metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = {
            "cfgbench_dist_samples": self.samples,
            "cfgbench_timestamp_ns": round(self.timestamp_ns, 2),
            "cfgbench_max_ns": round(self.max_ns, 1),
            "cfgbench_over_10x_median": self.over_tail,
        }
        for q, value in self.raw_ns.items():
            md[f"cfgbench_p{_label(q)}_ns"] = round(value, 1)
        return md


def _label(q: float) -> str:
    return f"{q:g}".replace(".", "")  # 99.9 -> 999


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
    """The (reads, timestamp pair) histograms a benchmark holds, or None when
    it holds none or they cannot be read (a hand-edited or corrupt file)."""
    if HIST_KEY not in metadata or OVERHEAD_KEY not in metadata:
        return None
    try:
        return LogHistogram.from_json(metadata[HIST_KEY]), LogHistogram.from_json(metadata[OVERHEAD_KEY])
    except (ValueError, KeyError, TypeError):
        return None


def from_metadata(metadata: dict[str, Any]) -> Distribution | None:
    """The distribution a result file holds for a benchmark, if any."""
    histograms = histograms_from_metadata(metadata)
    tsc_hz = metadata.get("cfgbench_tsc_hz")
    if histograms is None or not isinstance(tsc_hz, int) or tsc_hz <= 0:
        return None
    return summarize(*histograms, tsc_hz)
