"""Change points in a performance history, found by Apache Otava (docs/ci-history.md says why it and how)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cfgbench.errors import CfgbenchError

# Otava's own defaults.
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_WINDOW = 50
DEFAULT_MIN_CHANGE = 0.05  # smaller changes are merged away however significant: the gate's median:5%
MIN_POINTS = 3  # a change needs a point on each side


@dataclass(frozen=True)
class ChangePoint:
    """The series changes level between point index - 1 and point index."""

    index: int
    before: float  # mean of the segment before, in the series' unit
    after: float  # mean of the segment after
    pvalue: float  # t-test of the two segments

    @property
    def change(self) -> float:
        """+0.15 is 15% slower."""
        return self.after / self.before - 1.0


def _otava_detector() -> Callable[..., Any]:
    try:
        from otava.analysis import compute_change_points
    except ImportError:
        raise CfgbenchError("finding change points needs apache-otava, which is not installed",
                            "pip install 'cfgbench[history]'") from None
    return compute_change_points


def find_change_points(values: Sequence[float], max_pvalue: float = DEFAULT_MAX_PVALUE,
                       min_change: float = DEFAULT_MIN_CHANGE, window: int = DEFAULT_WINDOW) -> list[ChangePoint]:
    """Of a series in time order (one median per CI run); `min_change` is Otava's min_magnitude."""
    if len(values) < MIN_POINTS:
        return []
    detect = _otava_detector()
    # Scaled to about 1: nothing should hinge on seconds per read being ~1e-7.
    scale = statistics.median(values) or 1.0
    found, _weak = detect([v / scale for v in values], window_len=window, max_pvalue=max_pvalue,
                          min_magnitude=min_change)
    return [ChangePoint(int(cp.index), float(cp.stats.mean_1) * scale, float(cp.stats.mean_2) * scale,
                        float(cp.stats.pvalue))
            for cp in found]
