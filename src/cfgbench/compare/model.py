"""The comparison of result files, target by target, and what to warn about.

The first file is the reference. Each pyperf benchmark is one target (its name,
e.g. ``read 0000:00:00.0+0x000/4``); every later file is compared with the
first file that has the target (pio has no 0x100; mmio and kernel do)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyperf

from cfgbench import access, runs
from cfgbench.compare import threshold as gate
from cfgbench.compare.breakdown import Breakdown, KernelPaths, breakdowns, kernel_paths
from cfgbench.compare.files import ResultFile, load_result_files
from cfgbench.compare.stats import (
    MIN_PAIRS,
    PAIRED,
    UNPAIRED,
    Clusters,
    Estimate,
    Sample,
    estimate,
    two_clusters,
)
from cfgbench.errors import CfgbenchError
from cfgbench.schema import ENVIRONMENT_FIELDS, display_name, is_split
from cfgbench.units import format_time

# pyperf's "std dev is x% of the mean" warning uses the same bound.
UNSTABLE_RELATIVE_STDEV = 0.10


@dataclass(frozen=True)
class Comparison:
    """A later file against the target's reference."""

    file_index: int
    estimate: Estimate


@dataclass(frozen=True)
class TargetReport:
    name: str
    samples: dict[int, Sample]  # file index -> sample; the files that hold this target
    comparisons: list[Comparison]
    display: str = ""  # the name as readers see it (a split benchmark's access by its label)

    @property
    def title(self) -> str:
        return self.display or self.name

    @property
    def reference(self) -> int:
        """The index of this target's reference: the first file that has it."""
        return min(self.samples)


