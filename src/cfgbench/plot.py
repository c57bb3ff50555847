"""matplotlib figures from result files: one row per target, one column per panel;
and a history's trend (`plot --history`): one row per target, medians over CI runs.

Only the object-oriented API on an Agg canvas: no pyplot state, no display.
A panel is a function drawing one target's series on one Axes; PANELS maps
names to them, so a new view (such as per-read ECDFs from histograms, issue 5)
is one function and one dict entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyperf

from cfgbench import access, runs
from cfgbench.compare.breakdown import Breakdown, breakdowns
from cfgbench.compare.files import ResultFile, load_result_files
from cfgbench.errors import CfgbenchError
from cfgbench.results import write_new
from cfgbench.schema import display_name, is_split, target_of
from cfgbench.units import format_time

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes

    from cfgbench.history.trend import HistoryReport, Trend
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

# Beyond this max/min ratio a linear axis squashes the fast files into a line:
# a guest at tens of microseconds next to bare metal at hundreds of nanoseconds.
LOG_SCALE_SPAN = 10.0

LOG_LABEL_STEPS_MAX_DECADES = 2.5

DEFAULT_WIDTH_PX = 1200
EXTRA_PANEL_WIDTH_PX = 600
HEIGHT_PER_TARGET_PX = 450


@dataclass(frozen=True)
class TargetValues:
    """One file's values for one target, ready to draw.

    `values` are pyperf's values (seconds per read, each the mean of a timed
    loop); `reads` is the ECDF of reads timed one by one (seconds, fraction),
    from the run's per-read histogram, when the file holds one.
    """

    label: str
    values: np.ndarray
    color: str  # one colour per file, the same in every panel
    reads: tuple[np.ndarray, np.ndarray] | None = None
    breakdowns: tuple[Breakdown, ...] = ()  # this file's read of the target against its accesses


def _env_caption(result: ResultFile) -> str:
    # Where it ran and how: the lab accelerator already names the hypervisor.
    env = result.env
    how = env.get("lab accel") or env.get("hypervisor")
    parts = [env.get("environment"), how if how != "none" else None]
    return " · ".join(p for p in parts if p)


def _series_label(result: ResultFile) -> str:
    # One line per part, so that five files fit side by side under a panel.
    label = result.label.replace(" (", "\n(", 1)
    caption = _env_caption(result)
    return f"{label}\n{caption}" if caption else label


def target_names(files: Sequence[ResultFile]) -> list[str]:
    """Every target of every file, in order of first appearance."""
    return list(dict.fromkeys(name for f in files for name in f.benchmarks))


def read_ecdf(bench: pyperf.Benchmark) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-read ECDF in seconds over every run's histogram, or None for files without one."""
    ecdf = runs.totals(bench).read_ecdf()
    if ecdf is None:
        return None
    seconds, fraction = ecdf
    keep = seconds > 0  # a 0-cycle bucket has no place on a log axis
    return seconds[keep], fraction[keep]


FileBreakdowns = dict[str, tuple[Breakdown, ...]]  # read benchmark name -> its breakdowns


def file_breakdowns(result: ResultFile) -> FileBreakdowns:
    """The file's split reads: each read benchmark's breakdowns, computed once for the file."""
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
    """One series per file that holds target; breakdowns (one per file, as
    file_breakdowns gives them) only for the panel that draws them."""
    import numpy as np

    return [TargetValues(_series_label(f), np.asarray(f.benchmarks[target].get_values(), dtype=float), file_color(files, i),
                         read_ecdf(f.benchmarks[target]), breakdowns[i].get(target, ()) if breakdowns else ())
            for i, f in enumerate(files) if target in f.benchmarks]


def file_color(files: Sequence[ResultFile], index: int) -> str:
    """A file's colour in every panel: its method's (the registry's) when no
    other file has that method, else one per file."""
    methods = [f.env.get("method", "") for f in files]
    method = methods[index]
    return access.color_of(method) if methods.count(method) == 1 else f"C{index % 10}"


def needs_log_scale(series: Sequence[TargetValues]) -> bool:
    import numpy as np

    values = np.concatenate([s.values for s in series])
    return bool(values.max() / values.min() > LOG_SCALE_SPAN)


