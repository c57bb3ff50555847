"""How two benchmarks of one target compare: a time ratio with its 95% interval and test, from the right unit."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import pyperf

from cfgbench import runs

ALPHA = 0.05
CONFIDENCE = 0.95
# Below these no test can reach ALPHA: the smallest exact two-sided p is 2 / 2**n (Wilcoxon), 2 / C(2n, n) (Mann-Whitney).
MIN_PAIRS = 6
MIN_VALUES = 4
# One run against a reference: its runs give the spread, and 2 degrees of freedom are the least of any use.
MIN_BASELINE_RUNS = 3

PAIRED = "paired by round"
UNPAIRED = "unpaired, one run (sequential schedule)"
RUNS = "runs as the unit"
UNTESTED = "untested"

Statistic = Literal["mean", "median"]


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
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if self.n > 1 else 0.0

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

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
class Estimate:
    """The other benchmark's time over the reference's, with what backs it."""

    ratio: float  # above 1: the other is slower
    low: float | None  # 95% confidence interval of the ratio; None: none can be given
    high: float | None
    design: str  # PAIRED, UNPAIRED, RUNS or UNTESTED
    units: int  # pairs, values or runs behind the interval
    unit_name: str  # "paired rounds", "values", "runs"
    p_value: float | None = None
    test: str = ""
    per_run: tuple[float, ...] = ()  # paired, several runs: each run's own ratio
    note: str = ""  # why there is no interval
    backing: str = ""  # what the interval rests on, when more than units and unit_name say

    def rests_on(self) -> str:
        return self.backing or f"{self.units} {self.unit_name}"

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    def inverted(self) -> Estimate:
        """The reference over the other: the same comparison seen from the other side."""
        return replace(self, ratio=1 / self.ratio, low=1 / self.high if self.high else None,
                       high=1 / self.low if self.low else None, per_run=tuple(1 / r for r in self.per_run))

    def verdict(self) -> str:
        if self.p_value is None:
            return f"no verdict: {self.note}" if self.note else "no verdict"
        word = "significant" if self.significant else "not significant"
        return f"{word}, {self.test} p = {self.p_value:.2g}"


def _t_quantile(dof: float) -> float:
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, dof))


def mean_interval(logs: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): scipy's t interval of the mean."""
    from scipy import stats as scipy_stats

    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return mean, mean, mean
    if not statistics.stdev(logs):
        return mean, mean, mean  # no spread: scipy's interval would be NaN
    low, high = scipy_stats.t.interval(CONFIDENCE, len(logs) - 1, loc=mean, scale=scipy_stats.sem(logs))
    return mean, float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval (None where too few units give one) and what it rests on."""

    center: float
    low: float | None
    high: float | None
    units: int
    unit_name: str  # "paired rounds" or "runs"


MIN_MEDIAN_VALUES = 6  # below, no order-statistic interval reaches 95% (2 / 2**5 > 0.05)


def median_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """A distribution-free 95% interval of the median: the sign test's order statistics (scipy's quantile_test)."""
    from scipy import stats as scipy_stats

    if len(values) < MIN_MEDIAN_VALUES:
        return None
    interval = scipy_stats.quantile_test(values, q=statistics.median(values), p=0.5).confidence_interval(CONFIDENCE)
    return float(interval.low), float(interval.high)


def grouped_median_interval(groups: dict[str, list[float]], log: bool = False) -> Interval | None:
    """The median of per-round ratios (log) or differences grouped by run, with its 95% interval."""
    groups = {run: values for run, values in groups.items() if values}
    if not groups:
        return None
    if len(groups) == 1:
        values = next(iter(groups.values()))
        interval = median_interval(values)
        low, high = interval if interval is not None else (None, None)
        return Interval(float(statistics.median(values)), low, high, len(values), "paired rounds")
    medians = [float(statistics.median(v)) for v in groups.values()]
    if log:
        center, low, high = (math.exp(x) for x in mean_interval([math.log(m) for m in medians]))
    else:
        center, low, high = mean_interval(medians)
    return Interval(center, low, high, len(medians), "runs")


def _wilcoxon(diffs: Sequence[float]) -> float:
    from scipy import stats as scipy_stats

    if not any(diffs):
        return 1.0  # identical in every round: nothing to tell apart
    return float(scipy_stats.wilcoxon(diffs).pvalue)


def paired(ref: dict[tuple[str, int], float], other: dict[tuple[str, int], float]) -> Estimate | None:
    """None when no round is shared."""
    keys = sorted(set(ref) & set(other))
    if not keys:
        return None
    by_run: dict[str, list[float]] = {}
    for key in keys:
        by_run.setdefault(key[0], []).append(math.log(other[key] / ref[key]))
    if len(by_run) == 1:
        diffs = next(iter(by_run.values()))
        mean, low, high = mean_interval(diffs)
        enough = len(diffs) >= MIN_PAIRS
        return Estimate(math.exp(mean), math.exp(low), math.exp(high), PAIRED, len(diffs), "paired rounds",
                        _wilcoxon(diffs) if enough else None, "Wilcoxon signed-rank", (math.exp(mean),),
                        "" if enough else f"{len(diffs)} paired rounds; a test needs at least {MIN_PAIRS}")
    run_means = [statistics.fmean(d) for d in by_run.values()]
    mean, se = statistics.fmean(run_means), _runs_standard_error(list(by_run.values()))
    half = _t_quantile(len(run_means) - 1) * se
    p_value = _two_sided_t(mean / se, len(run_means) - 1) if se > 0 else None
    return Estimate(math.exp(mean), math.exp(mean - half), math.exp(mean + half), PAIRED, len(run_means), "runs",
                    p_value, "t over runs", tuple(math.exp(m) for m in run_means),
                    backing=f"{len(run_means)} runs of {len(keys)} paired rounds in all")


def _runs_standard_error(by_run: Sequence[Sequence[float]]) -> float:
    """Of the mean of the runs' mean log ratios: between runs, never below what their rounds leave uncertain."""
    means = [statistics.fmean(d) for d in by_run]
    k = len(means)
    between = statistics.stdev(means) / math.sqrt(k)
    within = math.sqrt(sum(statistics.variance(d) / len(d) for d in by_run if len(d) > 1)) / k
    return max(between, within)


