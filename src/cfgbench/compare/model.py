"""The answer model: every ratio, interval, verdict and warning of a set of result files, computed once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyperf

from cfgbench import access, runs
from cfgbench.compare import threshold as gate
from cfgbench.compare.breakdown import Breakdown, KernelPaths, breakdowns, kernel_paths
from cfgbench.compare.files import ResultFile, files_of, load_result_files
from cfgbench.compare.stats import (MIN_PAIRS, PAIRED, UNPAIRED, Clusters, Estimate, Sample, Statistic, estimate, paired,
                                    two_clusters)
from cfgbench.errors import CfgbenchError
from cfgbench.schema import (ENVIRONMENT_FIELDS, HOT_PARTNER, KERNEL_ORDER, READ_WORKLOAD, READS_PER_PASS, SCAN_FUNCTIONS,
                             display_name, is_split, workload_of)
from cfgbench.document import format_time

# What an answer row answers (docs/design.md, "Comparing"); any other pair is a comparison, not an answer.
MECHANISM, KERNEL_PATHS, RESCAN, OTHER = "mechanism", "kernel paths", "rescan", "other"
ANSWER_KINDS = (MECHANISM, KERNEL_PATHS, RESCAN)
RESCAN_WORKLOAD = "rescan"
ORDER_WORDS = {"type1-first": "type 1 first", "ecam-only": "ECAM only"}
UNSTABLE_RELATIVE_STDEV = 0.10  # pyperf's "std dev is x% of the mean" warning's bound
# Beyond twice the loop values' std dev, this share of the mean, and this share of the timestamp pair's cost.
PER_READ_SLACK = 0.10
TIMESTAMP_RESOLUTION_SHARE = 0.1
UNSTABLE, CLUSTERS, PER_READ, MISMATCH, COVERAGE, DESIGN = (
    "unstable", "clusters", "per-read", "mismatch", "coverage", "design")


def short_target(name: str) -> str:
    """'read 0000:00:00.0+0x000/4' -> '00:00.0+0x000'; other workloads keep their word."""
    workload, _, target = name.partition(" ")
    target = target.removeprefix("0000:")
    return target.removesuffix("/4") if workload == READ_WORKLOAD else f"{workload} {target}"


@dataclass(frozen=True)
class Comparison:
    """A later file against the target's reference, per statistic ('median' always, 'mean' if a rule asks)."""

    file_index: int
    estimates: dict[str, Estimate]

    @property
    def estimate(self) -> Estimate:
        return self.estimates["median"]


@dataclass(frozen=True)
class TargetReport:
    name: str
    display: str  # the name as readers see it (a split benchmark's access by its label)
    samples: dict[int, Sample]  # file index -> sample: the files that hold this target
    comparisons: list[Comparison]

    @property
    def reference(self) -> int:
        return min(self.samples)


@dataclass(frozen=True)
class Answer:
    """One answer row: `label` against `reference` for one target, as the headline, figure and compare say it."""

    kind: str  # MECHANISM, KERNEL_PATHS, RESCAN or OTHER
    target: str  # the benchmark name, or the function for the kernel's paths
    workload: str
    label: str
    reference: str
    method: str  # whose colour the row takes
    estimate: Estimate
    detail: str = ""  # what the row rests on beyond the interval: a scan's pass, the paths' nets
    file_index: int = 0


@dataclass(frozen=True)
class Finding:
    """A caveat on one figure: `where` (file label and target) and what is wrong with it."""

    kind: str
    where: str
    sample: Sample | None = None
    clusters: Clusters | None = None
    note: str = ""

    def text(self, advice: str = "stop other work on the machine and record more values") -> str:
        if self.sample is not None:
            return (f"{self.where}: std dev is {self.sample.std / self.sample.mean:.0%} of the mean over "
                    f"{self.sample.n} values; the figures are unstable: {advice}")
        if self.clusters is not None:
            c = self.clusters
            return (f"{self.where}: values{self.note} fall into two clusters, {format_time(c.low)} ({c.n_low} values) "
                    f"and {format_time(c.high)} ({c.n_high}): the machine switched state during the run")
        return f"{self.where}: {self.note}"


