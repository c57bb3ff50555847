"""Compare saved runs: statistics, significance, ratios, the regression gate, rendering.

The first file is the reference. Each pyperf benchmark is one target (its name,
e.g. ``read 0000:00:00.0+0x000/4``); every later file is compared with the
reference on the targets they share. Values are seconds per read.

Significance: a two-sided Mann-Whitney U test (scipy) at ALPHA. Timings of
config reads are skewed with a long tail (interrupts, VM exits, SMIs), so a
rank test that assumes no distribution shape and shrugs off a few outliers fits
better than a t-test. Without scipy: Welch's t-test with pyperf's own 95%
t table (for equal counts its t score is the one `pyperf compare_to` uses).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pyperf

from cfgbench.errors import CfgbenchError
from cfgbench.results import METHOD_KEY, bench_metadata, load_suite
from cfgbench.units import UNIT_SCALE, format_time

ALPHA = 0.05

# pyperf's "std dev is x% of the mean" warning uses the same bound.
UNSTABLE_RELATIVE_STDEV = 0.10

# Metadata shown in the environment comparison: (metadata key, label).
ENV_KEYS: tuple[tuple[str, str], ...] = (
    (METHOD_KEY, "method"),
    ("cfgbench_environment", "environment"),
    ("cfgbench_hypervisor", "hypervisor"),
    ("cfgbench_lab_accel", "lab accel"),
    ("cfgbench_lab_kernel", "lab kernel"),
    ("cfgbench_kernel_release", "kernel release"),
    ("cfgbench_cpu_model", "CPU"),
    ("cfgbench_dmi_product", "machine"),
    ("cfgbench_version", "cfgbench version"),
)

# Short attributes that tell apart two files of the same method, best first:
# a reader recognises "kvm" or "guest" faster than a file name.
DISTINGUISHING_ENV = ("lab accel", "environment", "hypervisor", "kernel release",
                      "lab kernel", "machine", "CPU", "cfgbench version")

Statistic = Literal["mean", "median"]

MANN_WHITNEY = "Mann-Whitney U"
WELCH = "Welch t"

# --------------------------------------------------------------------------- units

# --------------------------------------------------------------------------- loading


def _load_cfgbench_suite(path: str) -> pyperf.BenchmarkSuite:
    """load_suite, and refuse pyperf files that cfgbench did not write."""
    suite = load_suite(path)
    for bench in suite.get_benchmarks():
        if METHOD_KEY not in bench_metadata(bench):
            raise CfgbenchError(
                f"{path} is a pyperf file but not a cfgbench result "
                f"(benchmark {bench.get_name()!r} has no {METHOD_KEY} metadata)",
                "give files written by cfgbench run; compare other pyperf files with python -m pyperf compare_to",
            )
    return suite


@dataclass(frozen=True)
class ResultFile:
    """One loaded result file, its environment and a short label for tables."""

    path: str
    benchmarks: dict[str, pyperf.Benchmark]
    env: dict[str, str]
    label: str = ""


def _file_env(benchmarks: Sequence[pyperf.Benchmark]) -> dict[str, str]:
    """ENV_KEYS label -> value; distinct values across a file's targets are joined."""
    metadatas = [bench_metadata(bench) for bench in benchmarks]
    env: dict[str, str] = {}
    for key, label in ENV_KEYS:
        values = {str(md[key]) for md in metadatas if key in md}
        if key == "cfgbench_cpu_model" and not values:
            values = {str(md["cpu_model_name"]) for md in metadatas if "cpu_model_name" in md}
        if values:
            env[label] = ", ".join(sorted(values))
    return env


def load_result_file(path: str) -> ResultFile:
    suite = _load_cfgbench_suite(path)
    benchmarks = {bench.get_name(): bench for bench in suite.get_benchmarks()}
    return ResultFile(path=path, benchmarks=benchmarks, env=_file_env(list(benchmarks.values())))


def _path_tail(path: str, depth: int) -> str:
    """The last `depth` components of a path, without .json/.json.gz: `baseline/pio`."""
    parts = Path(path.removesuffix(".gz").removesuffix(".json")).parts
    return "/".join(parts[-depth:])


def _distinguisher(index: int, group: list[int], files: Sequence[ResultFile]) -> str:
    for label in DISTINGUISHING_ENV:
        values = [files[j].env.get(label) for j in group]
        if None not in values and len(set(values)) == len(values):
            return str(values[group.index(index)])
    # Then the file name, with as many parent directories as it takes (baseline/pio, run/pio).
    for depth in range(1, 4):
        names = [_path_tail(files[j].path, depth) for j in group]
        if len(set(names)) == len(names):
            return names[group.index(index)]
    return f"file {index + 1}"


