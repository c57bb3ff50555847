"""The answer figure: a Report's answer rows with their intervals, where the time goes, the tail of single reads."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from cfgbench import access
from cfgbench.compare.files import ResultFile
from cfgbench.compare.model import RESCAN, Answer, Report, short_target
from cfgbench.compare.render import answer_where, answer_words
from cfgbench.compare.stats import CONFIDENCE
from cfgbench.errors import CfgbenchError
from cfgbench.plot.bars import BREAKDOWN_GID, AccessColors, Group, draw_groups, groups_of
from cfgbench.plot.output import Drawing, new_figure
from cfgbench.plot.panels import step_ecdf
from cfgbench.plot.style import file_breakdowns, file_color, read_ecdf, series_for, suptitle, target_names, time_axis
from cfgbench.schema import READ_WORKLOAD, workload_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.typing import LineStyleType

ANSWER = "answer"  # `plot --panel answer`
ANSWER_GID = "answer"  # tests find the rows by it: answer|<target>|<method>|ratio, interval or runs
TAIL_GID = "tail"  # tail|<target>|<method>

WIDTH_PX, HEIGHT_PX = 1600, 1200
ROWS_AT_DEFAULT_HEIGHT = 32  # past it the forest grows taller, never beyond twice the width
ROW_PX = 30
FOREST_ROW_WEIGHT = 0.75  # a forest row's height against a twelfth of the panels below
TAIL_TARGETS = 4  # beyond, the tail's line styles would repeat
TAIL_STYLES: tuple[LineStyleType, ...] = ("-", "--", ":", "-.")
TAIL_FRACTIONS = (0.01, 0.1, 0.5, 0.9, 0.99, 0.999)

WORKLOAD_ORDER = ("read", "scan", "sweep", "rescan")
WORKLOAD_TITLES = {"read": "read: one register", "scan": "scan: the kernel's enumeration of a bus range",
                   "sweep": "sweep: every dword of a region that may be read",
                   "rescan": "rescan: the guest kernel's own enumeration, in its two orders"}


def _gid(r: Answer) -> str:
    return f"{ANSWER_GID}|{r.target}|{r.label}"


def _color(r: Answer) -> str:
    return access.color_of(access.MECHANISMS[1] if r.kind == RESCAN else r.method)


def answer_rows(report: Report) -> list[Answer]:
    """The report's answer rows, grouped by workload in WORKLOAD_ORDER."""
    order = {workload: rank for rank, workload in enumerate(WORKLOAD_ORDER)}
    return sorted(report.answer_rows(), key=lambda r: order.get(r.workload, len(order)))


def _target_label(r: Answer) -> str:
    """The target without its workload (the heading says it); a long one on two lines."""
    target = answer_where(r).removeprefix(f"{r.workload} ")
    head, _, tail = target.rpartition(" ")
    return f"{head}\n{tail}" if len(target) > 20 and head else target


# Walking out from 1, a tick is kept MIN_TICK_GAP of the axis (of a figure FULL_WIDTH_IN wide) from the last.
TICK_MANTISSAS = (1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0, 5.0, 7.0)
MIN_TICK_GAP, FULL_WIDTH_IN = 0.09, 16.0


def factor_ticks(low: float, high: float, width_in: float = FULL_WIDTH_IN) -> list[float]:
    """Ticks at factors either side of 1 (1.5x faster is 1/1.5) over [low, high], on a figure width_in wide."""
    factors = [m * 10 ** k for k in range(8) for m in TICK_MANTISSAS if m * 10 ** k > 1]
    ticks, gap = [1.0], MIN_TICK_GAP * max(1.0, FULL_WIDTH_IN / width_in) * math.log(high / low)
    for side, limit in ((1, high), (-1, 1 / low)):
        last = 1.0
        for f in (f for f in factors if f <= limit):
            if math.log(f / last) >= gap:
                ticks.append(f ** side)
                last = f
    return sorted(ticks)


def factor_label(x: float, _position: object = None) -> str:
    """A tick as a factor on its own side of 1: 0.5 -> '2x\nfaster', 1 -> 'as fast', 20 -> '20x\nslower'."""
    if abs(x - 1) < 1e-9:
        return "as\nfast"
    factor = 1 / x if x < 1 else x
    return (f"{factor:,.0f}x" if factor >= 100 else f"{factor:.3g}x") + ("\nfaster" if x < 1 else "\nslower")


def _span(rows: Sequence[Answer]) -> tuple[float, float]:
    points = [1.0]
    for r in rows:
        e = r.estimate
        points += [e.ratio, *e.per_run] + ([e.low, e.high] if e.low is not None and e.high is not None else [])
    return min(points) / 1.3, max(points) * 1.3