@dataclass(frozen=True)
class ColdHot:
    """A pass (a new function at every read, or the targets in turn) against its hot partner, one of its registers."""

    method: str
    cold: pyperf.Benchmark
    hot: pyperf.Benchmark
    estimate: Estimate | None  # cold over hot, per read; None when they were not timed in rounds


@dataclass
class Report:
    files: list[ResultFile]
    targets: list[TargetReport]
    answers: list[Answer]
    findings: list[Finding]
    breakdowns: list[tuple[int, list[Breakdown]]] = field(default_factory=list)  # per file with split benchmarks
    kernel_paths: list[tuple[int, list[KernelPaths]]] = field(default_factory=list)
    patterns: list[ColdHot] = field(default_factory=list)  # each cold pass against its hot register, per file
    thresholds: list[gate.Threshold] = field(default_factory=list)
    verdicts: list[gate.GateVerdict] = field(default_factory=list)

    @property
    def gate_outcome(self) -> str | None:
        return gate.overall(self.verdicts) if self.thresholds else None

    @property
    def exit_code(self) -> int:
        outcome = self.gate_outcome
        return gate.EXIT_CODES[outcome] if outcome else 0

    @property
    def warnings(self) -> list[str]:
        return [f.text() for f in self.findings]

    def rows(self, *kinds: str) -> list[Answer]:
        return [a for a in self.answers if a.kind in kinds]

    def answer_rows(self) -> list[Answer]:
        return self.rows(*ANSWER_KINDS) or self.rows(OTHER)

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


def cold_hot(suites: Mapping[str, pyperf.BenchmarkSuite]) -> list[ColdHot]:
    """Every pass with its hot partner, per read and paired by round, method by method (the suites' order)."""
    found = []
    for method, suite in suites.items():
        names = set(suite.get_benchmark_names())
        for bench in suite.get_benchmarks():
            if (hot := bench.get_metadata().get(HOT_PARTNER)) in names:
                partner = suite.get_benchmark(str(hot))
                found.append(ColdHot(method, bench, partner, paired(runs.values_by_round(partner),
                                                                    runs.values_by_round(bench))))
    return found


def _kind(ref: ResultFile, other: ResultFile, bench: pyperf.Benchmark) -> str:
    if workload_of(bench) == RESCAN_WORKLOAD:
        return RESCAN
    methods = (ref.env.get("method"), other.env.get("method"))
    return MECHANISM if methods == tuple(access.MECHANISMS) else OTHER


def _row(files: Sequence[ResultFile], target: TargetReport, comparison: Comparison) -> Answer:
    ref, other = files[target.reference], files[comparison.file_index]
    bench = other.benchmarks[target.name]
    kind = _kind(ref, other, bench)
    label, reference = other.label, ref.label
    if kind == RESCAN:
        label, reference = (ORDER_WORDS.get(str(f.benchmarks[target.name].get_metadata().get(KERNEL_ORDER)), f.label)
                            for f in (other, ref))
    return Answer(kind, target.name, workload_of(bench), label, reference, other.env.get("method", ""),
                  comparison.estimate, _pass_words(files, target), comparison.file_index)


def _pass_words(files: Sequence[ResultFile], target: TargetReport) -> str:
    """A scan's pass as the kernel's enumeration pays it, through each method."""
    benches = [(files[i].label, files[i].benchmarks[target.name]) for i in target.samples]
    metadata = benches[0][1].get_metadata()
    reads, functions = int(metadata.get(READS_PER_PASS, 0)), int(metadata.get(SCAN_FUNCTIONS, 0))
    if not reads or not functions:
        return ""
    costs = [f"{label} {format_time(b.median() * reads)} ({format_time(b.median() * reads / functions)} per function)"
             for label, b in benches]
    return f"a pass of {reads:,} reads finds {functions} functions: {', '.join(costs)}"


