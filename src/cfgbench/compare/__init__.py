"""Compare saved runs: files (loading, environment, labels), stats (ratios with
confidence intervals, from the right unit of replication), threshold (the
gate's rules and three outcomes), breakdown (where the time goes), model (the
report and its warnings), render (text, markdown, JSON), headline (one line
per target for `lab` and multi-method `run`).

None of them imports numpy or scipy at import time (seconds in an emulated
guest): the statistics import them inside the functions that need them."""

from cfgbench.compare.files import ResultFile, load_result_file, load_result_files
from cfgbench.compare.model import Report, TargetReport, build_report, compare_paths
from cfgbench.compare.render import RENDERERS, render_json, render_markdown, render_text
from cfgbench.compare.stats import ALPHA, Estimate, Sample, estimate
from cfgbench.compare.threshold import (
    EXIT_CODES,
    INCONCLUSIVE,
    NO_REGRESSION,
    REGRESSION,
    GateVerdict,
    Threshold,
    parse_threshold,
)

__all__ = [
    "ALPHA", "EXIT_CODES", "INCONCLUSIVE", "NO_REGRESSION", "REGRESSION", "RENDERERS",
    "Estimate", "GateVerdict", "Report", "ResultFile", "Sample", "TargetReport", "Threshold",
    "build_report", "compare_paths", "estimate", "load_result_file", "load_result_files", "parse_threshold",
    "render_json", "render_markdown", "render_text",
]
