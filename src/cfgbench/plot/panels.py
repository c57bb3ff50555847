"""Per-target panels (`plot --panel distribution|ecdf|reads|breakdown`): one cell per target, in a grid."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from cfgbench.compare.files import ResultFile
from cfgbench.errors import CfgbenchError
from cfgbench.plot.bars import AccessColors, draw_groups, groups_of
from cfgbench.plot.output import Drawing, new_figure
from cfgbench.plot.style import (LOG_SCALE_SPAN, FileBreakdowns, TargetValues, file_breakdowns, one_line, series_for,
                                 suptitle, target_names, time_axis)
from cfgbench.document import format_time

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

# One panel of one target; three a row make a screen's width.
CELL_WIDTH_PX = 540
CELL_HEIGHT_PX = 420
CELLS_PER_ROW = 3
MIN_WIDTH_PX = 900
MAX_ASPECT = 2  # never taller than this many times the width: more targets add columns


@dataclass(frozen=True)
class CellStyle:
    log: bool
    access_colors: AccessColors


def needs_log_scale(series: Sequence[TargetValues]) -> bool:
    import numpy as np

    values = np.concatenate([s.values for s in series])
    return bool(values.max() / values.min() > LOG_SCALE_SPAN)


def draw_distribution(ax: Axes, series: Sequence[TargetValues], style: CellStyle) -> None:
    """Violins where there is a spread, every value a jittered point, the median labelled."""
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
    jitter = np.random.default_rng(0)  # the same files give the same picture
    for position, s in zip(positions, series, strict=True):
        xs = position + jitter.uniform(-0.12, 0.12, s.values.size)
        ax.scatter(xs, s.values, s=10, alpha=0.7, color=s.color, zorder=3)
        median = float(np.median(s.values))
        ax.hlines(median, position - 0.3, position + 0.3, colors="black", zorder=4)
        ax.annotate(format_time(median), (position + 0.32, median), va="center", fontsize=8)
    ax.set_xticks(positions, [s.label for s in series])
    ax.set_xlim(0.4, len(series) + 0.9)
    time_axis(ax, "y", style.log)


def step_ecdf(ax: Axes, xs: np.ndarray, ys: np.ndarray, **style: object) -> None:
    import numpy as np

    ax.step(np.concatenate([[xs[0]], xs]), np.concatenate([[0.0], ys]), where="post", **style)  # type: ignore[arg-type]


def _finish_ecdf(ax: Axes, ylabel: str) -> None:
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="lower right")


def draw_ecdf(ax: Axes, series: Sequence[TargetValues], style: CellStyle) -> None:
    import numpy as np

    for s in series:
        xs = np.sort(s.values)
        step_ecdf(ax, xs, np.arange(1, xs.size + 1) / xs.size, color=s.color, label=one_line(s.label))
    _finish_ecdf(ax, "fraction of values")
    time_axis(ax, "x", style.log)


def has_reads(series: Sequence[TargetValues]) -> bool:
    return any(s.reads is not None for s in series)


def draw_read_ecdf(ax: Axes, series: Sequence[TargetValues], style: CellStyle) -> None:
    """ECDF of single reads (timestamp pair included): the tail a mean hides."""
    for s in series:
        if s.reads is not None:
            step_ecdf(ax, *s.reads, color=s.color, label=one_line(s.label))
    _finish_ecdf(ax, "fraction of reads")
    time_axis(ax, "x", log=True, label="time of one read, timed one by one")  # tails span decades


@dataclass(frozen=True)
class Panel:
    draw: Callable[[Axes, Sequence[TargetValues], CellStyle], Axes | None]
    has_data: Callable[[Sequence[TargetValues]], bool]
    missing: str  # why a target has nothing for it, and how to get it


PANELS: dict[str, Panel] = {
    "distribution": Panel(draw_distribution, lambda series: bool(series), "no values"),
    "ecdf": Panel(draw_ecdf, lambda series: bool(series), "no values"),
    "reads": Panel(draw_read_ecdf, has_reads,
                   "no per-read histograms (cfgbench run records them for the read workload, unless --samples 0)"),
    "breakdown": Panel(lambda ax, series, style: draw_groups(ax, groups_of(series), style.access_colors)[0],
                       lambda series: any(s.breakdowns for s in series),
                       "no split benchmarks (cfgbench run --workload split splits the read workload's targets)"),
}


def grid_shape(cells: int, panels: int) -> tuple[int, int]:
    """(rows, targets per row): about CELLS_PER_ROW panels a row, more where it would exceed MAX_ASPECT."""
    per_row = max(1, min(cells, round(CELLS_PER_ROW / panels)))
    while per_row < cells and math.ceil(cells / per_row) * CELL_HEIGHT_PX > MAX_ASPECT * per_row * panels * CELL_WIDTH_PX:
        per_row += 1
    return math.ceil(cells / per_row), per_row


def default_size(rows: int, per_row: int, panels: int) -> tuple[int, int]:
    return max(MIN_WIDTH_PX, per_row * panels * CELL_WIDTH_PX), rows * CELL_HEIGHT_PX


def _left_out_phrase(panel: str, missing: list[str], total: int) -> str:
    which = "every target" if len(missing) == total else \
        f"{len(missing)} of {total} targets" if len(missing) > 1 else missing[0]
    return f"the {panel} panel of {which}: {PANELS[panel].missing}"


def draw_files(files: Sequence[ResultFile], panels: Sequence[str] = ("distribution",),
               size: tuple[int, int] | None = None, dpi: int = 100) -> Drawing:
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise CfgbenchError(f"unknown panel {', '.join(unknown) or '(none)'}", f"choose from {', '.join(PANELS)}")
    panels = list(dict.fromkeys(panels))
    per_file: list[FileBreakdowns] | None = None
    if "breakdown" in panels:
        # Only this panel needs them, and their scipy.
        per_file = [file_breakdowns(f) for f in files]
    names = target_names(files)
    cells: list[tuple[str, list[TargetValues], list[str]]] = []
    missing: dict[str, list[str]] = {p: [] for p in panels}
    for name in names:
        series = series_for(files, name, per_file)
        drawn = [p for p in panels if PANELS[p].has_data(series)]
        for p in panels:
            if p not in drawn:
                missing[p].append(name)
        if drawn:
            cells.append((name, series, drawn))
    left_out = tuple(_left_out_phrase(p, m, len(names)) for p, m in missing.items() if m)
    if not cells:
        raise CfgbenchError(f"nothing to draw: {'; '.join(left_out)}",
                            "choose another --panel: distribution and ecdf draw any result file")
    rows, per_row = grid_shape(len(cells), len(panels))
    figure = new_figure(size or default_size(rows, per_row, len(panels)), dpi)
    grid = figure.add_gridspec(rows, per_row)
    colors = AccessColors()
    for index, (name, series, drawn) in enumerate(cells):
        cell = grid[index // per_row, index % per_row].subgridspec(1, len(drawn))
        style = CellStyle(needs_log_scale(series), colors)
        for column, panel in enumerate(drawn):
            ax = figure.add_subplot(cell[0, column])
            titled = PANELS[panel].draw(ax, series, style) or ax
            titled.set_title(name, fontsize=10)
    figure.suptitle(suptitle(files), fontsize=11)
    return Drawing(figure, left_out)


def build_figure(files: Sequence[ResultFile], panels: Sequence[str] = ("distribution",),
                 size: tuple[int, int] | None = None, dpi: int = 100) -> Figure:
    return draw_files(files, panels, size, dpi).figure