def label_files(files: Sequence[ResultFile]) -> list[ResultFile]:
    """Label each file by its method, plus a distinguishing attribute when methods coincide."""
    methods = [f.env.get("method", "?") for f in files]
    labelled = []
    for index, (result, method) in enumerate(zip(files, methods, strict=True)):
        group = [j for j, other in enumerate(methods) if other == method]
        label = method if len(group) == 1 else f"{method} ({_distinguisher(index, group, files)})"
        labelled.append(ResultFile(result.path, result.benchmarks, result.env, label))
    return labelled


def load_result_files(paths: Sequence[str]) -> list[ResultFile]:
    """Load and label the files; the first one is the reference."""
    return label_files([load_result_file(path) for path in paths])


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Sample:
    """One file's values for one target, in seconds per read."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, bench: pyperf.Benchmark) -> Sample:
        return cls(tuple(float(v) for v in bench.get_values()))

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    @property
    def median(self) -> float:
        return float(np.median(self.values))

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def statistic(self, name: Statistic) -> float:
        return self.mean if name == "mean" else self.median

    def as_json(self) -> dict[str, float | int]:
        return {"n": self.n, "mean_s": self.mean, "std_s": self.std, "median_s": self.median,
                "min_s": self.min, "max_s": self.max}


@dataclass(frozen=True)
class Significance:
    test: str
    significant: bool
    p_value: float | None = None
    statistic: float | None = None
    note: str = ""

    def describe(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        if self.p_value is not None:
            return f"{verdict}, p = {self.p_value:.2g}"
        if self.statistic is not None:
            return f"{verdict}, t = {self.statistic:.2f}"
        return f"{verdict}, {self.note}" if self.note else verdict


@functools.cache
def _have_scipy() -> bool:
    try:
        import scipy.stats  # noqa: F401
    except ImportError:
        return False
    return True


def significance_test_name() -> str:
    return MANN_WHITNEY if _have_scipy() else WELCH


def describe_significance_test() -> str:
    if _have_scipy():
        return (f"two-sided Mann-Whitney U test (scipy), alpha = {ALPHA}: a rank test, because "
                "read timings are skewed with a long tail of interrupts and VM exits")
    return (f"two-sided Welch t-test with pyperf's t table, alpha = {ALPHA} "
            "(install scipy for the Mann-Whitney U rank test, better suited to skewed timings)")


def _mann_whitney(a: Sequence[float], b: Sequence[float]) -> Significance:
    from scipy.stats import mannwhitneyu

    p_value = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    if math.isnan(p_value):  # every value identical: nothing to tell apart
        return Significance(MANN_WHITNEY, False, note="identical values")
    return Significance(MANN_WHITNEY, p_value < ALPHA, p_value=p_value)


def _welch_t(a: Sequence[float], b: Sequence[float]) -> Significance:
    # pyperf's table of 95% critical values: the same yardstick as `pyperf compare_to`.
    from pyperf._utils import tdist95conf_level

    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    if va + vb == 0:
        return Significance(WELCH, bool(np.mean(a) != np.mean(b)), note="no spread")
    t_score = float((np.mean(a) - np.mean(b)) / math.sqrt(va + vb))
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return Significance(WELCH, abs(t_score) >= tdist95conf_level(dof), statistic=t_score)


def significance(a: Sequence[float], b: Sequence[float]) -> Significance:
    """Do two samples differ? See the module docstring for the choice of test."""
    if len(a) < 2 or len(b) < 2:
        return Significance(significance_test_name(), False, note="fewer than 2 values")
    return _mann_whitney(a, b) if _have_scipy() else _welch_t(a, b)


def rank_test_can_reach_alpha(n1: int, n2: int) -> bool:
    """The smallest two-sided exact Mann-Whitney p-value is 2 / C(n1 + n2, n1)."""
    return n1 > 0 and n2 > 0 and 2 / math.comb(n1 + n2, n1) < ALPHA


def speed_ratio(ref: Sample, other: Sample) -> tuple[float, float]:
    """(other mean / reference mean, its uncertainty), relative errors added in quadrature as hyperfine does."""
    ratio = other.mean / ref.mean
    error = ratio * math.hypot(ref.std / ref.mean, other.std / other.mean)
    return ratio, error


def format_factor(value: float, error: float) -> str:
    """'1.52 ± 0.03', '18.8 ± 0.3', '19004 ± 1146': hyperfine's two decimals while they mean something."""
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def speed_factor(ratio: float, error: float) -> str:
    """'1.52 ± 0.03 times faster' from a time ratio (other / reference) and its uncertainty."""
    if ratio == 1.0:
        return "as fast"
    # Express the factor as >= 1; the relative error carries over to the inverse.
    factor, word = (1 / ratio, "faster") if ratio < 1 else (ratio, "slower")
    return f"{format_factor(factor, factor * error / ratio)} times {word}"