def _time_axis(ax: Axes, axis: str, log: bool) -> None:
    import numpy as np
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    if log:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
        # 1-2-5 steps over a decade or two, which would otherwise get one or two
        # labels; decades alone beyond that, or the labels run into each other.
        subs = (1.0, 2.0, 5.0) if np.log10(high / low) <= LOG_LABEL_STEPS_MAX_DECADES else (1.0,)
        target.set_major_locator(LogLocator(subs=subs))
        target.set_minor_formatter(NullFormatter())
    target.set_major_formatter(EngFormatter(unit="s"))
    label = "time per read" + (" (log scale)" if log else "")
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)


def draw_distribution(ax: Axes, series: Sequence[TargetValues], log: bool) -> None:
    """Violins where there is a spread, every value as a jittered point, the median labelled."""
    import numpy as np

    positions = np.arange(1, len(series) + 1)
    spread = [i for i, s in enumerate(series) if s.values.size > 1 and np.ptp(s.values) > 0]
    if spread:
        parts = ax.violinplot([series[i].values for i in spread], positions=positions[spread],
                              showextrema=False, widths=0.8)
        bodies = cast("list[PolyCollection]", parts["bodies"])  # a list at run time; the stubs say Collection
        for body, index in zip(bodies, spread, strict=True):
            body.set_facecolor(series[index].color)
            body.set_alpha(0.3)
    jitter = np.random.default_rng(0)  # deterministic: the same files give the same picture
    for position, s in zip(positions, series, strict=True):
        xs = position + jitter.uniform(-0.12, 0.12, s.values.size)
        ax.scatter(xs, s.values, s=10, alpha=0.7, color=s.color, zorder=3)
        median = float(np.median(s.values))
        ax.hlines(median, position - 0.3, position + 0.3, colors="black", zorder=4)
        ax.annotate(format_time(median), (position + 0.32, median), va="center", fontsize=8)
    ax.set_xticks(positions, [s.label for s in series])
    ax.set_xlim(0.4, len(series) + 0.9)
    _time_axis(ax, "y", log)


def _step_ecdf(ax: Axes, s: TargetValues, xs: np.ndarray, ys: np.ndarray) -> None:
    import numpy as np

    ax.step(np.concatenate([[xs[0]], xs]), np.concatenate([[0.0], ys]), where="post",
            color=s.color, label=s.label.replace("\n(", " (").replace("\n", " · "))


def _finish_ecdf(ax: Axes, ylabel: str) -> None:
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="lower right")


def draw_ecdf(ax: Axes, series: Sequence[TargetValues], log: bool) -> None:
    """Empirical CDF of each file's values: shifts and spread side by side."""
    import numpy as np

    for s in series:
        xs = np.sort(s.values)
        _step_ecdf(ax, s, xs, np.arange(1, xs.size + 1) / xs.size)
    _finish_ecdf(ax, "fraction of values")
    _time_axis(ax, "x", log)


def draw_read_ecdf(ax: Axes, series: Sequence[TargetValues], log: bool) -> None:
    """ECDF of single reads (timestamp pair included): the tail a mean hides, e.g. a 10x VM exit."""
    drawn = 0
    for s in series:
        if s.reads is not None and s.reads[0].size:
            _step_ecdf(ax, s, *s.reads)
            drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no per-read histograms in these files", ha="center", va="center",
                transform=ax.transAxes)
        return
    _finish_ecdf(ax, "fraction of reads")
    _time_axis(ax, "x", log=True)  # tails span decades whatever the medians do
    ax.set_xlabel("time of one read, timed one by one (log scale)")


BREAKDOWN_GID = "breakdown"  # tests find the bars by it: breakdown:<file>:<mechanism>:<bar>:<segment>
FULL_READ = "full read"
NET = "net (the access)"
# One colour per access in the whole figure (build_figure starts it afresh):
# the same access keeps its colour from row to row.
_access_colors: dict[str, str] = {}


def _reset_access_colors() -> None:
    _access_colors.clear()
    _access_colors[FULL_READ] = "0.6"  # grey; the accesses take C0, C1, ... as they come


@dataclass(frozen=True)
class _Bar:
    """One bar of the breakdown panel: segments stacked from the bottom."""

    segments: tuple[tuple[str, float], ...]  # (legend label, seconds)
    gid: str

    @property
    def height(self) -> float:
        return sum(seconds for _, seconds in self.segments)


