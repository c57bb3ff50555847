"""A comparison as text, markdown (a CI job summary) or JSON.

After every ratio comes its 95% confidence interval, labelled as one, with
what it rests on (paired rounds, values or runs): it narrows with more data."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pyperf

from cfgbench.compare import threshold
from cfgbench.compare.breakdown import Breakdown, KernelPaths, breakdowns, kernel_paths
from cfgbench.compare.model import Report, TargetReport
from cfgbench.compare.stats import ALPHA, CONFIDENCE, Estimate, Interval
from cfgbench.tables import markdown_table, md_escape, text_table
from cfgbench.units import format_time

BREAKDOWN_TITLE = "where the time goes"
BREAKDOWN_HOW = "medians per read; sum/full and net per paired round, with 95% intervals"

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
    head = f"gate ({rules}): {outcome.upper()} (exit {threshold.EXIT_CODES[outcome]})"
    return [head] + [threshold.describe(v, report.files) for v in report.verdicts]


def _file_lines(report: Report) -> list[str]:
    return [f"[{i + 1}] {f.label}: {f.path}" + (" (reference)" if i == 0 else "")
            for i, f in enumerate(report.files)]


def _shared_line(shared: dict[str, str]) -> str:
    return "; ".join(f"{label} {value}" for label, value in shared.items())


SIGNIFICANCE_NOTE = (f"Ratios are time ratios with their {CONFIDENCE:.0%} confidence interval. Values of one "
                     "interleaved run pair by round (geometric mean of per-round ratios, t interval, Wilcoxon "
                     "signed-rank test); across runs, the run is the unit (Welch t on run medians); one run a "
                     f"side gets no verdict. alpha = {ALPHA}.")


def render_text(report: Report) -> str:
    lines = ["Files:"] + [f"  {line}" for line in _file_lines(report)]
    shared, differing = report.env_split()
    if differing:
        lines += ["", "Environment differs in:"]
        lines += text_table([["", *(f.label for f in report.files)]]
                            + [[label, *values] for label, values in differing.items()], indent="  ")
    if shared:
        lines += ["", f"Same in all files: {_shared_line(shared)}"]
    lines += ["", SIGNIFICANCE_NOTE]
    for target in report.targets:
        lines += ["", target.title]
        lines += text_table([list(_TABLE_HEADERS), *_target_rows(report, target)], indent="  ")
        lines += [f"  {s}" for s in _target_sentences(report, target)]
    if report.breakdowns or report.kernel_paths:
        lines += ["", f"{BREAKDOWN_TITLE.capitalize()} ({BREAKDOWN_HOW}):"]
        lines += [f"  {label}: {text}" for label, text in _where_lines(report)]
    if report.warnings:
        lines += ["", *(f"warning: {w}" for w in report.warnings)]
    gate_lines = _gate_lines(report)
    if gate_lines:
        lines += ["", *gate_lines]
    return "\n".join(lines) + "\n"


def _where_lines(report: Report) -> list[tuple[str, str]]:
    """Where the time goes, per file: each breakdown, then the kernel's two paths compared."""
    return ([(report.files[i].label, breakdown_line(b)) for i, found in report.breakdowns for b in found]
            + [(report.files[i].label, kernel_paths_line(k)) for i, found in report.kernel_paths for k in found])


def render_markdown(report: Report) -> str:
    lines = ["## cfgbench compare", ""]
    lines += [f"{i + 1}. **{f.label}**: `{f.path}`" + (" (reference)" if i == 0 else "")
              for i, f in enumerate(report.files)]
    shared, differing = report.env_split()
    if differing:
        lines += ["", "### Environment differences", ""]
        lines += markdown_table(["", *(f.label for f in report.files)],
                                [[label, *values] for label, values in differing.items()])
    if shared:
        lines += ["", f"Same in all files: {md_escape(_shared_line(shared))}"]
    lines += ["", SIGNIFICANCE_NOTE]
    for target in report.targets:
        lines += ["", f"### `{target.title}`", ""]
        lines += markdown_table(_TABLE_HEADERS, _target_rows(report, target))
        lines += [""] + [f"- {s}" for s in _target_sentences(report, target)]
    if report.breakdowns or report.kernel_paths:
        lines += ["", f"### {BREAKDOWN_TITLE.capitalize()}", "", f"{BREAKDOWN_HOW.capitalize()}.", ""]
        lines += [f"- **{md_escape(label)}**: {md_escape(text)}" for label, text in _where_lines(report)]
    if report.warnings:
        lines += ["", "### Warnings", ""] + [f"- {md_escape(w)}" for w in report.warnings]
    gate_lines = _gate_lines(report)
    if gate_lines:
        lines += ["", "### Gate", "", f"**{gate_lines[0]}**"] + [f"- {md_escape(line)}" for line in gate_lines[1:]]
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


