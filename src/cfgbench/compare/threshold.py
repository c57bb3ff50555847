"""A `--fail-if` rule and its verdict: the ratio's confidence interval against the limit, never a p-value alone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from cfgbench import limits
from cfgbench.compare.files import ResultFile
from cfgbench.compare.stats import CONFIDENCE, Estimate, Statistic
from cfgbench.errors import CfgbenchError
from cfgbench.schema import SAME_MACHINE_LABELS
from cfgbench.document import UNIT_SCALE, format_time

REGRESSION = "regression"
NO_REGRESSION = "no regression"
INCONCLUSIVE = "inconclusive"
ERROR = "error"  # a comparison that could not be made (the CI job says so per method)
NO_BASELINE = "no baseline"  # nothing to compare with yet: reported, not gated
# Worst first: a job's outcome is the first of these any of its parts has.
SEVERITY = (ERROR, REGRESSION, INCONCLUSIVE, NO_REGRESSION, NO_BASELINE)
EXIT_CODES = {ERROR: 2, REGRESSION: 1, INCONCLUSIVE: 3, NO_REGRESSION: 0, NO_BASELINE: 0}
OTHER_ENVIRONMENT_FLAG = "--allow-other-environment"


@dataclass(frozen=True)
class Threshold:
    """One `--fail-if` rule: the statistic and how much slower is tolerated."""

    text: str
    statistic: Statistic
    relative: float | None = None  # fraction: 0.05 for 5%
    absolute: float | None = None  # seconds

    def ratio_limit(self, ref_value: float) -> float:
        """The time ratio (other / reference) above which this rule calls a regression."""
        if self.relative is not None:
            return 1 + self.relative
        return 1 + (self.absolute or 0.0) / ref_value


_THRESHOLD_RE = re.compile(r"^(mean|median):\+?(\d+(?:\.\d*)?|\.\d+)(%|ns|us|µs|ms|s)$")


def parse_threshold(text: str) -> Threshold:
    """`mean:5%`, `median:5%`, `median:+200ns`, `mean:1.5us`."""
    match = _THRESHOLD_RE.match(text.replace(" ", ""))
    if not match:
        raise CfgbenchError(f"--fail-if {text!r} is not a threshold",
                            "write STAT:LIMIT with STAT mean or median and LIMIT like 5% or +200ns (units ns, us, ms, s)")
    name, number, unit = match.groups()
    statistic = cast("Statistic", name)  # the regex admits only mean and median
    if unit == "%":
        threshold = Threshold(text, statistic, relative=float(number) / 100)
    else:
        threshold = Threshold(text, statistic, absolute=float(number) * UNIT_SCALE[unit])
    limit = threshold.relative * 100 if threshold.relative is not None else (threshold.absolute or 0.0) * 1e6
    limits.check("--fail-if", limit, text)  # percent, or microseconds a read
    return threshold


@dataclass(frozen=True)
class GateVerdict:
    threshold: Threshold
    target: str
    file_index: int
    ref_index: int
    ref_value: float  # the reference's statistic, seconds
    estimate: Estimate
    outcome: str
    reason: str

    @property
    def limit(self) -> float:
        return self.threshold.ratio_limit(self.ref_value)


def judge(threshold: Threshold, estimate: Estimate, ref_value: float) -> tuple[str, str]:
    """(outcome, why)."""
    limit = threshold.ratio_limit(ref_value)
    allowed = f"the limit {limit:.3g}x ({threshold.text})"
    if estimate.low is None or estimate.high is None:
        return INCONCLUSIVE, f"no confidence interval: {estimate.note}"
    interval = f"{CONFIDENCE:.0%} CI {estimate.low:.3g}-{estimate.high:.3g}x"
    if estimate.note and estimate.p_value is None:
        return INCONCLUSIVE, f"{estimate.note}"
    if estimate.low > limit:
        return REGRESSION, f"{interval} is above {allowed}"
    if estimate.high <= limit:
        return NO_REGRESSION, f"{interval} is within {allowed}"
    return INCONCLUSIVE, f"{interval} straddles {allowed}: record more runs or rounds"


def worst(outcomes: Sequence[str], default: str = NO_REGRESSION) -> str:
    """The most severe of the parts' outcomes."""
    return next((o for o in SEVERITY if o in outcomes), default)


def overall(verdicts: Sequence[GateVerdict]) -> str:
    return worst([v.outcome for v in verdicts])


def describe(verdict: GateVerdict, files: Sequence[ResultFile]) -> str:
    result = files[verdict.file_index]
    return (f"--fail-if {verdict.threshold.text}: {verdict.outcome}: {verdict.target} in {result.path} "
            f"({result.label}) is {verdict.estimate.ratio:.3g}x the time of {files[verdict.ref_index].path} "
            f"({verdict.threshold.statistic} {format_time(verdict.ref_value)}); {verdict.reason}")


def environment_differences(reference: ResultFile, other: ResultFile) -> list[str]:
    return [f"{label} {reference.env.get(label) or '-'} vs {other.env.get(label) or '-'}"
            for label in SAME_MACHINE_LABELS if reference.env.get(label) != other.env.get(label)]


def check_same_environment(files: Sequence[ResultFile]) -> None:
    """Refuse a baseline from another machine: the gate would measure the machines."""
    reference = files[0]
    for other in files[1:]:
        diffs = environment_differences(reference, other)
        if diffs:
            raise CfgbenchError(f"the baseline {reference.path} comes from another environment than {other.path} "
                                f"({'; '.join(diffs)}), so a gate between them measures the machines, not the change",
                                f"gate against a baseline from the same machine, or add {OTHER_ENVIRONMENT_FLAG} if that "
                                "is what you mean")
