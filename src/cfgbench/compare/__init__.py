"""Compare saved runs: one answer model, rendered as compare's text, markdown and JSON and as the end of a run."""

from cfgbench.compare.files import ResultFile, load_result_file, load_result_files
from cfgbench.compare.model import Answer, Report, TargetReport, build_report, compare_paths, report_of
from cfgbench.compare.render import RENDERERS, render_json, render_markdown, render_text
from cfgbench.compare.stats import ALPHA, Estimate, Sample
from cfgbench.compare.threshold import (EXIT_CODES, INCONCLUSIVE, NO_REGRESSION, REGRESSION, GateVerdict, Threshold,
                                        parse_threshold)

__all__ = [
    "ALPHA", "EXIT_CODES", "INCONCLUSIVE", "NO_REGRESSION", "REGRESSION", "RENDERERS", "Answer",
    "Estimate", "GateVerdict", "Report", "ResultFile", "Sample", "TargetReport", "Threshold",
    "build_report", "compare_paths", "load_result_file", "load_result_files", "parse_threshold",
    "render_json", "render_markdown", "render_text", "report_of",
]