@dataclass(frozen=True)
class _Group:
    """One file's bars for one mechanism."""

    mechanism: str
    label: str  # under the bars
    bars: tuple[_Bar, ...]


def _breakdown_groups(series: Sequence[TargetValues]) -> list[_Group]:
    """Per file and mechanism: the parts stacked beside the full read (type 1,
    ECAM), the floor and the net stacked to the full read (the kernel), and
    the extras on their own."""
    groups = []
    for index, s in enumerate(series):
        for b in s.breakdowns:
            gid = f"{BREAKDOWN_GID}:{index}:{b.mechanism}"
            bars = []
            if b.floor is not None:
                bars.append(_Bar(((b.floor.label, b.floor.seconds), (NET, max(b.net_s, 0.0))), f"{gid}:gross"))
            if b.parts:
                bars.append(_Bar(tuple((p.label, p.seconds) for p in b.parts), f"{gid}:parts"))
                bars.append(_Bar(((FULL_READ, b.full_s),), f"{gid}:full"))
            bars += [_Bar(((e.label, e.seconds),), f"{gid}:extra") for e in b.extras]
            groups.append(_Group(b.mechanism, f"{b.mechanism}\n{s.label}", tuple(bars)))
    return groups


def _span(groups: Sequence[_Group]) -> float:
    heights = [bar.height for g in groups for bar in g.bars if bar.height > 0]
    return max(heights) / min(heights) if heights else 1.0


def _scale_clusters(groups: Sequence[_Group]) -> list[list[_Group]]:
    """Mechanisms that share one linear axis (their bars within LOG_SCALE_SPAN
    of each other), cheapest first: type 1 beside ECAM, the kernel apart when
    it is ten times slower."""
    by_mechanism: dict[str, list[_Group]] = {}
    for g in groups:
        by_mechanism.setdefault(g.mechanism, []).append(g)
    ordered = sorted(by_mechanism.values(), key=lambda gs: max(bar.height for g in gs for bar in g.bars))
    clusters: list[list[_Group]] = []
    for members in ordered:
        if clusters and _span(clusters[-1] + members) <= LOG_SCALE_SPAN:
            clusters[-1] += members
        else:
            clusters.append(list(members))
    return clusters


def _draw_bars(ax: Axes, groups: Sequence[_Group], colors: dict[str, str], legend: set[str]) -> None:
    """Stacked on a linear axis; where one mechanism's own bars span more than
    LOG_SCALE_SPAN (files from very different machines), a log axis with each
    segment as a bar of its own, since stacks on a log axis mislead."""
    log = _span(groups) > LOG_SCALE_SPAN
    top = max(bar.height for g in groups for bar in g.bars)
    x, ticks, labels = 0.0, [], []
    for group in groups:
        start = x
        for bar in group.bars:
            bottom = 0.0
            for label, seconds in bar.segments:
                color = colors.setdefault(label, f"C{(len(colors) - 1) % 10}")
                patch = ax.bar(x, seconds, 0.8, bottom=bottom, color=color, edgecolor="black", linewidth=0.5,
                               label=label if label not in legend else f"_{label}")[0]
                legend.add(label)
                patch.set_gid(f"{bar.gid}:{label}")
                tall = not log and seconds >= 0.08 * top
                where = (x, bottom + seconds / 2) if tall else (x + 0.42, bottom + seconds / (1 if log else 2))
                ax.annotate(format_time(seconds), where, ha="center" if tall else "left", va="center", fontsize=7)
                if log:
                    x += 1
                else:
                    bottom += seconds
            x += 0 if log else 1
        ticks.append((start + x - 1) / 2)
        labels.append(group.label)
        x += 0.8  # a gap between files
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlim(-0.7, x - 0.2)
    if log:
        ax.set_yscale("log")
    _time_axis(ax, "y", log)
    ax.legend(fontsize=7, loc="best")


