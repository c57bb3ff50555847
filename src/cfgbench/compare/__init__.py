"""Compare saved runs: files (loading, environment, labels), stats (ratios with
confidence intervals, from the right unit of replication), gate (three
outcomes), model (the report and its warnings), render (text, markdown, JSON),
headline (one line per target for `lab` and multi-method `run`).

Names are loaded on first use: files.py and gate.py need neither numpy nor
scipy, and under emulation importing scipy costs ~25 s (`ci promote` in a
TCG guest needs only files and gate)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cfgbench.compare.files import ResultFile, load_result_file, load_result_files
    from cfgbench.compare.gate import (
        EXIT_CODES,
        INCONCLUSIVE,
        NO_REGRESSION,
        REGRESSION,
        GateVerdict,
        Threshold,
        parse_threshold,
    )
    from cfgbench.compare.model import Report, TargetReport, build_report, compare_paths
    from cfgbench.compare.render import RENDERERS, render_json, render_markdown, render_text
    from cfgbench.compare.stats import ALPHA, Estimate, Sample, estimate

_WHERE = {
    "files": ("ResultFile", "load_result_file", "load_result_files"),
    "gate": ("EXIT_CODES", "INCONCLUSIVE", "NO_REGRESSION", "REGRESSION", "GateVerdict", "Threshold",
             "parse_threshold"),
    "model": ("Report", "TargetReport", "build_report", "compare_paths"),
    "render": ("RENDERERS", "render_json", "render_markdown", "render_text"),
    "stats": ("ALPHA", "Estimate", "Sample", "estimate"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = [
    "ALPHA", "EXIT_CODES", "INCONCLUSIVE", "NO_REGRESSION", "REGRESSION", "RENDERERS",
    "Estimate", "GateVerdict", "Report", "ResultFile", "Sample", "TargetReport", "Threshold",
    "build_report", "compare_paths", "estimate", "load_result_file", "load_result_files", "parse_threshold",
    "render_json", "render_markdown", "render_text",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"cfgbench.compare.{module}"), name)