def _two_sided_t(t: float, dof: float) -> float:
    from scipy import stats as scipy_stats

    return float(2 * scipy_stats.t.sf(abs(t), dof))


def unpaired_within_run(ref: Sequence[float], other: Sequence[float]) -> Estimate:
    """Welch's t on log values of one run (the sequential schedule)."""
    import numpy as np
    from scipy import stats as scipy_stats

    a, b = np.log(np.asarray(ref, dtype=float)), np.log(np.asarray(other, dtype=float))
    diff = float(b.mean() - a.mean())
    if min(len(a), len(b)) < MIN_VALUES:
        return Estimate(math.exp(diff), None, None, UNTESTED, min(len(a), len(b)), "values",
                        note=f"fewer than {MIN_VALUES} values a side")
    if a.std() == 0 and b.std() == 0:
        return Estimate(math.exp(diff), math.exp(diff), math.exp(diff), UNPAIRED, len(a) + len(b), "values",
                        note="no spread in either sample")
    result = scipy_stats.ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return Estimate(math.exp(diff), math.exp(interval.low), math.exp(interval.high), UNPAIRED,
                    len(a) + len(b), "values", float(result.pvalue), "Welch t on log values")


def _values_spread(runs_values: Sequence[Sequence[float]]) -> float:
    """Pooled, of log values within runs."""
    variances = [statistics.variance([math.log(x) for x in v]) for v in runs_values if len(v) > 1]
    return math.sqrt(sum(variances) / len(variances)) if variances else 0.0


def _run_spread(run_stats: Sequence[float], runs_values: Sequence[Sequence[float]]) -> float:
    """The run-to-run standard deviation of log run statistics, never below the values' spread within a run."""
    between = statistics.stdev(run_stats) if len(run_stats) > 1 else 0.0
    return max(between, _values_spread(runs_values))


