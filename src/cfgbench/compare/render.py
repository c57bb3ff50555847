"""A Report in words: the sentences every renderer shares, compare's document (text, markdown) and its JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

from cfgbench import document as doc
from cfgbench.compare import threshold
from cfgbench.compare.breakdown import Breakdown
from cfgbench.compare.model import ANSWER_KINDS, KERNEL_PATHS, Answer, ColdHot, Report, TargetReport, short_target
from cfgbench.compare.stats import ALPHA, CONFIDENCE, Estimate, Interval, Sample
from cfgbench.document import format_time
from cfgbench.pci_regs import ALL_ONES
from cfgbench.schema import VALUE

BREAKDOWN_TITLE = "where the time goes"
BREAKDOWN_HOW = "medians per read; sum/full and net per paired round, with 95% intervals"
_TABLE_HEADERS = ("file", "mean ± std dev", "median", "min … max", "n", "vs reference", "95% CI", "verdict")
SIGNIFICANCE_NOTE = (f"Ratios are time ratios with their {CONFIDENCE:.0%} confidence interval. Values of one "
                     "interleaved run pair by round (geometric mean of per-round ratios, t interval, Wilcoxon "
                     "signed-rank test); across runs, the run is the unit (Welch t on run medians); one run a "
                     f"side gets no verdict. alpha = {ALPHA}.")


def _digits(value: float) -> int:
    return 2 if value < 10 else 1 if value < 100 else 0


def factor(e: Estimate) -> tuple[float, str, float | None, float | None]:
    """(factor >= 1, 'faster' or 'slower', interval low, high) in that orientation."""
    if e.ratio < 1:
        return 1 / e.ratio, "faster", (1 / e.high if e.high else None), (1 / e.low if e.low else None)
    return e.ratio, "slower", e.low, e.high


def factor_words(e: Estimate) -> str:
    """'1.85x faster', '17.5x slower', 'as fast'."""
    value, word, _, _ = factor(e)
    if round(value, _digits(value)) == 1.0 and e.ratio == 1.0:
        return "as fast"
    return f"{value:.{_digits(value)}f}x {word}"


def interval_words(e: Estimate, rests_on: bool = True) -> str:
    """'95% CI 1.80-1.90, 48 paired rounds', or why there is no interval."""
    value, _, low, high = factor(e)
    if low is None or high is None:
        return f"no interval: {e.note}" if rests_on else "no interval"
    digits = _digits(value)
    return f"{CONFIDENCE:.0%} CI {low:.{digits}f}-{high:.{digits}f}" + (f", {e.rests_on()}" if rests_on else "")


def per_run_words(e: Estimate) -> str:
    """'per run 1.80, 2.10', oriented as the overall ratio."""
    if len(e.per_run) < 2:
        return ""
    return "per run " + ", ".join(f"{(1 / r if e.ratio < 1 else r):.2f}" for r in e.per_run)


def answer_words(a: Answer, verdict: bool = False, short: bool = False) -> str:
    """'mmio 1.85x faster than pio (95% CI 1.80-1.90, 48 paired rounds; ...)', as every renderer says a row."""
    e = a.estimate
    words = factor_words(e)
    verb = f"{words} than {a.reference}" if words != "as fast" else f"as fast as {a.reference}"
    parts = [interval_words(e, rests_on=not short)] + ([] if short else [per_run_words(e)])
    if verdict:
        parts.append(e.verdict())
    elif e.p_value is not None and not e.significant:
        parts.append("not significant")
    if a.detail and not short:
        parts.append(a.detail)
    return f"{a.label} {verb} ({'; '.join(p for p in parts if p)})"


def answer_where(a: Answer) -> str:
    """What a row is about: '00:00.0+0x000', 'scan 00-01', '00:00.0 through the kernel'."""
    return f"{a.target.removeprefix('0000:')} through the kernel" if a.kind == KERNEL_PATHS else short_target(a.target)


def answer_line(a: Answer) -> str:
    return f"{answer_where(a)}: {answer_words(a)}"


def _target_rows(report: Report, target: TargetReport) -> list[list[str]]:
    by_file = {c.file_index: c.estimate for c in target.comparisons}
    rows = []
    for index, s in target.samples.items():
        e = by_file.get(index)
        rows.append([report.files[index].label, format_time(s.mean, s.std), format_time(s.median),
                     f"{format_time(s.min)} … {format_time(s.max)}", str(s.n), factor_words(e) if e else "reference",
                     interval_words(e).removeprefix(f"{CONFIDENCE:.0%} CI ") if e else "", e.verdict() if e else ""])
    return rows


def _gate_lines(report: Report) -> list[str]:
    if (outcome := report.gate_outcome) is None:
        return []
    head = f"gate ({', '.join(t.text for t in report.thresholds)}): {outcome.upper()} (exit {threshold.EXIT_CODES[outcome]})"
    return [head] + [threshold.describe(v, report.files) for v in report.verdicts]


def pattern_lines(rows: Sequence[ColdHot]) -> list[str]:
    """One line per pass: each method's time per read cold and hot, and the paired ratio."""
    by_pass: dict[str, list[str]] = {}
    for row in rows:
        e, hot = row.estimate, row.hot.get_name().removeprefix("hot 0000:")
        kind = "absent" if row.hot.get_metadata().get(VALUE) == f"{ALL_ONES[4]:#010x}" else "present"
        ratio = "" if e is None else f" = {e.ratio:.2f}x"
        interval = f", {CONFIDENCE:.0%} CI {e.low:.2f}-{e.high:.2f}" if e is not None and e.low and e.high else ""
        by_pass.setdefault(row.cold.get_name().replace(" 0000:", " "), []).append(
            f"{row.method} {format_time(row.cold.median())} against {format_time(row.hot.median())} "
            f"({kind} {hot}){ratio}{interval}")
    return [f"{name}, per read, against one of its registers read over and over: " + "; ".join(parts)
            for name, parts in by_pass.items()]


