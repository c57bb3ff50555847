"""Each series' medians over CI runs, with change points (Apache Otava) and what changed between runs."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cfgbench.errors import CfgbenchError
from cfgbench.history.store import STEP_EXPLAINERS, Point, Series, load_history, points_of_file, series_order
from cfgbench.platform import describe_where
from cfgbench.schema import CPU_MODEL, ENVIRONMENT, HYPERVISOR
from cfgbench import document as doc
from cfgbench.document import LEFT, RIGHT, format_time

# Otava's own defaults.
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_WINDOW = 50
DEFAULT_MIN_CHANGE = 0.05  # smaller changes are merged away however significant: the gate's median:5%
MIN_POINTS = 3  # a change needs a point on each side
DEFAULT_LAST = 20  # runs of each series a CI job shows
THIS_RUN = "this run"


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


@dataclass(frozen=True)
class Trend:
    series: Series
    change_points: tuple[ChangePoint, ...]

    def change_point_at(self, index: int) -> ChangePoint | None:
        return next((cp for cp in self.change_points if cp.index == index), None)

    def vs_previous(self, index: int) -> float | None:
        medians = self.series.medians
        return medians[index] / medians[index - 1] - 1.0 if index > 0 else None

    def environment_changes(self, index: int) -> list[str]:
        """`kernel 6.8.0-45-generic -> 6.8.0-47-generic`: what differs from the run before."""
        if index == 0:
            return []
        before, now = self.series.points[index - 1].environment, self.series.points[index].environment
        return [f"{label} {before[key]} -> {now[key]}" for key, label in STEP_EXPLAINERS.items()
                if key in before and key in now and before[key] != now[key]]


@dataclass(frozen=True)
class HistoryReport:
    directory: str
    trends: tuple[Trend, ...]
    max_pvalue: float
    min_change: float
    last: int | None  # show only the last N runs of each series (detection uses them all)

    @property
    def machines(self) -> list[str]:
        return list(dict.fromkeys(t.series.machine for t in self.trends))

    @property
    def change_count(self) -> int:
        return sum(len(t.change_points) for t in self.trends)

    def shown(self, trend: Trend) -> range:
        n = len(trend.series.points)
        return range(max(0, n - self.last) if self.last else 0, n)


def _select(series: list[Series], attribute: str, wanted: Sequence[str], directory: str) -> list[Series]:
    if not wanted:
        return series
    known = sorted({getattr(s, attribute) for s in series})
    missing = [w for w in wanted if w not in known]
    if missing:
        raise CfgbenchError(f"no {attribute} {', '.join(missing)} in the history {directory}",
                            f"choose from {', '.join(known)}")
    return [s for s in series if getattr(s, attribute) in wanted]


def history_report(directory: Path | str, max_pvalue: float = DEFAULT_MAX_PVALUE, min_change: float = DEFAULT_MIN_CHANGE,
                   machines: Sequence[str] = (), methods: Sequence[str] = (), last: int | None = None) -> HistoryReport:
    series = load_history(directory)
    series = _select(_select(series, "machine", machines, str(directory)), "method", methods, str(directory))
    trends = tuple(Trend(s, tuple(find_change_points(s.medians, max_pvalue, min_change))) for s in series)
    return HistoryReport(str(directory), trends, max_pvalue, min_change, last)


def _date(date: datetime | None) -> str:
    return date.strftime("%Y-%m-%d %H:%M") if date else "?"


def _percent(change: float | None) -> str:
    return "" if change is None else f"{change * 100:+.1f}%"


def _commit(point: Point) -> str:
    return point.commit[:12]


def _heading(trend: Trend) -> str:
    s = trend.series
    return f"{s.target} · {s.method} · {s.machine}"


def _where(trend: Trend) -> str:
    env = trend.series.points[-1].environment
    if not any(key in env for key in (ENVIRONMENT, CPU_MODEL)):
        return ""
    return describe_where(env.get(ENVIRONMENT), env.get(HYPERVISOR), env.get(CPU_MODEL))


def describe_change_point(cp: ChangePoint) -> str:
    return f"{_percent(cp.change)} ({format_time(cp.before)} -> {format_time(cp.after)}, p = {cp.pvalue:.2g})"


def _remark(trend: Trend, index: int) -> str:
    cp = trend.change_point_at(index)
    parts = [f"change point: {describe_change_point(cp)}"] if cp else []
    return "; ".join(parts + trend.environment_changes(index))


def _summary(report: HistoryReport) -> str:
    n, machines = len(report.trends), len(report.machines)
    found = report.change_count
    return (f"{n} series on {machines} machine{'s' * (machines != 1)}, "
            f"{found or 'no'} change point{'s' * (found != 1)} "
            f"(Apache Otava, p < {report.max_pvalue:g}"
            + (f", at least {report.min_change * 100:g}%" if report.min_change else "") + ")")


def _rows(report: HistoryReport, trend: Trend, markdown: bool) -> list[list[str]]:
    rows = []
    for i in report.shown(trend):
        point, remark = trend.series.points[i], _remark(trend, i)
        rows.append([_date(point.date), f"`{_commit(point)}`" if markdown else _commit(point), format_time(point.median),
                     _percent(trend.vs_previous(i)), remark.replace("change point:", "**change point**", 1) if markdown else remark])
    return rows


def document(report: HistoryReport, markdown: bool = False) -> list[doc.Block]:
    blocks: list[doc.Block] = [doc.Heading("cfgbench history", 3), doc.Paragraph(f"{_summary(report)}.")] if markdown else \
        [doc.Paragraph(f"History {report.directory}: {_summary(report)}")]
    changes = [(t, cp) for t in report.trends for cp in t.change_points]
    if markdown and changes:
        blocks.append(doc.Table(["target", "method", "machine", "first run after", "commit", "before", "after", "change", "p"],
                                [[t.series.target, t.series.method, t.series.machine, _date(t.series.points[cp.index].date),
                                  f"`{_commit(t.series.points[cp.index])}`", format_time(cp.before), format_time(cp.after),
                                  f"**{_percent(cp.change)}**", f"{cp.pvalue:.2g}"] for t, cp in changes], LEFT * 5 + RIGHT * 4))
    for trend in report.trends:
        where = _where(trend)
        blocks.append(doc.Heading(_heading(trend), 4) if markdown else
                      doc.Heading(_heading(trend) + (f" ({where})" if where else "")))
        blocks += [doc.Paragraph(where)] if markdown and where else []
        blocks.append(doc.Table(["date", "commit", "median", "vs previous", ""], _rows(report, trend, markdown),
                                LEFT * 2 + RIGHT * 2 + LEFT))
    return blocks


def render_text(report: HistoryReport) -> str:
    return doc.to_text(document(report))


def render_markdown(report: HistoryReport, level: int = 0) -> str:
    return doc.to_markdown(document(report, markdown=True), level)


def _point_json(trend: Trend, index: int) -> dict[str, Any]:
    point = trend.series.points[index]
    return {"date": point.date.isoformat() if point.date else None, "commit": point.commit,
            "session": point.session, "file": str(point.path), "median": point.median, "values": len(point.values),
            "vs_previous": trend.vs_previous(index), "environment_changes": trend.environment_changes(index)}


def render_json(report: HistoryReport) -> str:
    data = {
        "history": report.directory,
        "detector": {"library": "apache-otava", "max_pvalue": report.max_pvalue, "min_change": report.min_change},
        "series": [{
            "target": t.series.target, "method": t.series.method, "machine": t.series.machine,
            "environment": t.series.points[-1].environment,
            "runs": len(t.series.points),  # change point indices count from the first of them, shown or not
            "points": [_point_json(t, i) for i in report.shown(t)],
            "change_points": [{"index": cp.index, "date": _point_json(t, cp.index)["date"],
                               "commit": t.series.points[cp.index].commit, "before": cp.before, "after": cp.after,
                               "change": cp.change, "pvalue": cp.pvalue} for cp in t.change_points],
        } for t in report.trends],
    }
    return json.dumps(data, indent=2) + "\n"


RENDERERS: dict[str, Callable[[HistoryReport], str]] = {"json": render_json, "markdown": render_markdown,
                                                         "text": render_text}


def has_history(directory: Path) -> bool:
    return directory.is_dir() and any(p for p in directory.glob("*/*.json") if not p.name.startswith("."))


def trend_with_run(directory: Path | str, machine: str, result_paths: Sequence[Path], commit: str | None = None,
                   last: int | None = DEFAULT_LAST) -> HistoryReport | None:
    """The machine's series with this run appended; None when the history holds nothing yet."""
    directory = Path(directory)
    if not has_history(directory):
        return None
    grouped: dict[tuple[str, str, str], list[Point]] = {
        (s.target, s.method, s.machine): list(s.points) for s in load_history(directory) if s.machine == machine}
    for point in (replace(p, commit=commit or THIS_RUN) for path in result_paths for p in points_of_file(path, machine)):
        points = grouped.setdefault((point.target, point.method, point.machine), [])
        if point.session is None or all(p.session != point.session for p in points):
            points.append(point)  # a run already added to the history is not counted twice
    series = [Series(target, method, name, tuple(points))
              for (target, method, name), points in sorted(grouped.items(), key=lambda item: series_order(*item[0]))]
    trends = tuple(Trend(s, tuple(find_change_points(s.medians))) for s in series)
    return HistoryReport(str(directory), trends, DEFAULT_MAX_PVALUE, DEFAULT_MIN_CHANGE, last)
