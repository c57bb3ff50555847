"""Where the time goes as stacked bars, for the breakdown panel and the answer figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cfgbench.plot.style import LOG_SCALE_SPAN, TargetValues, time_axis
from cfgbench.document import format_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BREAKDOWN_GID = "breakdown"  # tests find the bars by it: breakdown:<file>:<mechanism>:<bar>:<segment>
FULL_READ = "full read"
NET = "net (the access)"
# Apart from the methods' colours, so that an access is not taken for a method.
ACCESS_PALETTE = ("tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "gold", "navy")


class AccessColors:
    """One colour per access in a whole figure, the same from cell to cell."""

    def __init__(self) -> None:
        self._colors = {FULL_READ: "0.6"}  # grey

    def __call__(self, label: str) -> str:
        if label not in self._colors:
            self._colors[label] = ACCESS_PALETTE[(len(self._colors) - 1) % len(ACCESS_PALETTE)]
        return self._colors[label]


@dataclass(frozen=True)
class Bar:
    segments: tuple[tuple[str, float], ...]  # (legend label, seconds), stacked from the bottom
    gid: str

    @property
    def height(self) -> float:
        return sum(seconds for _, seconds in self.segments)


@dataclass(frozen=True)
class Group:
    """One file's bars for one target and mechanism."""

    mechanism: str
    label: str  # under the bars
    bars: tuple[Bar, ...]


def groups_of(series: Sequence[TargetValues], gid: str = BREAKDOWN_GID, extras: bool = True,
              label: str | None = None) -> list[Group]:
    """Per file and mechanism: the parts beside the full read, floor and net stacked, the extras apart."""
    groups = []
    for index, s in enumerate(series):
        for b in s.breakdowns:
            prefix = f"{gid}:{index}:{b.mechanism}"
            bars = []
            if b.floor is not None:
                bars.append(Bar(((b.floor.label, b.floor.seconds), (NET, max(b.net_s, 0.0))), f"{prefix}:gross"))
            if b.parts:
                bars.append(Bar(tuple((p.label, p.seconds) for p in b.parts), f"{prefix}:parts"))
                bars.append(Bar(((FULL_READ, b.full_s),), f"{prefix}:full"))
            if extras:
                bars += [Bar(((e.label, e.seconds),), f"{prefix}:extra") for e in b.extras]
            name = b.mechanism.replace(" (", "\n(")  # 'kernel (type 1)' on two lines: the bars are narrow
            groups.append(Group(b.mechanism, f"{name}\n{label if label is not None else s.label}", tuple(bars)))
    return groups


def _span(groups: Sequence[Group]) -> float:
    heights = [bar.height for g in groups for bar in g.bars if bar.height > 0]
    return max(heights) / min(heights) if heights else 1.0


def scale_clusters(groups: Sequence[Group]) -> list[list[Group]]:
    """Mechanisms whose bars are within LOG_SCALE_SPAN share a linear axis, cheapest first; groups keep their order."""
    by_mechanism: dict[str, list[Group]] = {}
    for g in groups:
        by_mechanism.setdefault(g.mechanism, []).append(g)
    ordered = sorted(by_mechanism.values(), key=lambda gs: max(bar.height for g in gs for bar in g.bars))
    clusters: list[list[Group]] = []
    for members in ordered:
        if clusters and _span(clusters[-1] + members) <= LOG_SCALE_SPAN:
            clusters[-1] += members
        else:
            clusters.append(list(members))
    position = {id(g): i for i, g in enumerate(groups)}
    return [sorted(cluster, key=lambda g: position[id(g)]) for cluster in clusters]


def draw_bars(ax: Axes, groups: Sequence[Group], colors: AccessColors, legend: set[str], fontsize: int = 8,
              narrow: bool = False) -> None:
    """Stacked on a linear axis, or beyond LOG_SCALE_SPAN a bar a segment on a log axis (a log stack misleads)."""
    log = _span(groups) > LOG_SCALE_SPAN
    top = max(bar.height for g in groups for bar in g.bars)
    x, ticks, labels = 0.0, [], []
    for group in groups:
        start = x
        for bar in group.bars:
            bottom = 0.0
            for label, seconds in bar.segments:
                patch = ax.bar(x, seconds, 0.8, bottom=bottom, color=colors(label), edgecolor="black", linewidth=0.5,
                               label=label if label not in legend else f"_{label}")[0]
                legend.add(label)
                patch.set_gid(f"{bar.gid}:{label}")
                tall = not log and seconds >= 0.08 * top
                where = (x, bottom + seconds / 2) if tall else (x + 0.42, bottom + seconds / (1 if log else 2))
                ax.annotate(format_time(seconds), where, ha="center" if tall else "left", va="center",
                            fontsize=fontsize - 1, rotation=90 if tall and narrow else 0)
                if log:
                    x += 1
                else:
                    bottom += seconds
            x += 0 if log else 1
        ticks.append((start + x - 1) / 2)
        labels.append(group.label)
        x += 0.8  # a gap between groups
    ax.set_xticks(ticks, labels, fontsize=fontsize)
    ax.set_xlim(-0.7, x - 0.2)
    if log:
        ax.set_yscale("log")
    time_axis(ax, "y", log)
    ax.legend(fontsize=fontsize - 1, loc="best")


def draw_groups(ax: Axes, groups: Sequence[Group], colors: AccessColors, fontsize: int = 8,
                narrow: bool = False) -> list[Axes]:
    """The groups on ax, or on axes side by side in its place when mechanisms need scales of their own."""
    clusters = scale_clusters(groups)
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
    for target, cluster in zip(targets, clusters, strict=True):
        draw_bars(target, cluster, colors, legend, fontsize, narrow)
    return targets