def _forest_subtitle(rows: Sequence[Answer]) -> str:
    backing = {r.estimate.rests_on() for r in rows if r.estimate.has_interval}
    over = f" over {backing.pop()}" if len(backing) == 1 else ""
    dots = "; dots: each run's own ratio" if any(len(r.estimate.per_run) > 1 for r in rows) else ""
    return f"time per read against the reference's, with its {CONFIDENCE:.0%} confidence interval{over}{dots}"


def draw_forest(ax: Axes, rows: Sequence[Answer]) -> None:
    """A band per target under a heading per workload, a line per method, each line's words to the right."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ticks: list[float] = []
    labels: list[str] = []
    headings: list[int] = []
    words: list[tuple[float, Answer]] = []  # tick labels on the right: the layout makes room for them
    y = 0.0
    for workload, in_workload in groupby(rows, key=lambda r: r.workload):
        if ticks:
            ax.axhline(y - 0.7, color="0.6", linewidth=0.8)
        headings.append(len(ticks))
        ticks.append(y)
        labels.append(WORKLOAD_TITLES.get(workload, workload))
        y += 1
        for _, in_target in groupby(in_workload, key=lambda r: r.target):
            band = list(in_target)
            ticks.append(y + (len(band) - 1) / 2)
            labels.append(_target_label(band[0]))
            for r in band:
                _draw_ratio(ax, r, y)
                words.append((y, r))
                y += 1
            ax.axhline(y - 0.5, color="0.9", linewidth=0.6)
        y += 0.4
    ax.axvline(1.0, color="black", linewidth=1, zorder=1)
    low, high = _span(rows)
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(y - 0.5, -0.9)  # the first heading on top
    ax.set_yticks(ticks, labels, fontsize=10)
    for index in headings:
        ax.get_yticklabels()[index].set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    right = ax.secondary_yaxis("right")
    width_in = ax.figure.bbox.width / ax.figure.dpi  # wrapped: a line wider than the figure collapses the layout
    chars = max(24, int(width_in * 4.8))
    right.set_yticks([y for y, _ in words], [textwrap.fill(answer_words(r, short=True), chars) for _, r in words], fontsize=10)
    right.tick_params(axis="y", length=0)
    for label, (_, r) in zip(right.get_yticklabels(), words, strict=True):
        label.set_color(_color(r))
    ax.xaxis.set_major_locator(FixedLocator(factor_ticks(low, high, width_in)))
    ax.xaxis.set_major_formatter(FuncFormatter(factor_label))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, axis="x", alpha=0.3)
    for text, offset, align in (("\u2190 faster than the reference", -8, "right"),
                                ("slower than the reference \u2192", 8, "left")):
        ax.annotate(text, (1.0, 0.0), xycoords=("data", "axes fraction"), xytext=(offset, -34),
                    textcoords="offset points", ha=align, va="top", fontsize=10, fontweight="bold")
    _title(ax, f"The answer: {_forest_subtitle(rows)}", to_the_edge=True)


def _title(ax: Axes, text: str, to_the_edge: bool = False) -> None:
    """A panel's title, wrapped to its width or to the figure's edge, as placed before the layout widens it."""
    pixels = ax.figure.bbox.width * 0.75 if to_the_edge else ax.bbox.width  # the labels on the left take a fifth or so
    ax.set_title(textwrap.fill(text, max(30, int(pixels / ax.figure.dpi * 14))), fontsize=11, loc="left")


def _draw_ratio(ax: Axes, r: Answer, y: float) -> None:
    e = r.estimate
    if e.low is not None and e.high is not None:
        ax.hlines(y, e.low, e.high, color=_color(r), linewidth=3, gid=f"{_gid(r)}|interval")
        # Caps: an interval narrower than the dot still shows its ends.
        ax.vlines([e.low, e.high], y - 0.22, y + 0.22, color=_color(r), linewidth=1.5)
    ax.scatter([e.ratio], [y], s=36, color=_color(r), edgecolors="black", linewidths=0.6, zorder=3, gid=f"{_gid(r)}|ratio")
    if len(e.per_run) > 1:
        ax.scatter(list(e.per_run), [y + 0.32] * len(e.per_run), s=20, facecolors="none", edgecolors=_color(r),
                   linewidths=1.2, zorder=3, gid=f"{_gid(r)}|runs")


def _split_read_groups(report: Report) -> list[Group]:
    files, found = report.files, dict(report.breakdowns)
    per_file = [file_breakdowns(f, found.get(i, [])) for i, f in enumerate(files)]
    groups = []
    for name in target_names(files):
        series = series_for(files, name, per_file)
        groups += groups_of(series, gid=f"{BREAKDOWN_GID}[{name}]", extras=False,
                            label=short_target(name).replace("+", "\n+"))
    return groups


def draw_where_the_time_goes(ax: Axes, groups: Sequence[Group]) -> None:
    axes = draw_groups(ax, groups, AccessColors(), fontsize=8, narrow=True)
    _title(axes[0], "Where the time goes: medians per read; each access timed alone beside its full read")


def draw_tail(ax: Axes, files: Sequence[ResultFile], names: Sequence[str]) -> None:
    """Each file's single reads per read target: the colour is the method, the line style the target."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    for k, name in enumerate(names):
        for i, f in enumerate(files):
            ecdf = read_ecdf(f.benchmarks[name]) if name in f.benchmarks else None
            if ecdf is not None:
                step_ecdf(ax, *ecdf, color=file_color(files, i), linestyle=TAIL_STYLES[k], linewidth=1.4,
                          gid=f"{TAIL_GID}|{name}|{f.label}")
    # logit: p50, p90, p99 and p99.9 a step apart, where a linear axis hides the tail in its last pixel.
    ax.set_yscale("logit", nonpositive="clip")
    ax.set_ylim(TAIL_FRACTIONS[0], 0.9995)
    ax.yaxis.set_major_locator(FixedLocator(TAIL_FRACTIONS))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{100 * y:g}%"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("reads that took at most this long (logit scale)")
    time_axis(ax, "x", log=True, label="time of one read, timed one by one")
    ax.grid(True, alpha=0.3)
    methods = [Line2D([], [], color=file_color(files, i), label=f.label) for i, f in enumerate(files)
               if any(name in f.benchmarks for name in names)]
    shown = ax.legend(handles=methods, fontsize=9, loc="lower right")
    ax.add_artist(shown)
    styles = [Line2D([], [], color="black", linestyle=TAIL_STYLES[k], label=short_target(name))
              for k, name in enumerate(names)]
    ax.legend(handles=styles, fontsize=9, loc="upper left")
    _title(ax, "The tail: every single read (ECDF; the timestamp pair included)")


