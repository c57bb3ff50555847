"""A comparison as text, markdown (a CI job summary) or JSON.

After every ratio comes its 95% confidence interval, labelled as one, with
what it rests on (paired rounds, values or runs): it narrows with more data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cfgbench import breakdown
from cfgbench.compare import gate
from cfgbench.compare.model import Report, TargetReport
from cfgbench.compare.stats import ALPHA, CONFIDENCE, Estimate
from cfgbench.units import format_time

_TABLE_HEADERS = ("file", "mean ± std dev", "median", "min … max", "n", "vs reference", "95% CI", "verdict")


def _digits(value: float) -> int:
    return 2 if value < 10 else 1 if value < 100 else 0


def factor(e: Estimate) -> tuple[float, str, float | None, float | None]:
    """(factor >= 1, 'faster'|'slower', interval low, high) in that orientation."""
    if e.ratio < 1:
        return 1 / e.ratio, "faster", (1 / e.high if e.high else None), (1 / e.low if e.low else None)
    return e.ratio, "slower", e.low, e.high


def factor_words(e: Estimate) -> str:
    """'1.85x faster', '17.5x slower', 'as fast'."""
    value, word, _, _ = factor(e)
    if round(value, _digits(value)) == 1.0 and e.ratio == 1.0:
        return "as fast"
    return f"{value:.{_digits(value)}f}x {word}"


def interval_words(e: Estimate) -> str:
    """'95% CI 1.80-1.90, 48 paired rounds', or why there is no interval."""
    value, _, low, high = factor(e)
    if low is None or high is None:
        return f"no interval: {e.note}"
    digits = _digits(value)
    return f"{CONFIDENCE:.0%} CI {low:.{digits}f}-{high:.{digits}f}, {e.rests_on()}"


def per_run_words(e: Estimate) -> str:
    """Each run's own ratio, oriented as the overall one ('per run 1.80, 2.10')."""
    if len(e.per_run) < 2:
        return ""
    return "per run " + ", ".join(f"{(1 / r if e.ratio < 1 else r):.2f}" for r in e.per_run)


def sentence(label: str, ref_label: str, e: Estimate) -> str:
    """'mmio ran 1.85x faster than pio (95% CI 1.80-1.90, 48 paired rounds; significant, ...)'."""
    words = factor_words(e)
    verb = f"ran {words} than {ref_label}" if words != "as fast" else f"ran as fast as {ref_label}"
    extra = "; ".join(part for part in (interval_words(e), per_run_words(e), e.verdict()) if part)
    return f"{label} {verb} ({extra})"


def _target_rows(report: Report, target: TargetReport) -> list[list[str]]:
    by_file = {c.file_index: c for c in target.comparisons}
    rows = []
    for index, sample in target.samples.items():
        comparison = by_file.get(index)
        e = comparison.estimate if comparison else None
        rows.append([
            report.files[index].label,
            format_time(sample.mean, sample.std),
            format_time(sample.median),
            f"{format_time(sample.min)} … {format_time(sample.max)}",
            str(sample.n),
            factor_words(e) if e else "reference",
            interval_words(e).removeprefix(f"{CONFIDENCE:.0%} CI ") if e else "",
            e.verdict() if e else "",
        ])
    return rows


def _target_sentences(report: Report, target: TargetReport) -> list[str]:
    ref_label = report.files[target.reference].label
    return [sentence(report.files[c.file_index].label, ref_label, c.estimate) for c in target.comparisons]


def _gate_lines(report: Report) -> list[str]:
    outcome = report.gate_outcome
    if outcome is None:
        return []
    rules = ", ".join(t.text for t in report.thresholds)
    head = f"gate ({rules}): {outcome.upper()} (exit {gate.EXIT_CODES[outcome]})"
    return [head] + [gate.describe(v, report.files) for v in report.verdicts]


def _file_lines(report: Report) -> list[str]:
    return [f"[{i + 1}] {f.label}: {f.path}" + (" (reference)" if i == 0 else "")
            for i, f in enumerate(report.files)]


def _shared_line(shared: dict[str, str]) -> str:
    return "; ".join(f"{label} {value}" for label, value in shared.items())


SIGNIFICANCE_NOTE = (f"Ratios are time ratios with their {CONFIDENCE:.0%} confidence interval. Values of one "
                     "interleaved run pair by round (geometric mean of per-round ratios, t interval, Wilcoxon "
                     "signed-rank test); across runs, the run is the unit (Welch t on run medians); one run a "
                     f"side gets no verdict. alpha = {ALPHA}.")