def _paths_row(index: int, paths: KernelPaths) -> Answer:
    def offset(target: str) -> str:
        return "+" + target.partition("+")[2].removesuffix("/4")

    return Answer(KERNEL_PATHS, paths.device, READ_WORKLOAD, f"ECAM ({offset(paths.ecam_target)})",
                  f"type 1 ({offset(paths.type1_target)})", access.REFERENCE_READER, paths.ratio.inverted(),
                  f"net of the floor: {format_time(paths.ecam_net_s)} against {format_time(paths.type1_net_s)}", index)


def _findings(files: Sequence[ResultFile], targets: Sequence[TargetReport]) -> list[Finding]:
    found = []
    for result in files:
        for name, bench in result.benchmarks.items():
            if is_split(bench):
                continue
            where, sample = f"{result.label} {short_target(name)}", Sample.of(bench)
            if is_unstable(sample):
                found.append(Finding(UNSTABLE, where, sample=sample))
            for session, values in (by_session := runs.values_by_session(bench)).items():
                if (clusters := two_clusters(values)) is not None:
                    found.append(Finding(CLUSTERS, where, clusters=clusters,
                                         note=f" in run {session}" if len(by_session) > 1 else ""))
            totals = runs.totals(bench)
            if (note := _per_read_disagreement(bench, totals)) is not None:
                found.append(Finding(PER_READ, where, note=note))
            if totals.mismatches:
                found.append(Finding(MISMATCH, where, note=access.mismatch_note(result.env.get("method", ""),
                                                                                 totals.mismatches, totals.reads)))
    for target in targets:
        for c in target.comparisons:
            e, where = c.estimate, f"{files[c.file_index].label} {short_target(target.name)}"
            if e.design == UNPAIRED:
                found.append(Finding(DESIGN, where, note="timed one after the other (sequential schedule), so drift of "
                                     "the machine lands in the ratio; the interleaved schedule pairs values by round"))
            elif e.design == PAIRED and e.p_value is None and e.units < MIN_PAIRS:
                found.append(Finding(DESIGN, where, note=f"{e.note}: record more values"))
    return found + _coverage(files)


def is_unstable(sample: Sample) -> bool:
    return sample.n > 1 and sample.std > UNSTABLE_RELATIVE_STDEV * sample.mean


def _per_read_disagreement(bench: pyperf.Benchmark, totals: runs.Totals) -> str | None:
    dist = totals.distribution()
    if dist is None or len(bench.get_values()) < 2:
        return None
    loop_mean, per_read = bench.mean(), dist.corrected_ns[50.0] * 1e-9
    slack = 2 * bench.stdev() + PER_READ_SLACK * loop_mean + TIMESTAMP_RESOLUTION_SHARE * dist.timestamp_ns * 1e-9
    if abs(loop_mean - per_read) <= slack:
        return None
    return (f"the loop mean {format_time(loop_mean)} and the per-read median {format_time(per_read)} disagree by more "
            "than their spread; the ratios use the loop values")


def _coverage(files: Sequence[ResultFile]) -> list[Finding]:
    """Targets one file has and another lacks; a split benchmark is expected only in files of the same method."""
    reference, found = files[0], []
    for other in files[1:]:
        same_method = other.env.get("method") == reference.env.get("method")
        missing = [n for n, b in reference.benchmarks.items() if n not in other.benchmarks and (same_method or not is_split(b))]
        extra = [n for n, b in other.benchmarks.items() if n not in reference.benchmarks and (same_method or not is_split(b))]
        if missing:
            found.append(Finding(COVERAGE, other.path, note=f"lacks {', '.join(missing)}: compared on the other targets"))
        if extra:
            found.append(Finding(COVERAGE, other.path, note=f"has {', '.join(extra)}, not in {reference.path}: "
                                 "compared with the first file that has it"))
    return found


