"""matplotlib figures from result files and histories (the object-oriented API on an Agg canvas, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cfgbench import access
from cfgbench.compare.breakdown import kernel_paths
from cfgbench.compare.files import ResultFile, load_result_files
from cfgbench.compare.model import Report, build_report
from cfgbench.errors import CfgbenchError
from cfgbench.plot.answer import ANSWER, ANSWER_GID, TAIL_GID, answer_rows, draw_answer
from cfgbench.plot.bars import BREAKDOWN_GID
from cfgbench.plot.history import CHANGE_POINT_GID, build_history_figure, plot_history
from cfgbench.plot.output import (PLOT_EXTRA, Drawing, Written, check_output, matplotlib_available, parse_size, refuse_existing,
                                  require_matplotlib, save_drawing, save_figure)
from cfgbench.plot.panels import PANELS, build_figure, draw_files

CHOICES = (ANSWER, *PANELS)


def default_panels(files: Sequence[ResultFile]) -> tuple[str, ...]:
    """The answer figure for a run's files (several methods, or the kernel's two paths); else the distribution."""
    several = len({f.env.get("method") for f in files}) > 1
    return (ANSWER,) if several or any(kernel_paths(f.benchmarks.values()) for f in files) else ("distribution",)


def draw(files: Sequence[ResultFile], panels: Sequence[str] = (), size: tuple[int, int] | None = None,
         dpi: int = 100) -> Drawing:
    panels = tuple(panels) or default_panels(files)
    if ANSWER in panels:
        if len(panels) > 1:
            raise CfgbenchError(f"--panel {ANSWER} is a figure of its own", f"give --panel {ANSWER} alone, or "
                                f"other panels without it: {', '.join(PANELS)}")
        # In the registry's order, pio is mmio's reference whatever order the files came in.
        ordered = sorted(files, key=lambda f: access.rank(f.env.get("method", "")))
        return draw_answer(build_report(ordered, overlap=False), size, dpi)
    return draw_files(files, panels, size, dpi)


def plot_paths(paths: Sequence[str], output: Path | str, force: bool = False,
               size: tuple[int, int] | None = None, dpi: int = 100, panels: Sequence[str] = ()) -> Written:
    require_matplotlib()
    refuse_existing(Path(output), force)  # before the slow part; checked again when saving
    return save_drawing(draw(load_result_files(paths), panels, size, dpi), output, force)


def save_answer(report: Report, output: Path | str, force: bool = False) -> Written:
    require_matplotlib()
    check_output(output, force)
    return save_drawing(draw_answer(report), output, force)


__all__ = ["ANSWER", "ANSWER_GID", "BREAKDOWN_GID", "CHANGE_POINT_GID", "CHOICES", "PANELS", "PLOT_EXTRA", "TAIL_GID", "Drawing",
           "Written", "build_figure", "build_history_figure", "check_output", "default_panels", "draw", "draw_answer",
           "draw_files", "answer_rows", "matplotlib_available", "parse_size", "plot_history", "plot_paths",
           "require_matplotlib", "save_answer", "save_figure"]
