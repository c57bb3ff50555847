"""Change points in a performance history, found by Apache Otava.

Otava's detector (Fleming et al., "Hunter: Using Change Point Detection to Hunt
for Performance Regressions", ICPE 2023) runs E-divisive over sliding windows,
then merges weak candidates away until every change left splits the series into
parts a two-sided t-test calls different (p < max_pvalue). It is made for CI
histories: few points, a few % of noise, a change possibly at the last point.
docs/ci-history.md says why this library and not another.

Otava pulls in numpy and scipy: imported only when a history is analysed, never
by `cfgbench run`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cfgbench.errors import CfgbenchError

# Otava's own defaults (its CLI's --max-pvalue and the window of compute_change_points).
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_WINDOW = 50
# Below this a change is merged away however significant: with 2% of noise from
# run to run, 3.5% of flat 10-run series showed a 2-5% "change" without it, and
# none with it (docs/ci-history.md). The same 5% as the CI gate's median:5%.
DEFAULT_MIN_CHANGE = 0.05
# A change needs a point on each side; Otava finds nothing in shorter series anyway.
MIN_POINTS = 3


@dataclass(frozen=True)
class ChangePoint:
    """The series changes level between point index-1 and point index."""

    index: int
    before: float  # mean of the segment before, in the series' unit
    after: float  # mean of the segment after
    pvalue: float  # t-test of the two segments

    @property
    def change(self) -> float:
        """Relative change: +0.15 is 15% slower (values are times)."""
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
    """Change points of a series in time order (e.g. one median per CI run).

    `min_change` is Otava's min_magnitude: a significant change smaller than
    this fraction (0.02 = 2%) is merged away too.
    """
    if len(values) < MIN_POINTS:
        return []
    detect = _otava_detector()
    # Scaled to about 1: seconds per read are ~1e-7, and nothing should hinge on that.
    scale = statistics.median(values) or 1.0
    found, _weak = detect([v / scale for v in values], window_len=window, max_pvalue=max_pvalue,
                          min_magnitude=min_change)
    return [ChangePoint(int(cp.index), float(cp.stats.mean_1) * scale, float(cp.stats.mean_2) * scale,
                        float(cp.stats.pvalue))
            for cp in found]