def _size(rows: int) -> tuple[int, int]:
    extra = max(0, rows - ROWS_AT_DEFAULT_HEIGHT) * ROW_PX
    return WIDTH_PX, min(2 * WIDTH_PX, HEIGHT_PX + extra)


def draw_answer(report: Report, size: tuple[int, int] | None = None, dpi: int = 100) -> Drawing:
    """The figure, and what it leaves out and why."""
    files, rows = report.files, answer_rows(report)
    groups = _split_read_groups(report)
    tail = [name for name in target_names(files) if any(name in f.benchmarks and workload_of(f.benchmarks[name]) == READ_WORKLOAD
                                                        and read_ecdf(f.benchmarks[name]) is not None for f in files)]
    left_out = []
    if not rows:
        left_out.append("the answer (neither pio and mmio on one target nor the kernel's two paths with its floor: "
                        "give the files of every method of a run, or time -m kernel --offset 0 --offset 0x100 "
                        "--workload split)")
    if not groups:
        left_out.append("where the time goes (no split benchmarks: cfgbench run --workload split)")
    if not tail:
        left_out.append("the tail (no per-read histograms of a read target: cfgbench run records them unless "
                        "--samples 0)")
    elif len(tail) > TAIL_TARGETS:
        left_out.append(f"the tail of {len(tail) - TAIL_TARGETS} more read targets (--panel reads draws each)")
        tail = tail[:TAIL_TARGETS]
    if not (rows or groups or tail):
        raise CfgbenchError(f"nothing to draw: {'; '.join(left_out)}",
                            "choose a --panel: distribution and ecdf draw any result file")
    bands = len(rows) + len({r.workload for r in rows})
    figure = new_figure(size or _size(bands), dpi)
    methods = list(dict.fromkeys(f.env.get("method", f.label) for f in files))
    what = ", ".join(methods) + (f"; {len(files)} files" if len(files) > len(methods) else "")
    emulated = "\nEMULATED (QEMU TCG): emulation costs, not a hypervisor's VM exits" \
        if any(f.env.get("lab accel") == "tcg" for f in files) else ""
    figure.suptitle(suptitle(files, f"cfgbench: how long a config read takes ({what})") + emulated, fontsize=12)
    below = int(bool(groups)) + int(bool(tail))
    top: Figure | SubFigure = figure
    bottom: Figure | SubFigure = figure
    if rows and below:
        top, bottom = figure.subfigures(2, 1, squeeze=False, height_ratios=(bands * FOREST_ROW_WEIGHT + 3, 12))[:, 0]
    if rows:
        draw_forest(top.subplots(), rows)
    if below:
        axes = bottom.subplots(1, below, squeeze=False, width_ratios=(1.25, 1)[:below] if below == 2 else None)[0]
        if groups:
            draw_where_the_time_goes(axes[0], groups)
        if tail:
            draw_tail(axes[-1], files, tail)
    return Drawing(figure, tuple(left_out))