def across_runs(ref_runs: Sequence[Sequence[float]], other_runs: Sequence[Sequence[float]],
                statistic: Statistic = "median") -> Estimate:
    """Runs as the unit: each reduced to one statistic, compared on a log scale."""
    pick = statistics.median if statistic == "median" else statistics.fmean
    r = [math.log(pick(v)) for v in ref_runs]
    o = [math.log(pick(v)) for v in other_runs]
    diff = statistics.fmean(o) - statistics.fmean(r)
    k, m = len(r), len(o)
    counts = f"{k} and {m} runs"
    s_r, s_o = _run_spread(r, ref_runs), _run_spread(o, other_runs)
    if k >= 2 and m >= 2 and (s_r > 0 or s_o > 0):
        var_r, var_o = s_r ** 2 / k, s_o ** 2 / m
        se = math.sqrt(var_r + var_o)
        dof = (var_r + var_o) ** 2 / (var_r ** 2 / (k - 1) + var_o ** 2 / (m - 1))
        half = _t_quantile(dof) * se
        p_value = _two_sided_t(diff / se, dof)
        return Estimate(math.exp(diff), math.exp(diff - half), math.exp(diff + half), RUNS, k + m, "runs",
                        p_value, f"Welch t on run {statistic}s", backing=counts)
    many, s_many, one, one_run = (r, s_r, o, other_runs) if m == 1 else (o, s_o, r, ref_runs)
    if len(one) == 1 and len(many) >= MIN_BASELINE_RUNS:
        # One run against several: outside their spread? Its own values' spread counts too.
        se = max(s_many, _values_spread(one_run)) * math.sqrt(1 + 1 / len(many))
        if se > 0:
            dof = len(many) - 1
            half = _t_quantile(dof) * se
            p_value = _two_sided_t(diff / se, dof)
            return Estimate(math.exp(diff), math.exp(diff - half), math.exp(diff + half), RUNS, k + m, "runs",
                            p_value, f"t on run {statistic}s (one run against {len(many)})", backing=counts)
    why = ("one run a side: the run-to-run spread is unknown" if k == 1 and m == 1 else
           f"{counts}: needs two a side, or one against {MIN_BASELINE_RUNS} (add runs with --append)")
    return Estimate(math.exp(diff), None, None, UNTESTED, k + m, "runs", note=why)


def estimate(ref: pyperf.Benchmark, other: pyperf.Benchmark, statistic: Statistic = "median") -> Estimate:
    """The comparison that fits how the two were timed."""
    by_round = paired(runs.values_by_round(ref), runs.values_by_round(other))
    if by_round is not None:
        return by_round
    ref_runs, other_runs = runs.values_by_session(ref), runs.values_by_session(other)
    same_run = not runs.is_legacy(ref) and not runs.is_legacy(other) and set(ref_runs) == set(other_runs)
    if same_run and len(ref_runs) == 1:
        return unpaired_within_run(ref.get_values(), other.get_values())
    return across_runs(list(ref_runs.values()), list(other_runs.values()), statistic)


@dataclass(frozen=True)
class Clusters:
    """Values in two groups: a run that switched state midway."""

    low: float
    n_low: int
    high: float
    n_high: int


CLUSTER_MIN_VALUES = 8
CLUSTER_MIN_RATIO = 1.25  # the groups' medians differ by at least this factor
CLUSTER_MIN_SEPARATION = 4.0  # gap between the groups' means, in pooled std devs of log values


def two_clusters(values: Sequence[float]) -> Clusters | None:
    """Otsu's best split of the sorted log values, if both groups are substantial and well apart."""
    import numpy as np

    if len(values) < CLUSTER_MIN_VALUES:
        return None
    logs = np.sort(np.log(np.asarray(values, dtype=float)))
    smallest = max(2, math.ceil(0.15 * len(logs)))
    best: tuple[float, int] | None = None
    for split in range(smallest, len(logs) - smallest + 1):
        lo, hi = logs[:split], logs[split:]
        between = len(lo) * len(hi) * (hi.mean() - lo.mean()) ** 2
        if best is None or between > best[0]:
            best = (float(between), split)
    if best is None:
        return None
    lo, hi = logs[:best[1]], logs[best[1]:]
    pooled = math.sqrt((lo.var(ddof=1) * (len(lo) - 1) + hi.var(ddof=1) * (len(hi) - 1)) / (len(logs) - 2))
    gap = float(hi.mean() - lo.mean())
    if math.exp(float(np.median(hi)) - float(np.median(lo))) < CLUSTER_MIN_RATIO:
        return None
    if pooled > 0 and gap / pooled < CLUSTER_MIN_SEPARATION:
        return None
    return Clusters(math.exp(float(np.median(lo))), len(lo), math.exp(float(np.median(hi))), len(hi))
