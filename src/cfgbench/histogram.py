"""Per-read latencies: log-spaced buckets of a fixed relative precision (no numpy: slow to import), and percentiles."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cfgbench.schema import DIST_CYCLES, DIST_OVERHEAD_CYCLES

if TYPE_CHECKING:
    import numpy as np

DEFAULT_PRECISION = 0.01
ZERO_BUCKET = -1  # values below 1 (a 0-cycle delta)
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
TAIL_FACTOR = 10  # "an exit that occasionally costs 10x"


@dataclass
class LogHistogram:
    precision: float = DEFAULT_PRECISION
    counts: dict[int, int] = field(default_factory=dict)
    max_value: float = 0.0

    @classmethod
    def from_samples(cls, samples: Iterable[float], precision: float = DEFAULT_PRECISION) -> LogHistogram:
        hist = cls(precision)
        hist.add_samples(samples)
        return hist

    def add_samples(self, samples: Iterable[float]) -> None:
        log_base = math.log1p(self.precision)
        counts: Counter[int] = Counter()
        largest = self.max_value
        for value in samples:
            counts[math.floor(math.log(value) / log_base) if value >= 1 else ZERO_BUCKET] += 1
            largest = max(largest, value)
        for bucket, count in counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.max_value = float(largest)

    def merge(self, other: LogHistogram) -> None:
        if other.precision != self.precision:
            raise ValueError("cannot merge histograms of different precision")
        for bucket, count in other.counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.max_value = max(self.max_value, other.max_value)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lower_bound(self, bucket: int) -> float:
        return 0.0 if bucket == ZERO_BUCKET else (1 + self.precision) ** bucket

    def representative(self, bucket: int) -> float:
        """Within precision/2 of every value in the bucket."""
        if bucket == ZERO_BUCKET:
            return 0.0
        return self.lower_bound(bucket) * (1 + self.precision / 2)

    def percentile(self, q: float) -> float:
        """Nearest rank."""
        total = self.total
        if total == 0:
            return math.nan
        rank = max(1, math.ceil(q / 100 * total))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return min(self.representative(bucket), self.max_value)
        return self.max_value

    def count_above(self, threshold: float) -> int:
        return sum(c for b, c in self.counts.items() if self.lower_bound(b) > threshold)

    def ecdf(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, cumulative fraction) at each bucket, for plots."""
        import numpy as np

        buckets = sorted(self.counts)
        values = np.array([self.representative(b) for b in buckets])
        cumulative = np.cumsum([self.counts[b] for b in buckets]) / max(self.total, 1)
        return values, cumulative

    def to_json(self) -> str:
        """One line, no spaces: pyperf metadata values may not hold newlines."""
        data = {"p": self.precision, "max": self.max_value, "b": sorted(self.counts.items())}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LogHistogram:
        data = json.loads(text)
        return cls(float(data["p"]), {int(b): int(c) for b, c in data["b"]}, float(data["max"]))


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


def distribution_of(hist: LogHistogram, overhead: LogHistogram, tsc_hz: int) -> Distribution:
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
