"""This run against the runner's baseline: an outcome per method (an error stops no other), the worst for the job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cfgbench import access, runs
from cfgbench.ci.layout import baseline_files, method_of_path, result_files
from cfgbench.compare.model import Report, compare_paths
from cfgbench.compare.threshold import ERROR, EXIT_CODES, NO_BASELINE, NO_REGRESSION, parse_threshold, worst
from cfgbench.errors import CfgbenchError

DEFAULT_RULE = "median:5%"


@dataclass(frozen=True)
class MethodGate:
    method: str
    result: Path
    baseline: Path
    outcome: str  # one of compare.threshold.SEVERITY
    report: Report | None = None
    error: str = ""  # for ERROR
    baseline_runs: int = 0  # runs (sessions) the baseline holds for every target

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


@dataclass(frozen=True)
class CiGate:
    results_dir: Path
    baseline_dir: Path
    rules: tuple[str, ...]
    methods: tuple[MethodGate, ...]
    run_report: Report | None  # this run's methods against each other (no gate)
    orphans: tuple[Path, ...] = field(default=())  # baseline files this run has no counterpart for

    @property
    def outcome(self) -> str:
        return worst([m.outcome for m in self.methods], default=NO_BASELINE)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    def having(self, *outcomes: str) -> list[MethodGate]:
        return [m for m in self.methods if m.outcome in outcomes]


def _gate_method(result: Path, baseline: Path, rules: Sequence[str], allow_other_environment: bool) -> MethodGate:
    method = method_of_path(result)
    if not baseline.exists():
        return MethodGate(method, result, baseline, NO_BASELINE)
    try:
        report = compare_paths([str(baseline), str(result)], rules, allow_other_environment)
    except CfgbenchError as exc:
        return MethodGate(method, result, baseline, ERROR, error=exc.one_line())
    outcome = report.gate_outcome or NO_REGRESSION
    return MethodGate(method, result, baseline, outcome, report,
                      baseline_runs=runs.fewest_sessions(report.files[0].benchmarks.values()))


def _orphan_gate(baseline: Path, results_dir: Path) -> MethodGate:
    method = method_of_path(baseline)
    return MethodGate(method, results_dir / baseline.name, baseline, ERROR,
                      error=f"the baseline has {baseline.name} but this run wrote no {results_dir / baseline.name}: "
                            "the job stopped timing a method; remove its baseline file if that was meant")


def _run_report(results: Sequence[Path]) -> Report | None:
    if len(results) < 2:
        return None
    # The registry's order: a target the first file lacks (pio has no 0x100) is compared with the first that has it.
    ordered = sorted(results, key=lambda p: access.rank(method_of_path(p)))
    return compare_paths([str(p) for p in ordered])


def gate_run(results_dir: Path | str, baseline_dir: Path | str, rules: Sequence[str] = (DEFAULT_RULE,),
             allow_other_environment: bool = False) -> CiGate:
    results_dir, baseline_dir = Path(results_dir), Path(baseline_dir)
    for rule in rules:
        parse_threshold(rule)  # a bad rule is a usage error, before any file is read
    results = result_files(results_dir)
    if not results:
        raise CfgbenchError(f"no result files in {results_dir}",
                            "the job's run step writes {method}.json there: did it run?")
    run_report = _run_report(results)  # first: a corrupt result file stops here, with one line
    names = {p.name for p in results}
    methods = [_gate_method(p, baseline_dir / p.name, rules, allow_other_environment) for p in results]
    orphans = [b for b in baseline_files(baseline_dir) if b.name not in names]
    methods += [_orphan_gate(b, results_dir) for b in orphans]
    return CiGate(results_dir, baseline_dir, tuple(rules), tuple(methods), run_report, tuple(orphans))