def draw_breakdown(ax: Axes, series: Sequence[TargetValues], log: bool) -> Axes:
    """Where the time goes, per file: type 1's address write and data read
    stacked next to its full read, ECAM's load next to its, the kernel's
    floor and net stacked to its read; one colour per access across files,
    each segment labelled. Mechanisms whose bars are within LOG_SCALE_SPAN
    share one linear axis (one port access against one ECAM load is the
    comparison); the others get an axis of their own, side by side in the
    cell. Returns the axes to title."""
    groups = _breakdown_groups(series)
    if not groups:
        ax.text(0.5, 0.5, "no split benchmarks for this target\n(cfgbench run --workload split)", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    clusters = _scale_clusters(groups)
    targets = [ax]
    if len(clusters) > 1:
        spec = ax.get_subplotspec()
        figure = ax.get_figure()
        assert spec is not None and figure is not None
        widths = [sum(len(g.bars) for g in c) + len(c) for c in clusters]
        grid = spec.subgridspec(1, len(clusters), width_ratios=widths)
        ax.remove()
        targets = [figure.add_subplot(grid[0, i]) for i in range(len(clusters))]
    legend: set[str] = set()
    if FULL_READ not in _access_colors:
        _reset_access_colors()  # drawn outside build_figure
    for target, cluster in zip(targets, clusters, strict=True):
        _draw_bars(target, cluster, _access_colors, legend)
    return targets[0]


# A panel draws one target's series on one Axes; it may return the Axes to
# title, when it has replaced its own (the breakdown panel's scales).
Panel = Callable[["Axes", Sequence[TargetValues], bool], "Axes | None"]
PANELS: dict[str, Panel] = {"distribution": draw_distribution, "ecdf": draw_ecdf, "reads": draw_read_ecdf,
                            "breakdown": draw_breakdown}


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'1200x900' -> (1200, 900) pixels; None keeps the default layout."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not match or min(int(match[1]), int(match[2])) < 100:
        raise CfgbenchError(f"--size {text!r} is not a size", "write WIDTHxHEIGHT in pixels, each at least 100")
    return int(match[1]), int(match[2])


def default_size(n_targets: int, n_panels: int) -> tuple[int, int]:
    return DEFAULT_WIDTH_PX + EXTRA_PANEL_WIDTH_PX * (n_panels - 1), HEIGHT_PER_TARGET_PX * n_targets


def _suptitle(files: Sequence[ResultFile]) -> str:
    shared = [f"{label} {value}" for label, value in files[0].env.items()
              if label in ("kernel release", "CPU") and all(f.env.get(label) == value for f in files)]
    return "cfgbench: time per config read" + (f"\n{'; '.join(shared)}" if shared else "")


def build_figure(files: Sequence[ResultFile], panels: Sequence[str] = ("distribution",),
                 size: tuple[int, int] | None = None, dpi: int = 100) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise CfgbenchError(f"unknown panel {', '.join(unknown) or '(none)'}", f"choose from {', '.join(PANELS)}")
    names = target_names(files)
    _reset_access_colors()
    per_file = None
    if "breakdown" in panels:
        # Only this panel needs them (and compare.stats with scipy, seconds under emulation).
        per_file = [file_breakdowns(f) for f in files]
        # The reads that were split: one row each (their parts are in the bars).
        names = [n for n in names if any(n in found for found in per_file)] or \
            [n for n in names if not any(is_split(f.benchmarks[n]) for f in files if n in f.benchmarks)]
    width, height = size or default_size(len(names), len(panels))
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)  # Agg: renders without a display
    axes = figure.subplots(len(names), len(panels), squeeze=False)
    for row, name in enumerate(names):
        series = series_for(files, name, per_file)
        log = needs_log_scale(series)
        for col, panel in enumerate(panels):
            titled = PANELS[panel](axes[row][col], series, log) or axes[row][col]
            titled.set_title(_row_title(files, name), fontsize=10)
    figure.suptitle(_suptitle(files), fontsize=11)
    return figure


def _row_title(files: Sequence[ResultFile], name: str) -> str:
    """The target as readers name it (a split benchmark's access by its label)."""
    bench = next(f.benchmarks[name] for f in files if name in f.benchmarks)
    return display_name(bench)


