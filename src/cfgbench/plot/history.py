"""A history's trend (`plot --history DIR`): a row per target, a line per method and machine, change points dashed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfgbench.plot.output import new_figure, refuse_existing, require_matplotlib, save_figure
from cfgbench.plot.style import LOG_SCALE_SPAN, time_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from cfgbench.history.trend import HistoryReport, Trend

CHANGE_POINT_GID = "change-point"  # tests find the markers by it
WIDTH_PX = 1200
HEIGHT_PER_TARGET_PX = 450


def draw_history(ax: Axes, trends: Sequence[Trend], colors: dict[tuple[str, str], str], dated: bool) -> None:
    """A line of medians per (method, machine), a dashed line at each change point's first run."""
    import numpy as np
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    for trend in trends:
        s = trend.series
        x: list[Any] = [p.date for p in s.points] if dated else list(range(len(s.points)))
        color = colors[(s.method, s.machine)]
        ax.plot(x, s.medians, marker="o", markersize=4, color=color, label=f"{s.method} · {s.machine}")
        for cp in trend.change_points:
            ax.axvline(x[cp.index], color=color, linestyle="--", linewidth=1.2, alpha=0.8, gid=CHANGE_POINT_GID)
            ax.annotate(f"{cp.change * 100:+.1f}%", (x[cp.index], cp.after), xytext=(4, 4),
                        textcoords="offset points", fontsize=8, color=color)
    medians = np.concatenate([np.asarray(t.series.medians) for t in trends])
    time_axis(ax, "y", bool(medians.max() / medians.min() > LOG_SCALE_SPAN))
    if dated:
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    else:
        ax.set_xlabel("CI run")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def build_history_figure(report: HistoryReport, size: tuple[int, int] | None = None, dpi: int = 100) -> Figure:
    targets = list(dict.fromkeys(t.series.target for t in report.trends))
    keys = list(dict.fromkeys((t.series.method, t.series.machine) for t in report.trends))
    colors = {key: f"C{i % 10}" for i, key in enumerate(keys)}  # the same line colour in every row
    dated = all(p.date is not None for t in report.trends for p in t.series.points)
    figure = new_figure(size or (WIDTH_PX, HEIGHT_PER_TARGET_PX * len(targets)), dpi)
    axes = figure.subplots(len(targets), 1, squeeze=False)
    for row, target in enumerate(targets):
        draw_history(axes[row][0], [t for t in report.trends if t.series.target == target], colors, dated)
        axes[row][0].set_title(target, fontsize=10)
    figure.suptitle(f"cfgbench: median time per read over CI runs ({report.directory}); "
                    "dashed: change points", fontsize=11)
    return figure


def plot_history(directory: Path | str, output: Path | str, force: bool = False,
                 size: tuple[int, int] | None = None, dpi: int = 100) -> Path:
    from cfgbench.history.trend import history_report

    require_matplotlib()
    refuse_existing(Path(output), force)
    figure = build_history_figure(history_report(directory), size, dpi)
    return save_figure(figure, output, force)
