"""matplotlib figures from result files and histories.

- answer.py: the answer figure for the files of a run of several methods (a
  lab): each target's ratios with their 95% intervals, where the time goes,
  the tail of single reads. What `plot` draws by default for such files, and
  what `lab` and `run --plot` write.
- panels.py: per-target panels (distribution, ecdf, reads, breakdown) in a grid.
- bars.py: the breakdown's stacked bars, for both; series.py and style.py:
  what a file holds for a target, colours and axes; history.py: a
  history's trend; output.py: sizes and writing images.

Only the object-oriented API on an Agg canvas: no pyplot state, no display;
numpy and matplotlib are imported inside the functions that draw. A part
without data is never drawn: the drawing names what it left out, and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyperf

from cfgbench.compare.files import ResultFile, load_result_files
from cfgbench.errors import CfgbenchError
from cfgbench.plot.answer import ANSWER, ANSWER_GID, TAIL_GID, Ratio, draw_answer, files_of, ratios
from cfgbench.plot.bars import BREAKDOWN_GID
from cfgbench.plot.history import CHANGE_POINT_GID, build_history_figure, plot_history
from cfgbench.plot.output import (
    PLOT_EXTRA,
    Drawing,
    Written,
    check_output,
    matplotlib_available,
    parse_size,
    refuse_existing,
    require_matplotlib,
    save_drawing,
    save_figure,
)
from cfgbench.plot.panels import PANELS, build_figure, draw_files

CHOICES = (ANSWER, *PANELS)


def default_panels(files: Sequence[ResultFile]) -> tuple[str, ...]:
    """The answer figure for files of several methods (the files of a run);
    the distribution per target for one method's files (runs or machines side by side)."""
    methods = {f.env.get("method") for f in files}
    return (ANSWER,) if len(methods) > 1 else ("distribution",)


def draw(files: Sequence[ResultFile], panels: Sequence[str] = (), size: tuple[int, int] | None = None,
         dpi: int = 100) -> Drawing:
    """The answer figure, or per-target panels; no panels: default_panels."""
    panels = tuple(panels) or default_panels(files)
    if ANSWER in panels:
        if len(panels) > 1:
            raise CfgbenchError(f"--panel {ANSWER} is a figure of its own", f"give --panel {ANSWER} alone, or "
                                f"other panels without it: {', '.join(PANELS)}")
        return draw_answer(files, size, dpi)
    return draw_files(files, panels, size, dpi)


def plot_paths(paths: Sequence[str], output: Path | str, force: bool = False,
               size: tuple[int, int] | None = None, dpi: int = 100, panels: Sequence[str] = ()) -> Written:
    """The library entry point of `cfgbench plot`."""
    require_matplotlib()
    refuse_existing(Path(output), force)  # before the slow part; checked again when saving
    return save_drawing(draw(load_result_files(paths), panels, size, dpi), output, force)


def save_answer(suites: Mapping[str, pyperf.BenchmarkSuite], output: Path | str, force: bool = False,
                more: Sequence[Ratio] = ()) -> Written:
    """The answer figure of a run's suites (method -> suite), as `lab` and `run --plot` write it,
    with `more` rows (the lab's rescan A/B)."""
    require_matplotlib()
    check_output(output, force)
    return save_drawing(draw_answer(files_of(suites), more=more), output, force)


__all__ = ["ANSWER", "ANSWER_GID", "BREAKDOWN_GID", "CHANGE_POINT_GID", "CHOICES", "PANELS", "PLOT_EXTRA", "TAIL_GID", "Drawing",
           "Ratio", "Written", "build_figure", "build_history_figure", "check_output", "default_panels", "draw", "draw_answer",
           "draw_files", "files_of", "matplotlib_available", "parse_size", "plot_history", "plot_paths", "ratios",
           "require_matplotlib", "save_answer", "save_figure"]