def speed_sentence(label: str, ref_label: str, ratio: float, error: float) -> str:
    """hyperfine style: 'mmio ran 1.52 ± 0.03 times faster than pio'."""
    if ratio == 1.0:
        return f"{label} ran as fast as {ref_label}"
    return f"{label} ran {speed_factor(ratio, error)} than {ref_label}"


# --------------------------------------------------------------------------- report model


@dataclass(frozen=True)
class Comparison:
    """A later file against the reference, on one target."""

    file_index: int
    ratio: float
    ratio_error: float
    significance: Significance


@dataclass(frozen=True)
class TargetReport:
    name: str
    samples: dict[int, Sample]  # file index -> sample; the files that hold this target
    comparisons: list[Comparison]

    @property
    def reference(self) -> int:
        """The index of this target's reference: the first file that has it."""
        return min(self.samples)


@dataclass(frozen=True)
class Threshold:
    """One `--fail-if` rule: the statistic and how much slower is tolerated."""

    text: str
    statistic: Statistic
    relative: float | None = None  # fraction: 0.05 for 5%
    absolute: float | None = None  # seconds

    def exceeded(self, ref_value: float, value: float) -> bool:
        if self.relative is not None:
            return value > ref_value * (1 + self.relative)
        return value - ref_value > (self.absolute or 0.0)


@dataclass(frozen=True)
class GateTrip:
    threshold: Threshold
    target: str
    file_index: int
    ref_value: float
    value: float
    significance: Significance
    ref_index: int = 0