def breakdown_lines(report: Report) -> list[str]:
    return [f"{report.files[i].label} {breakdown_line(b)}" for i, found in report.breakdowns for b in found]


def breakdown_section(report: Report) -> list[str]:
    """Where the time goes as plain lines: a title, then a line per target and mechanism; nothing without any."""
    lines = breakdown_lines(report)
    return [f"{BREAKDOWN_TITLE} ({BREAKDOWN_HOW}):", *(f"  {line}" for line in lines)] if lines else []


def document(report: Report) -> list[doc.Block]:
    """Files, environment, answers, each target's table, where the time goes, warnings, gate."""
    blocks: list[doc.Block] = [doc.Heading("Files:", 3), doc.Bullets(
        [f"[{i + 1}] {f.label}: {f.path}" + (" (reference)" if i == 0 and len(report.files) > 1 else "")
         for i, f in enumerate(report.files)])]
    shared, differing = report.env_split()
    if differing and len(report.files) > 1:
        blocks += [doc.Heading("Environment differs in:", 3),
                   doc.Table(["", *(f.label for f in report.files)], [[label, *v] for label, v in differing.items()])]
    if shared:
        blocks.append(doc.Paragraph("Same in all files: " + "; ".join(f"{k} {v}" for k, v in shared.items())))
    blocks.append(doc.Paragraph(SIGNIFICANCE_NOTE))
    if answers := report.rows(*ANSWER_KINDS):
        several = len(report.files) > 1
        blocks += [doc.Heading("Answers:", 3), doc.Bullets([
            f"{report.files[a.file_index].label}: {answer_line(a)}" if several and a.kind == KERNEL_PATHS else answer_line(a)
            for a in answers])]
    for target in report.targets:
        sentences = [answer_words(a, verdict=True) for a in report.answers if a.target == target.name]
        blocks += [doc.Heading(target.display, 3, code=True), doc.Table(_TABLE_HEADERS, _target_rows(report, target)),
                   doc.Bullets(sentences)]
    if report.patterns:
        blocks += [doc.Heading("Cold against hot (a new function at every read against one register):", 3),
                   doc.Bullets(pattern_lines(report.patterns))]
    if report.breakdowns:
        blocks += [doc.Heading(f"{BREAKDOWN_TITLE.capitalize()} ({BREAKDOWN_HOW}):", 3), doc.Bullets(breakdown_lines(report))]
    if report.findings:
        blocks += [doc.Heading("Warnings:", 3), doc.Bullets([f.text() for f in report.findings], "warning: ")]
    if gate_lines := _gate_lines(report):
        blocks += [doc.Heading(gate_lines[0], 3), doc.Bullets(gate_lines[1:])]
    return blocks