@dataclass
class Report:
    files: list[ResultFile]
    targets: list[TargetReport]
    thresholds: list[gate.Threshold] = field(default_factory=list)
    verdicts: list[gate.GateVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    breakdowns: list[tuple[int, list[Breakdown]]] = field(default_factory=list)  # per file with split benchmarks
    kernel_paths: list[tuple[int, list[KernelPaths]]] = field(default_factory=list)  # per file with both paths and a floor

    @property
    def gate_outcome(self) -> str | None:
        return gate.overall(self.verdicts) if self.thresholds else None

    @property
    def exit_code(self) -> int:
        outcome = self.gate_outcome
        return gate.EXIT_CODES[outcome] if outcome else 0

    def env_split(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """(shared label -> value, differing label -> value per file, '-' when absent)."""
        shared: dict[str, str] = {}
        differing: dict[str, list[str]] = {}
        for label in (f.label for f in ENVIRONMENT_FIELDS):
            values = [f.env.get(label, "-") for f in self.files]
            if len(set(values)) > 1:
                differing[label] = values
            elif values[0] != "-":
                shared[label] = values[0]
        return shared, differing


def _compare_target(name: str, files: Sequence[ResultFile]) -> TargetReport:
    samples = {i: Sample.of(f.benchmarks[name]) for i, f in enumerate(files) if name in f.benchmarks}
    ref_index = min(samples)  # TargetReport.reference
    ref_bench = files[ref_index].benchmarks[name]
    comparisons = [Comparison(index, estimate(ref_bench, files[index].benchmarks[name]))
                   for index in samples if index != ref_index]
    return TargetReport(name, samples, comparisons, display_name(ref_bench))


def _check_overlap(files: Sequence[ResultFile]) -> None:
    reference = files[0]
    for other in files[1:]:
        if not set(other.benchmarks) & set(reference.benchmarks):
            raise CfgbenchError(
                f"{other.path} has no target in common with {reference.path} "
                f"({', '.join(sorted(other.benchmarks))} vs {', '.join(sorted(reference.benchmarks))})",
                "compare runs of the same workload and target",
            )


def _expected_in(bench: pyperf.Benchmark, same_method: bool) -> bool:
    return same_method or not is_split(bench)


def _coverage_warnings(files: Sequence[ResultFile]) -> list[str]:
    """Targets one file has and another lacks; a split benchmark (one
    method's access) is expected only in files of the same method."""
    reference = files[0]
    warnings = []
    for other in files[1:]:
        same_method = other.env.get("method") == reference.env.get("method")
        missing = [name for name, b in reference.benchmarks.items()
                   if name not in other.benchmarks and _expected_in(b, same_method)]
        extra = [name for name, b in other.benchmarks.items()
                 if name not in reference.benchmarks and _expected_in(b, same_method)]
        if missing:
            warnings.append(f"{other.path} lacks {', '.join(missing)}: compared on the other targets")
        if extra:
            warnings.append(f"{other.path} has {', '.join(extra)}, not in {reference.path}: "
                            "compared with the first file that has it")
    return warnings


def is_unstable(sample: Sample) -> bool:
    return sample.n > 1 and sample.std > UNSTABLE_RELATIVE_STDEV * sample.mean


def unstable_line(where: str, sample: Sample, advice: str) -> str | None:
    if is_unstable(sample):
        return (f"{where}: std dev is {sample.std / sample.mean:.0%} of the mean over {sample.n} values; "
                f"the figures are unstable: {advice}")
    return None


def describe_clusters(where: str, clusters: Clusters, in_run: str = "") -> str:
    return (f"{where}: values{in_run} fall into two clusters, {format_time(clusters.low)} ({clusters.n_low} values) "
            f"and {format_time(clusters.high)} ({clusters.n_high}): the machine switched state during the run")


def cluster_lines(where: str, bench_runs: dict[str, list[float]]) -> list[str]:
    """One line per run whose values fall into two groups."""
    lines = []
    for session, values in bench_runs.items():
        clusters = two_clusters(values)
        if clusters is not None:
            lines.append(describe_clusters(where, clusters, f" in run {session}" if len(bench_runs) > 1 else ""))
    return lines


def _sample_warnings(files: Sequence[ResultFile], targets: Sequence[TargetReport]) -> list[str]:
    warnings = []
    for target in targets:
        for index, sample in target.samples.items():
            where = f"{files[index].path}, {target.name}"
            bench = files[index].benchmarks[target.name]
            line = unstable_line(where, sample, "stop other work on the machine and record more values")
            warnings += [line] if line else []
            warnings += cluster_lines(where, runs.values_by_session(bench))
            totals = runs.totals(bench)
            if totals.mismatches:
                method = files[index].env.get("method", "")
                warnings.append(f"{where}: {access.mismatch_note(method, totals.mismatches, totals.reads)}")
    return warnings


def _design_warnings(files: Sequence[ResultFile], targets: Sequence[TargetReport]) -> list[str]:
    warnings = []
    for target in targets:
        for comparison in target.comparisons:
            e = comparison.estimate
            where = f"{target.name}, {files[comparison.file_index].path}"
            if e.design == UNPAIRED:
                warnings.append(f"{where}: timed one after the other (sequential schedule), so drift of the machine "
                                "lands in the ratio; the interleaved schedule pairs values by round")
            elif e.design == PAIRED and e.p_value is None and e.units < MIN_PAIRS:
                warnings.append(f"{where}: {e.note}: record more values")
    return warnings


def build_report(files: Sequence[ResultFile], thresholds: Sequence[gate.Threshold] = (),
                 allow_other_environment: bool = False) -> Report:
    """Compare every later file with the first, per target; a target the first
    file lacks is compared with the first file that has it."""
    if len(files) < 2:
        raise CfgbenchError("compare needs at least two result files", "pass the reference first, then the others")
    _check_overlap(files)
    if thresholds and not allow_other_environment:
        gate.check_same_environment(files)
    everywhere = [name for f in files for name in f.benchmarks]
    names = [name for name in dict.fromkeys(everywhere) if everywhere.count(name) > 1]
    targets = [_compare_target(name, files) for name in names]
    warnings = _coverage_warnings(files) + _sample_warnings(files, targets) + _design_warnings(files, targets)
    verdicts = _judge_all(thresholds, targets, files)
    found = [(i, b) for i, f in enumerate(files) if (b := breakdowns(f.benchmarks.values()))]
    paths = [(i, k) for i, f in enumerate(files) if (k := kernel_paths(f.benchmarks.values()))]
    return Report(list(files), targets, list(thresholds), verdicts, warnings, found, paths)


def _judge_all(thresholds: Sequence[gate.Threshold], targets: Sequence[TargetReport],
               files: Sequence[ResultFile]) -> list[gate.GateVerdict]:
    verdicts = []
    for threshold in thresholds:
        for target in targets:
            ref_value = target.samples[target.reference].statistic(threshold.statistic)
            ref_bench = files[target.reference].benchmarks[target.name]
            for comparison in target.comparisons:
                # Runs are reduced to the rule's own statistic (the table uses medians).
                e = estimate(ref_bench, files[comparison.file_index].benchmarks[target.name], threshold.statistic)
                outcome, reason = gate.judge(threshold, e, ref_value)
                verdicts.append(gate.GateVerdict(threshold, target.name, comparison.file_index, target.reference,
                                                 ref_value, e, outcome, reason))
    return verdicts


def compare_paths(paths: Sequence[str], fail_if: Sequence[str] = (), allow_other_environment: bool = False) -> Report:
    """The library entry point of `cfgbench compare`."""
    thresholds = [gate.parse_threshold(text) for text in fail_if]
    return build_report(load_result_files(paths), thresholds, allow_other_environment)