@dataclass
class Report:
    files: list[ResultFile]
    targets: list[TargetReport]
    test: str
    thresholds: list[Threshold] = field(default_factory=list)
    trips: list[GateTrip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def gate_failed(self) -> bool:
        return bool(self.trips)

    def env_split(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """(shared label -> value, differing label -> value per file, '-' when absent)."""
        shared: dict[str, str] = {}
        differing: dict[str, list[str]] = {}
        for _, label in ENV_KEYS:
            values = [f.env.get(label, "-") for f in self.files]
            if len(set(values)) > 1:
                differing[label] = values
            elif values[0] != "-":
                shared[label] = values[0]
        return shared, differing


# --------------------------------------------------------------------------- the gate

_THRESHOLD_RE = re.compile(r"^(mean|median):\+?(\d+(?:\.\d*)?|\.\d+)(%|ns|us|µs|ms|s)$")


def parse_threshold(text: str) -> Threshold:
    """`mean:5%`, `median:5%`, `median:+200ns`, `mean:1.5us`."""
    match = _THRESHOLD_RE.match(text.replace(" ", ""))
    if not match:
        raise CfgbenchError(
            f"--fail-if {text!r} is not a threshold",
            "write STAT:LIMIT with STAT mean or median and LIMIT like 5% or +200ns (units ns, us, ms, s)",
        )
    name, number, unit = match.groups()
    statistic = cast(Statistic, name)  # the regex admits only mean and median
    if unit == "%":
        return Threshold(text, statistic, relative=float(number) / 100)
    return Threshold(text, statistic, absolute=float(number) * UNIT_SCALE[unit])


def evaluate_gate(thresholds: Sequence[Threshold], targets: Sequence[TargetReport]) -> list[GateTrip]:
    """A trip: a later file slower than the reference beyond a threshold, and significantly so."""
    trips = []
    for threshold in thresholds:
        for target in targets:
            ref_value = target.samples[target.reference].statistic(threshold.statistic)
            for comparison in target.comparisons:
                value = target.samples[comparison.file_index].statistic(threshold.statistic)
                if threshold.exceeded(ref_value, value) and comparison.significance.significant:
                    trips.append(GateTrip(threshold, target.name, comparison.file_index,
                                          ref_value, value, comparison.significance, target.reference))
    return trips


def describe_trip(trip: GateTrip, files: Sequence[ResultFile]) -> str:
    result = files[trip.file_index]
    change = trip.value / trip.ref_value - 1
    return (f"--fail-if {trip.threshold.text} tripped: {trip.target} in {result.path} ({result.label}): "
            f"{trip.threshold.statistic} {format_time(trip.value)} vs {format_time(trip.ref_value)} "
            f"in {files[trip.ref_index].path}, {format_time(trip.value - trip.ref_value, signed=True)} "
            f"({change:+.1%}), {trip.significance.describe()}")


# --------------------------------------------------------------------------- building the report


def _compare_target(name: str, files: Sequence[ResultFile]) -> TargetReport:
    """The first file that has the target is its reference (the first file,
    unless it lacks the target: pio has no 0x100, mmio and kernel do)."""
    samples = {i: Sample.of(f.benchmarks[name]) for i, f in enumerate(files) if name in f.benchmarks}
    ref_index = min(samples)  # TargetReport.reference
    ref = samples[ref_index]
    comparisons = []
    for index, sample in samples.items():
        if index == ref_index:
            continue
        ratio, error = speed_ratio(ref, sample)
        comparisons.append(Comparison(index, ratio, error, significance(ref.values, sample.values)))
    return TargetReport(name, samples, comparisons)


def _check_overlap(files: Sequence[ResultFile]) -> None:
    reference = files[0]
    for other in files[1:]:
        if not set(other.benchmarks) & set(reference.benchmarks):
            raise CfgbenchError(
                f"{other.path} has no target in common with {reference.path} "
                f"({', '.join(sorted(other.benchmarks))} vs {', '.join(sorted(reference.benchmarks))})",
                "compare runs of the same workload and target",
            )


def _coverage_warnings(files: Sequence[ResultFile]) -> list[str]:
    reference = files[0]
    warnings = []
    for other in files[1:]:
        missing = [name for name in reference.benchmarks if name not in other.benchmarks]
        extra = [name for name in other.benchmarks if name not in reference.benchmarks]
        if missing:
            warnings.append(f"{other.path} lacks {', '.join(missing)}: compared on the other targets")
        if extra:
            warnings.append(f"{other.path} has {', '.join(extra)}, not in {reference.path}: "
                            "compared with the first file that has it")
    return warnings


def _sample_warnings(files: Sequence[ResultFile], targets: Sequence[TargetReport]) -> list[str]:
    warnings = []
    for target in targets:
        for index, sample in target.samples.items():
            where = f"{files[index].path}, {target.name}"
            if sample.n > 1 and sample.std > UNSTABLE_RELATIVE_STDEV * sample.mean:
                warnings.append(f"{where}: std dev is {sample.std / sample.mean:.0%} of the mean; "
                                "the figures are unstable: stop other work on the machine and record more values")
            mismatches = bench_metadata(files[index].benchmarks[target.name]).get("cfgbench_mismatches", 0)
            if mismatches:
                warnings.append(f"{where}: {mismatches} reads returned another value than expected; "
                                "the device changed under the benchmark or the method reads the wrong place")
    return warnings


def _power_warnings(files: Sequence[ResultFile], targets: Sequence[TargetReport]) -> list[str]:
    if not _have_scipy():
        return []
    warnings = []
    for target in targets:
        for comparison in target.comparisons:
            n1, n2 = target.samples[target.reference].n, target.samples[comparison.file_index].n
            if not rank_test_can_reach_alpha(n1, n2):
                warnings.append(
                    f"{target.name}: {n1} and {n2} values can never reach p < {ALPHA} with the rank test, "
                    f"so {files[comparison.file_index].path} cannot be called significant (nor trip the gate): "
                    "record more values per run")
    return warnings


def build_report(files: Sequence[ResultFile], thresholds: Sequence[Threshold] = ()) -> Report:
    """Compare every later file with the first, per target; a target the first
    file lacks is compared with the first file that has it."""
    if len(files) < 2:
        raise CfgbenchError("compare needs at least two result files", "pass the reference first, then the others")
    _check_overlap(files)
    everywhere = [name for f in files for name in f.benchmarks]
    names = [name for name in dict.fromkeys(everywhere) if everywhere.count(name) > 1]
    targets = [_compare_target(name, files) for name in names]
    warnings = _coverage_warnings(files) + _sample_warnings(files, targets) + _power_warnings(files, targets)
    return Report(list(files), targets, describe_significance_test(), list(thresholds),
                  evaluate_gate(thresholds, targets), warnings)


def compare_paths(paths: Sequence[str], fail_if: Sequence[str] = ()) -> Report:
    """The library entry point of `cfgbench compare`."""
    thresholds = [parse_threshold(text) for text in fail_if]
    return build_report(load_result_files(paths), thresholds)


# --------------------------------------------------------------------------- rendering: shared pieces

_TABLE_HEADERS = ("file", "mean ± std dev", "median", "min … max", "n", "vs reference", "verdict")


def _target_rows(report: Report, target: TargetReport) -> list[list[str]]:
    by_file = {c.file_index: c for c in target.comparisons}
    rows = []
    for index, sample in target.samples.items():
        comparison = by_file.get(index)
        rows.append([
            report.files[index].label,
            format_time(sample.mean, sample.std),
            format_time(sample.median),
            f"{format_time(sample.min)} … {format_time(sample.max)}",
            str(sample.n),
            speed_factor(comparison.ratio, comparison.ratio_error) if comparison else "reference",
            comparison.significance.describe() if comparison else "",
        ])
    return rows


def _target_sentences(report: Report, target: TargetReport) -> list[str]:
    ref_label = report.files[target.reference].label
    sentences = []
    for c in target.comparisons:
        sentence = speed_sentence(report.files[c.file_index].label, ref_label, c.ratio, c.ratio_error)
        sentences.append(f"{sentence} ({c.significance.describe()})")
    return sentences


def _gate_lines(report: Report) -> list[str]:
    if not report.thresholds:
        return []
    rules = ", ".join(t.text for t in report.thresholds)
    if not report.trips:
        return [f"gate passed: no significant slowdown beyond {rules}"]
    return ["gate FAILED:"] + [describe_trip(trip, report.files) for trip in report.trips]


def _file_lines(report: Report) -> list[str]:
    return [f"[{i + 1}] {f.label}: {f.path}" + (" (reference)" if i == 0 else "")
            for i, f in enumerate(report.files)]


def _shared_line(shared: dict[str, str]) -> str:
    return "; ".join(f"{label} {value}" for label, value in shared.items())


# --------------------------------------------------------------------------- rendering: text


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
    lines += ["", f"Significance: {report.test}"]
    for target in report.targets:
        lines += ["", target.name]
        lines += _align([list(_TABLE_HEADERS), *_target_rows(report, target)])
        lines += [f"  {sentence}" for sentence in _target_sentences(report, target)]
    if report.warnings:
        lines += ["", *(f"warning: {w}" for w in report.warnings)]
    gate = _gate_lines(report)
    if gate:
        lines += ["", *gate]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- rendering: markdown


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
    lines += ["", f"Significance: {report.test}."]
    for target in report.targets:
        lines += ["", f"### `{target.name}`", ""]
        lines += _md_table(_TABLE_HEADERS, _target_rows(report, target))
        lines += [""] + [f"- {sentence}" for sentence in _target_sentences(report, target)]
    if report.warnings:
        lines += ["", "### Warnings", ""] + [f"- {_md_cell(w)}" for w in report.warnings]
    gate = _gate_lines(report)
    if gate:
        lines += ["", "### Gate", "", f"**{gate[0]}**"] + [f"- {_md_cell(line)}" for line in gate[1:]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- rendering: json


def _significance_json(s: Significance) -> dict[str, Any]:
    return {"test": s.test, "significant": s.significant, "p_value": s.p_value,
            "statistic": s.statistic, "note": s.note}


def _target_json(report: Report, target: TargetReport) -> dict[str, Any]:
    ref_label = report.files[target.reference].label
    return {
        "name": target.name,
        "results": [{"file": i, **sample.as_json()} for i, sample in target.samples.items()],
        "comparisons": [
            {"file": c.file_index, "ratio": c.ratio, "ratio_error": c.ratio_error,
             "summary": speed_sentence(report.files[c.file_index].label, ref_label, c.ratio, c.ratio_error),
             "significance": _significance_json(c.significance)}
            for c in target.comparisons
        ],
    }


def _trip_json(trip: GateTrip, report: Report) -> dict[str, Any]:
    return {"threshold": trip.threshold.text, "target": trip.target, "file": trip.file_index,
            "statistic": trip.threshold.statistic, "reference_s": trip.ref_value, "value_s": trip.value,
            "change": trip.value / trip.ref_value - 1, "message": describe_trip(trip, report.files)}


def report_as_dict(report: Report) -> dict[str, Any]:
    shared, differing = report.env_split()
    return {
        "reference": 0,
        "files": [{"path": f.path, "label": f.label, "env": f.env} for f in report.files],
        "environment": {"shared": shared, "differing": differing},
        "significance_test": report.test,
        "alpha": ALPHA,
        "targets": [_target_json(report, target) for target in report.targets],
        "warnings": report.warnings,
        "gate": {"thresholds": [t.text for t in report.thresholds], "failed": report.gate_failed,
                 "trips": [_trip_json(trip, report) for trip in report.trips]},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_as_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