def _refuse_existing(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise CfgbenchError(f"{output} already exists", "choose another -o name, or add --force to replace it")


def _check_output(output: Path, force: bool, figure: Figure) -> str:
    """The image format, after refusing what cannot or must not be written."""
    _refuse_existing(output, force)
    if not output.parent.is_dir():
        raise CfgbenchError(f"directory {output.parent} does not exist", "create it first, or choose another -o path")
    fmt = output.suffix.lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise CfgbenchError(f"cannot write {output}: unknown image type {output.suffix!r}",
                            f"end the name with one of {', '.join('.' + k for k in sorted(supported))}")
    return fmt


def save_figure(figure: Figure, output: Path | str, force: bool = False) -> Path:
    """Write to a temporary file beside the output, then link it into place (replace only with force)."""
    output = Path(output)
    fmt = _check_output(output, force, figure)
    try:
        write_new(output, lambda temp: figure.savefig(temp, format=fmt), replace=force)
    except FileExistsError:
        raise CfgbenchError(f"{output} appeared while plotting", "choose another -o name, or add --force") from None
    except OSError as exc:
        raise CfgbenchError(f"cannot write {output} ({exc.strerror or exc})", "choose another -o path") from None
    return output


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CfgbenchError("plotting needs matplotlib, which is not installed",
                            "pip install 'cfgbench[plot]'") from None


def plot_paths(paths: Sequence[str], output: Path | str, force: bool = False,
               size: tuple[int, int] | None = None, dpi: int = 100,
               panels: Sequence[str] = ("distribution",)) -> Path:
    """The library entry point of `cfgbench plot`."""
    _require_matplotlib()
    _refuse_existing(Path(output), force)  # before the slow part; checked again when saving
    figure = build_figure(load_result_files(paths), panels, size, dpi)
    return save_figure(figure, output, force)


# --- history: the trend of each target over CI runs --------------------------

CHANGE_POINT_GID = "change-point"  # tests find the markers by it


def _history_x(trend: Trend, dated: bool) -> list[Any]:
    # Real dates when every run has one; else the run's position in its series.
    points = trend.series.points
    return [p.date for p in points] if dated else list(range(len(points)))


def draw_history(ax: Axes, trends: Sequence[Trend], colors: dict[tuple[str, str], str], dated: bool) -> None:
    """One line of medians per (method, machine); a dashed vertical line at each change point's first run."""
    import numpy as np

    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    for trend in trends:
        s, x = trend.series, _history_x(trend, dated)
        color = colors[(s.method, s.machine)]
        ax.plot(x, s.medians, marker="o", markersize=4, color=color, label=f"{s.method} · {s.machine}")
        for cp in trend.change_points:
            ax.axvline(x[cp.index], color=color, linestyle="--", linewidth=1.2, alpha=0.8, gid=CHANGE_POINT_GID)
            ax.annotate(f"{cp.change * 100:+.1f}%", (x[cp.index], cp.after), xytext=(4, 4),
                        textcoords="offset points", fontsize=8, color=color)
    medians = np.concatenate([np.asarray(t.series.medians) for t in trends])
    _time_axis(ax, "y", bool(medians.max() / medians.min() > LOG_SCALE_SPAN))
    if dated:
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    else:
        ax.set_xlabel("CI run")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def build_history_figure(report: HistoryReport, size: tuple[int, int] | None = None, dpi: int = 100) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    targets = list(dict.fromkeys(t.series.target for t in report.trends))
    keys = list(dict.fromkeys((t.series.method, t.series.machine) for t in report.trends))
    colors = {key: f"C{i % 10}" for i, key in enumerate(keys)}  # the same line colour in every row
    dated = all(p.date is not None for t in report.trends for p in t.series.points)
    width, height = size or default_size(len(targets), 1)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(targets), 1, squeeze=False)
    for row, target in enumerate(targets):
        draw_history(axes[row][0], [t for t in report.trends if t.series.target == target], colors, dated)
        axes[row][0].set_title(target, fontsize=10)
    figure.suptitle(f"cfgbench: median time per read over CI runs ({report.directory}); "
                    "dashed: change points", fontsize=11)
    return figure


def plot_history(directory: Path | str, output: Path | str, force: bool = False,
                 size: tuple[int, int] | None = None, dpi: int = 100) -> Path:
    """The library entry point of `cfgbench plot --history DIR`."""
    from cfgbench.history.trend import history_report

    _require_matplotlib()
    _refuse_existing(Path(output), force)
    figure = build_history_figure(history_report(directory), size, dpi)
    return save_figure(figure, output, force)
