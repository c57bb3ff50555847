"""What the files hold for one target, ready to draw: values, the per-read ECDF, the breakdowns of a split read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyperf

from cfgbench import runs
from cfgbench.compare.breakdown import Breakdown, breakdowns
from cfgbench.compare.files import ResultFile
from cfgbench.plot.style import file_color, series_label
from cfgbench.schema import is_split, target_of

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TargetValues:
    label: str
    values: np.ndarray  # pyperf's: seconds per read, each the mean of a timed loop
    color: str  # one colour per file, the same in every panel
    reads: tuple[np.ndarray, np.ndarray] | None = None  # the ECDF of reads timed one by one (seconds, fraction)
    breakdowns: tuple[Breakdown, ...] = ()


def target_names(files: Sequence[ResultFile]) -> list[str]:
    """Every target of every file, in order of first appearance; split benchmarks are parts of a read, not targets."""
    return list(dict.fromkeys(name for f in files for name, bench in f.benchmarks.items() if not is_split(bench)))


def read_ecdf(bench: pyperf.Benchmark) -> tuple[np.ndarray, np.ndarray] | None:
    """Over every run's histogram, in seconds."""
    ecdf = runs.totals(bench).read_ecdf()
    if ecdf is None:
        return None
    seconds, fraction = ecdf
    keep = seconds > 0  # a 0-cycle bucket has no place on a log axis
    if not keep.any():
        return None
    return seconds[keep], fraction[keep]


FileBreakdowns = dict[str, tuple[Breakdown, ...]]  # read benchmark name -> its breakdowns


def file_breakdowns(result: ResultFile) -> FileBreakdowns:
    """Each read benchmark's breakdowns, computed once for the file."""
    found = breakdowns(result.benchmarks.values())
    by_name = {}
    for name, bench in result.benchmarks.items():
        if not is_split(bench):
            read_target = target_of(bench)
            if mine := tuple(b for b in found if b.target == read_target):
                by_name[name] = mine
    return by_name


def series_for(files: Sequence[ResultFile], target: str,
               breakdowns: Sequence[FileBreakdowns] | None = None) -> list[TargetValues]:
    """One series per file that holds target; breakdowns (file_breakdowns per file) only where they are drawn."""
    import numpy as np

    return [TargetValues(series_label(f), np.asarray(f.benchmarks[target].get_values(), dtype=float), file_color(files, i),
                         read_ecdf(f.benchmarks[target]), breakdowns[i].get(target, ()) if breakdowns else ())
            for i, f in enumerate(files) if target in f.benchmarks]
