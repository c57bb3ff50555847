"""Promote a CI run into a runner's baseline: append, never replace; every file checked before any is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cfgbench import runs
from cfgbench.ci.layout import result_files
from cfgbench.compare.files import ResultFile, load_result_file
from cfgbench.compare.stats import MIN_BASELINE_RUNS
from cfgbench.compare.threshold import environment_differences
from cfgbench.errors import CfgbenchError
from cfgbench.results import load_suite, make_output_dir, save_suite

RENEW_FIX = ("a new environment needs a new baseline: remove the old one (git rm -r {baseline}; git keeps it), "
             "then promote {n} runs of the new one")


@dataclass(frozen=True)
class Promoted:
    source: Path
    baseline: Path
    already_there: bool  # nothing written
    runs: int = 0  # runs in the baseline afterwards, for the target that has the fewest

    @property
    def enough(self) -> bool:
        return self.runs >= MIN_BASELINE_RUNS


def _sessions(result: ResultFile) -> set[str]:
    found: set[str] = set()
    for bench in result.benchmarks.values():
        if runs.is_legacy(bench):
            raise CfgbenchError(f"{result.path} has runs without session ids (written by an older cfgbench)",
                                "promote runs recorded by this version of cfgbench run")
        found.update(runs.sessions(bench))
    return found


def _method(result: ResultFile) -> str:
    method = result.env.get("method", "")
    if not method or "," in method:
        raise CfgbenchError(f"{result.path} holds {'several methods' if method else 'no method'} ({method or '-'})",
                            "promote the files `cfgbench ci run` wrote, one method per file")
    return method


def _check_compatible(base: ResultFile, new: ResultFile, baseline_dir: Path) -> None:
    diffs = environment_differences(base, new)
    if diffs:
        raise CfgbenchError(f"{new.path} comes from another environment than the baseline {base.path} ({'; '.join(diffs)})",
                            RENEW_FIX.format(baseline=baseline_dir, n=MIN_BASELINE_RUNS))
    if set(base.benchmarks) != set(new.benchmarks):
        raise CfgbenchError(f"{new.path} times other targets than the baseline {base.path} "
                            f"({', '.join(sorted(new.benchmarks))} vs {', '.join(sorted(base.benchmarks))})",
                            RENEW_FIX.format(baseline=baseline_dir, n=MIN_BASELINE_RUNS))


@dataclass
class _Plan:
    source: Path
    baseline: Path
    already_there: bool


def _plan(sources: Sequence[Path], baseline_dir: Path) -> list[_Plan]:
    """Check every file against the baseline and against each other, writing nothing."""
    plans: list[_Plan] = []
    first: dict[Path, ResultFile] = {}  # baseline path -> what the new runs must match
    seen: dict[Path, set[str]] = {}  # baseline path -> sessions there or planned
    for source in sources:
        new = load_result_file(str(source))
        target = baseline_dir / f"{_method(new)}.json"
        sessions = _sessions(new)
        if target not in first:
            if target.exists():
                first[target] = load_result_file(str(target))
                seen[target] = _sessions(first[target])
            else:
                first[target], seen[target] = new, set()
        _check_compatible(first[target], new, baseline_dir)
        overlap = sessions & seen[target]
        if overlap and overlap != sessions:
            raise CfgbenchError(f"{source} shares some runs with {target}, not all ({', '.join(sorted(overlap))})",
                                "promote the files of one `cfgbench ci run` as it wrote them")
        plans.append(_Plan(source, target, already_there=bool(overlap)))
        seen[target] |= sessions
    return plans


def promote(results_dirs: Sequence[Path | str], baseline_dir: Path | str) -> list[Promoted]:
    baseline_dir = Path(baseline_dir)
    if not results_dirs:
        raise CfgbenchError("no run to promote", "give the run's directory with --results")
    sources: list[Path] = []
    for directory in map(Path, results_dirs):
        found = result_files(directory)
        if not found:
            raise CfgbenchError(f"no result files in {directory}", "give the directory of one CI run's {method}.json files")
        sources += found
    plans = _plan(sources, baseline_dir)
    make_output_dir(baseline_dir, "choose another --baseline")
    for plan in plans:
        if not plan.already_there:
            save_suite(load_suite(plan.source), plan.baseline, append=True)
    return [Promoted(p.source, p.baseline, p.already_there, runs.fewest_sessions(load_suite(p.baseline).get_benchmarks()))
            for p in plans]
