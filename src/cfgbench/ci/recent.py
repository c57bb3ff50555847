"""The history's trend on one machine with this run as its newest point: a gate runs before the run is added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cfgbench.history.changepoints import DEFAULT_MAX_PVALUE, DEFAULT_MIN_CHANGE, find_change_points
from cfgbench.history.store import Point, Series, load_history, points_of_file, series_order
from cfgbench.history.trend import HistoryReport, Trend

DEFAULT_LAST = 20
THIS_RUN = "this run"


def has_history(directory: Path) -> bool:
    return directory.is_dir() and any(p for p in directory.glob("*/*.json") if not p.name.startswith("."))


def _this_run(result_paths: Sequence[Path], machine: str, commit: str | None) -> list[Point]:
    return [replace(point, commit=commit or THIS_RUN)
            for path in result_paths for point in points_of_file(path, machine)]


def trend_with_run(directory: Path | str, machine: str, result_paths: Sequence[Path], commit: str | None = None,
                   last: int | None = DEFAULT_LAST) -> HistoryReport | None:
    """The machine's series with this run appended; None when the history holds nothing yet."""
    directory = Path(directory)
    if not has_history(directory):
        return None
    grouped: dict[tuple[str, str, str], list[Point]] = {
        (s.target, s.method, s.machine): list(s.points) for s in load_history(directory) if s.machine == machine}
    for point in _this_run(result_paths, machine, commit):
        points = grouped.setdefault((point.target, point.method, point.machine), [])
        if point.session is None or all(p.session != point.session for p in points):
            points.append(point)  # a run already added to the history is not counted twice
    series = [Series(target, method, name, tuple(points))
              for (target, method, name), points in sorted(grouped.items(), key=lambda item: series_order(*item[0]))]
    trends = tuple(Trend(s, tuple(find_change_points(s.medians))) for s in series)
    return HistoryReport(str(directory), trends, DEFAULT_MAX_PVALUE, DEFAULT_MIN_CHANGE, last)
