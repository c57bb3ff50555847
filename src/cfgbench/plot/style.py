"""What every figure shares: colours, labels, time axes, and each target's series ready to draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyperf

from cfgbench import access, runs
from cfgbench.compare.breakdown import Breakdown, breakdowns
from cfgbench.compare.files import ResultFile
from cfgbench.platform import hypervisor_name
from cfgbench.schema import is_split, target_of

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes

LOG_SCALE_SPAN = 10.0  # beyond this max/min ratio a linear axis squashes the fast files into a line

LOG_LABEL_STEPS_MAX_DECADES = 2.5


def file_color(files: Sequence[ResultFile], index: int) -> str:
    """Its method's colour when no other file has that method, else one per file."""
    methods = [f.env.get("method", "") for f in files]
    method = methods[index]
    return access.color_of(method) if methods.count(method) == 1 else f"C{index % 10}"


def env_caption(result: ResultFile) -> str:
    env = result.env
    how = env.get("lab accel") or hypervisor_name(env.get("hypervisor"))
    parts = [env.get("environment"), how if how != "none" else None]
    return " · ".join(p for p in parts if p)


def series_label(result: ResultFile) -> str:
    # One line per part, so that five files fit side by side under a panel.
    label = result.label.replace(" (", "\n(", 1)
    caption = env_caption(result)
    return f"{label}\n{caption}" if caption else label


def one_line(label: str) -> str:
    """A series label for a legend: `pio (guest) · guest · kvm`."""
    return label.replace("\n(", " (").replace("\n", " · ")


def suptitle(files: Sequence[ResultFile], title: str = "cfgbench: time per config read") -> str:
    """The title, and what every file shares (where it ran, the kernel, the CPU)."""
    shared = [f"{label} {value}" for label, value in files[0].env.items()
              if label in ("kernel release", "CPU") and all(f.env.get(label) == value for f in files)]
    where = {env_caption(f) for f in files}
    if len(where) == 1 and (caption := where.pop()):
        shared.insert(0, caption)
    return title + (f"\n{'; '.join(shared)}" if shared else "")


def time_axis(ax: Axes, axis: str, log: bool, label: str = "time per read") -> None:
    import numpy as np
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    if log:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
        # 1-2-5 steps over a decade or two, which would get one or two labels; beyond, labels would collide.
        subs = (1.0, 2.0, 5.0) if np.log10(high / low) <= LOG_LABEL_STEPS_MAX_DECADES else (1.0,)
        target.set_major_locator(LogLocator(subs=subs))
        target.set_minor_formatter(NullFormatter())
    target.set_major_formatter(EngFormatter(unit="s"))
    text = label + (" (log scale)" if log else "")
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(text)


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


def file_breakdowns(result: ResultFile, found: Sequence[Breakdown] | None = None) -> FileBreakdowns:
    """Each read benchmark's breakdowns, computed once for the file (or given: a report's)."""
    found = breakdowns(result.benchmarks.values()) if found is None else found
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