def render_text(report: Report) -> str:
    return doc.to_text(document(report))


def render_markdown(report: Report, level: int = 0) -> str:
    return "## cfgbench compare\n\n" * (level == 0) + doc.to_markdown(document(report), level)


def as_data(value: Any) -> Any:
    """A model's dataclasses as JSON data: a sample with its statistics, no pyperf objects."""
    if isinstance(value, Sample):
        return {**value.as_json(), "values": list(value.values)}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_data(getattr(value, f.name)) for f in fields(value) if f.name != "benchmarks"}
    if isinstance(value, dict):
        return {str(k): as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    return value


def render_json(report: Report) -> str:
    data = {"confidence": CONFIDENCE, "alpha": ALPHA, "method_note": SIGNIFICANCE_NOTE,
            **{k: v for k, v in as_data(report).items()
               if k not in ("thresholds", "verdicts", "breakdowns", "kernel_paths", "patterns")},
            "patterns": [{"method": r.method, "cold": r.cold.get_name(), "hot": r.hot.get_name(), "cold_s": r.cold.median(),
                          "hot_s": r.hot.median(), "estimate": as_data(r.estimate)} for r in report.patterns],
            "breakdowns": [{"file": i, **as_data(b), "sum_s": b.sum_s if b.parts else None, "net_s": b.net_s if b.floor else None,
                            "sum_over_full": b.sum_ratio if b.parts else None} for i, found in report.breakdowns for b in found],
            "kernel_paths": [{"file": i, **as_data(k)} for i, found in report.kernel_paths for k in found],
            "warnings": report.warnings, "answer_lines": [answer_line(a) for a in report.rows(*ANSWER_KINDS)],
            "gate": {"thresholds": [t.text for t in report.thresholds], "outcome": report.gate_outcome,
                     "exit_code": report.exit_code,
                     "verdicts": [{**as_data(v), "limit_ratio": v.limit, "message": threshold.describe(v, report.files)}
                                  for v in report.verdicts]}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "markdown": render_markdown, "json": render_json}


def _rests_on(interval: Interval | None) -> str:
    return f"{interval.units} {interval.unit_name}" if interval is not None else "not paired by round"


def _bounds(interval: Interval | None, form: Callable[[float], str], joint: str) -> str:
    """'95% CI 0.91-1.02, ', or '' where there is no interval."""
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return f"{CONFIDENCE:.0%} CI {form(interval.low)}{joint}{form(interval.high)}, "


def breakdown_line(b: Breakdown) -> str:
    """`00:00.0+0x000: type 1 = address write (0xCF8) 210 ns + ... (sum ..., full read ...; sum/full ...)`, or gross - floor = net."""
    where = f"{b.target.removeprefix('0000:').removesuffix('/4')}: {b.mechanism} = "
    if b.floor is not None:
        text = (f"{where}{format_time(b.full_s)} gross - {format_time(b.floor.seconds)} floor = {format_time(b.net_s)} "
                f"net ({_bounds(b.net, format_time, ' to ')}{_rests_on(b.net)}; the floor is "
                f"{b.floor.seconds / b.full_s:.0%} of the read)")
    else:
        parts = " + ".join(f"{p.label} {format_time(p.seconds)}" for p in b.parts)
        total = f"sum {format_time(b.sum_s)}, " if len(b.parts) > 1 else ""
        text = (f"{where}{parts} ({total}full read {format_time(b.full_s)}; {'sum' if len(b.parts) > 1 else 'part'}/full "
                f"{b.sum_ratio:.2f}x, {_bounds(b.ratio, lambda x: f'{x:.2f}', '-')}{_rests_on(b.ratio)})")
    return text + ("; " + ", ".join(f"{e.label} {format_time(e.seconds)}" for e in b.extras) if b.extras else "")