def _verdict_json(verdict: threshold.GateVerdict, report: Report) -> dict[str, Any]:
    return {"threshold": verdict.threshold.text, "target": verdict.target, "file": verdict.file_index,
            "reference_file": verdict.ref_index, "statistic": verdict.threshold.statistic,
            "reference_s": verdict.ref_value, "limit_ratio": verdict.limit, "outcome": verdict.outcome,
            "estimate": estimate_json(verdict.estimate), "message": threshold.describe(verdict, report.files)}


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
        "breakdowns": [{"file": i, **breakdown_json(b)} for i, found in report.breakdowns for b in found],
        "kernel_paths": [{"file": i, "device": k.device, "type1_target": k.type1_target, "ecam_target": k.ecam_target,
                          "type1_net_s": k.type1_net_s, "ecam_net_s": k.ecam_net_s, "ratio": k.ratio.ratio,
                          "low": k.ratio.low, "high": k.ratio.high, "rests_on": k.ratio.rests_on()}
                         for i, found in report.kernel_paths for k in found],
        "gate": {"thresholds": [t.text for t in report.thresholds], "outcome": outcome,
                 "exit_code": report.exit_code,
                 "verdicts": [_verdict_json(v, report) for v in report.verdicts]},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_as_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


# --- where the time goes ------------------------------------------------------

def _short(target: str) -> str:
    return target.removeprefix("0000:").removesuffix("/4")


def _rests_on(interval: Interval | None) -> str:
    if interval is not None:
        return f"{interval.units} {interval.unit_name}"
    return "not paired by round"


def _bounds(interval: Interval | None, form: Callable[[float], str], joint: str) -> str:
    """'95% CI 0.91-1.02, ', or '' where there is no interval."""
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return f"95% CI {form(interval.low)}{joint}{form(interval.high)}, "


def breakdown_line(b: Breakdown) -> str:
    """`00:00.0+0x000: type 1 = address write (0xCF8) 210 ns + data read (0xCFC) 290 ns (sum 500 ns,
    full read 488 ns; sum/full 1.02x, 95% CI 0.99-1.06, 24 paired rounds)`, or gross - floor = net."""
    where = f"{_short(b.target)}: {b.mechanism} = "
    if b.floor is not None:
        interval = _bounds(b.net, format_time, " to ")
        text = (f"{where}{format_time(b.full_s)} gross - {format_time(b.floor.seconds)} floor = "
                f"{format_time(b.net_s)} net ({interval}{_rests_on(b.net)}; "
                f"the floor is {b.floor.seconds / b.full_s:.0%} of the read)")
    else:
        parts = " + ".join(f"{p.label} {format_time(p.seconds)}" for p in b.parts)
        total = f"sum {format_time(b.sum_s)}, " if len(b.parts) > 1 else ""
        interval = _bounds(b.ratio, lambda x: f"{x:.2f}", "-")
        text = (f"{where}{parts} ({total}full read {format_time(b.full_s)}; "
                f"{'sum' if len(b.parts) > 1 else 'part'}/full {b.sum_ratio:.2f}x, {interval}{_rests_on(b.ratio)})")
    if b.extras:
        text += "; " + ", ".join(f"{e.label} {format_time(e.seconds)}" for e in b.extras)
    return text


def kernel_paths_line(k: KernelPaths) -> str:
    """`the kernel's own paths to 00:00.0: type 1 (+0x000) 16.2 us net, ECAM (+0x100) 9.59 us net:
    type 1 1.69x slower (95% CI 1.60-1.79, 12 paired rounds)`."""
    def offset(target: str) -> str:
        return target.partition("+")[2].removesuffix("/4")

    return (f"the kernel's own paths to {_short(k.device)}: type 1 (+{offset(k.type1_target)}) {format_time(k.type1_net_s)} "
            f"net, ECAM (+{offset(k.ecam_target)}) {format_time(k.ecam_net_s)} net: type 1 {factor_words(k.ratio)} "
            f"({interval_words(k.ratio)})")


def breakdown_section(suites: Mapping[str, pyperf.BenchmarkSuite]) -> list[str]:
    """Where the time goes, per file (labelled: a method, or '' for one
    file): a title, then one line per target and mechanism; nothing without
    split benchmarks."""
    found = [f"{label} {breakdown_line(b)}".lstrip() for label, suite in suites.items()
             for b in breakdowns(suite.get_benchmarks())]
    found += [kernel_paths_line(k) for suite in suites.values() for k in kernel_paths(suite.get_benchmarks())]
    return [f"{BREAKDOWN_TITLE} ({BREAKDOWN_HOW}):", *(f"  {t}" for t in found)] if found else []


def breakdown_json(b: Breakdown) -> dict[str, Any]:
    def interval(i: Interval | None) -> dict[str, float | int | str | None] | None:
        if i is None:
            return None
        return {"median": i.center, "low": i.low, "high": i.high, "confidence": 0.95, "units": i.units,
                "unit_name": i.unit_name}

    return {"target": b.target, "mechanism": b.mechanism, "full_s": b.full_s,
            "parts": [{"label": p.label, "s": p.seconds} for p in b.parts],
            "floor": {"label": b.floor.label, "s": b.floor.seconds} if b.floor else None,
            "extras": [{"label": e.label, "s": e.seconds} for e in b.extras],
            "sum_s": b.sum_s if b.parts else None, "sum_over_full": b.sum_ratio if b.parts else None,
            "sum_over_full_ci": interval(b.ratio), "net_s": b.net_s if b.floor else None,
            "net_ci": interval(b.net), "paired_rounds": b.paired, "statistic": "median"}