def _align(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_text(report: Report) -> str:
    lines = ["Files:"] + [f"  {line}" for line in _file_lines(report)]
    shared, differing = report.env_split()
    if differing:
        lines += ["", "Environment differs in:"]
        lines += _align([["", *(f.label for f in report.files)]]
                        + [[label, *values] for label, values in differing.items()])
    if shared:
        lines += ["", f"Same in all files: {_shared_line(shared)}"]
    lines += ["", SIGNIFICANCE_NOTE]
    for target in report.targets:
        lines += ["", target.title]
        lines += _align([list(_TABLE_HEADERS), *_target_rows(report, target)])
        lines += [f"  {s}" for s in _target_sentences(report, target)]
    if report.breakdowns:
        lines += ["", f"{breakdown.TITLE.capitalize()} ({breakdown.HOW}):"]
        lines += [f"  {report.files[i].label}: {breakdown.line(b)}" for i, found in report.breakdowns for b in found]
    if report.warnings:
        lines += ["", *(f"warning: {w}" for w in report.warnings)]
    gate_lines = _gate_lines(report)
    if gate_lines:
        lines += ["", *gate_lines]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def render_markdown(report: Report) -> str:
    lines = ["## cfgbench compare", ""]
    lines += [f"{i + 1}. **{f.label}**: `{f.path}`" + (" (reference)" if i == 0 else "")
              for i, f in enumerate(report.files)]
    shared, differing = report.env_split()
    if differing:
        lines += ["", "### Environment differences", ""]
        lines += _md_table(["", *(f.label for f in report.files)],
                           [[label, *values] for label, values in differing.items()])
    if shared:
        lines += ["", f"Same in all files: {_md_cell(_shared_line(shared))}"]
    lines += ["", SIGNIFICANCE_NOTE]
    for target in report.targets:
        lines += ["", f"### `{target.title}`", ""]
        lines += _md_table(_TABLE_HEADERS, _target_rows(report, target))
        lines += [""] + [f"- {s}" for s in _target_sentences(report, target)]
    if report.breakdowns:
        lines += ["", f"### {breakdown.TITLE.capitalize()}", "", f"{breakdown.HOW.capitalize()}.", ""]
        lines += [f"- **{_md_cell(report.files[i].label)}**: {_md_cell(breakdown.line(b))}"
                  for i, found in report.breakdowns for b in found]
    if report.warnings:
        lines += ["", "### Warnings", ""] + [f"- {_md_cell(w)}" for w in report.warnings]
    gate_lines = _gate_lines(report)
    if gate_lines:
        lines += ["", "### Gate", "", f"**{gate_lines[0]}**"] + [f"- {_md_cell(line)}" for line in gate_lines[1:]]
    return "\n".join(lines) + "\n"


def estimate_json(e: Estimate) -> dict[str, Any]:
    return {"ratio": e.ratio, "ci_low": e.low, "ci_high": e.high, "confidence": CONFIDENCE, "design": e.design,
            "units": e.units, "unit_name": e.unit_name, "p_value": e.p_value, "test": e.test,
            "significant": e.significant, "per_run": list(e.per_run), "note": e.note}


def _target_json(report: Report, target: TargetReport) -> dict[str, Any]:
    ref_label = report.files[target.reference].label
    return {
        "name": target.name,
        "display_name": target.title,
        "reference": target.reference,
        "results": [{"file": i, **sample.as_json()} for i, sample in target.samples.items()],
        "comparisons": [
            {"file": c.file_index, **estimate_json(c.estimate),
             "summary": sentence(report.files[c.file_index].label, ref_label, c.estimate)}
            for c in target.comparisons
        ],
    }


def _verdict_json(verdict: gate.GateVerdict, report: Report) -> dict[str, Any]:
    return {"threshold": verdict.threshold.text, "target": verdict.target, "file": verdict.file_index,
            "reference_file": verdict.ref_index, "statistic": verdict.threshold.statistic,
            "reference_s": verdict.ref_value, "limit_ratio": verdict.limit, "outcome": verdict.outcome,
            "estimate": estimate_json(verdict.estimate), "message": gate.describe(verdict, report.files)}


def report_as_dict(report: Report) -> dict[str, Any]:
    shared, differing = report.env_split()
    outcome = report.gate_outcome
    return {
        "reference": 0,
        "files": [{"path": f.path, "label": f.label, "env": f.env} for f in report.files],
        "environment": {"shared": shared, "differing": differing},
        "method_note": SIGNIFICANCE_NOTE,
        "alpha": ALPHA,
        "targets": [_target_json(report, target) for target in report.targets],
        "warnings": report.warnings,
        "breakdowns": [{"file": i, **breakdown.as_json(b)} for i, found in report.breakdowns for b in found],
        "gate": {"thresholds": [t.text for t in report.thresholds], "outcome": outcome,
                 "exit_code": report.exit_code,
                 "verdicts": [_verdict_json(v, report) for v in report.verdicts]},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_as_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