def _check_overlap(files: Sequence[ResultFile]) -> None:
    reference = files[0]
    for other in files[1:]:
        if not set(other.benchmarks) & set(reference.benchmarks):
            raise CfgbenchError(f"{other.path} has no target in common with {reference.path} "
                                f"({', '.join(sorted(other.benchmarks))} vs {', '.join(sorted(reference.benchmarks))})",
                                "compare runs of the same workload and target")


def build_report(files: Sequence[ResultFile], thresholds: Sequence[gate.Threshold] = (),
                 allow_other_environment: bool = False, overlap: bool = True) -> Report:
    """Every later file against the first that has each target; one file: what it holds within it."""
    if not files:
        raise CfgbenchError("nothing to compare", "give result files")
    if thresholds and len(files) < 2:
        raise CfgbenchError("a gate compares a run with a reference, and one file was given",
                            "give the reference file first, then the run")
    if overlap:
        _check_overlap(files)
    if thresholds and not allow_other_environment:
        gate.check_same_environment(files)
    statistics: list[Statistic] = ["median", *sorted({t.statistic for t in thresholds} - {"median"})]
    everywhere = [name for f in files for name in f.benchmarks]
    targets = []
    for name in (n for n in dict.fromkeys(everywhere) if everywhere.count(n) > 1):
        holders = [i for i, f in enumerate(files) if name in f.benchmarks]
        ref = files[holders[0]].benchmarks[name]
        comparisons = [Comparison(i, {s: estimate(ref, files[i].benchmarks[name], s) for s in statistics})
                       for i in holders[1:]]
        targets.append(TargetReport(name, display_name(ref), {i: Sample.of(files[i].benchmarks[name]) for i in holders},
                                    comparisons))
    paths = [(i, k) for i, f in enumerate(files) if (k := kernel_paths(f.benchmarks.values()))]
    answers = [_row(files, t, c) for t in targets for c in t.comparisons if not is_split(files[c.file_index].benchmarks[t.name])]
    answers += [_paths_row(i, k) for i, found in paths for k in found]
    verdicts = [_verdict(t, target, c) for t in thresholds for target in targets for c in target.comparisons]
    return Report(list(files), targets, answers, _findings(files, targets),
                  [(i, b) for i, f in enumerate(files) if (b := breakdowns(f.benchmarks.values()))], paths,
                  cold_hot({f.label: pyperf.BenchmarkSuite(list(f.benchmarks.values())) for f in files if f.benchmarks}),
                  list(thresholds), verdicts)


def _verdict(threshold: gate.Threshold, target: TargetReport, c: Comparison) -> gate.GateVerdict:
    ref_value = target.samples[target.reference].statistic(threshold.statistic)
    e = c.estimates[threshold.statistic]  # runs reduced to the rule's own statistic (the table uses medians)
    outcome, reason = gate.judge(threshold, e, ref_value)
    return gate.GateVerdict(threshold, target.name, c.file_index, target.reference, ref_value, e, outcome, reason)


def compare_paths(paths: Sequence[str], fail_if: Sequence[str] = (), allow_other_environment: bool = False) -> Report:
    thresholds = [gate.parse_threshold(t) for t in fail_if]  # a bad rule is a usage error, before any file is read
    report = build_report(load_result_files(paths), thresholds, allow_other_environment)
    if not report.targets and not report.answers and not report.breakdowns:
        raise CfgbenchError(f"{paths[0]} holds nothing to compare within it (no split accesses, not both of the kernel's "
                            "paths)", "give a second file, or time -m kernel with --offset 0 --offset 0x100 --workload split")
    return report


def report_of(suites: dict[str, pyperf.BenchmarkSuite], more: Sequence[str] = ()) -> Report:
    """The report of a run's suites in the registry's order, plus files (`more`: the lab's rescans)."""
    return build_report([*files_of(suites), *load_result_files(more)], overlap=False)
