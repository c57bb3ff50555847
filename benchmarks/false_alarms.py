"""How often does the gate cry wolf? Back-to-back runs of one command, gated against each other.

    python benchmarks/false_alarms.py --runs 10 --out results/false-alarms [-- RUN OPTIONS]
    python benchmarks/false_alarms.py --reanalyse results/false-alarms --tag NAME


Runs `cfgbench run --method=kernel` (or the options after --) --runs times in
a row on an idle machine; nothing changes between them, so every "regression"
or "significant" verdict is a false alarm. Then:
- every pair (i < j) through `cfgbench compare` and `--fail-if median:5%`:
  how many were called significant, regressions, inconclusive;
- a rolling baseline, as CI keeps one: the 3 runs before run j appended into
  one baseline file, gated against run j;
- for contrast, the test that treated a run's values as independent (a
  Mann-Whitney U test on the values of two runs, what `compare` did before).
Writes summary.txt and summary.json into --out, plus the run files and the
rolling baselines. --reanalyse judges the runs of an earlier --out again (with
this version's compare) into summary-TAG.txt/.json and baselines-TAG/ there;
nothing already there is replaced."""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

from scipy.stats import mannwhitneyu

from cfgbench import compare, results

DEFAULT_RUN = ["--method=kernel", "--offset", "0", "--offset", "0x100"]
RULE = "median:5%"
BASELINE_RUNS = 3


def cfgbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cfgbench", *args], capture_output=True, text=True, check=False)


def make_runs(out: Path, count: int, run_args: list[str]) -> list[Path]:
    paths = []
    for k in range(1, count + 1):
        path = out / f"run-{k:02d}.json"
        done = cfgbench("run", *run_args, "-q", "-o", str(path))
        if done.returncode != 0:
            raise SystemExit(f"run {k} failed: {done.stderr}")
        print(f"run {k} done", file=sys.stderr, flush=True)
        paths.append(path)
    return paths


def verdicts(report: compare.Report) -> tuple[int, int]:
    """(comparisons called significant, comparisons in all)."""
    comparisons = [c.estimate for t in report.targets for c in t.comparisons]
    return sum(e.significant for e in comparisons), len(comparisons)


def pairs(paths: list[Path]) -> dict:
    significant = total = 0
    outcomes = {compare.REGRESSION: 0, compare.NO_REGRESSION: 0, compare.INCONCLUSIVE: 0}
    values_significant = 0
    for a, b in itertools.combinations(paths, 2):
        report = compare.compare_paths([str(a), str(b)], [RULE])
        s, n = verdicts(report)
        significant, total = significant + s, total + n
        outcomes[report.gate_outcome or compare.NO_REGRESSION] += 1
        for bench_a in results.load_suite(a).get_benchmarks():
            bench_b = results.load_suite(b).get_benchmark(bench_a.get_name())
            values_significant += mannwhitneyu(bench_a.get_values(), bench_b.get_values()).pvalue < 0.05
    return {"pairs": len(list(itertools.combinations(paths, 2))), "comparisons": total,
            "called_significant": significant, "gate": outcomes,
            "values_as_independent_called_significant": int(values_significant)}


def rolling(paths: list[Path], baselines: Path) -> dict:
    outcomes = {compare.REGRESSION: 0, compare.NO_REGRESSION: 0, compare.INCONCLUSIVE: 0}
    details = []
    baselines.mkdir(exist_ok=True)
    for j in range(BASELINE_RUNS, len(paths)):
        baseline = baselines / f"baseline-for-{j + 1:02d}.json"
        for path in paths[j - BASELINE_RUNS:j]:
            results.save_suite(results.load_suite(path), baseline, append=True)
        report = compare.compare_paths([str(baseline), str(paths[j])], [RULE])
        outcome = report.gate_outcome or compare.NO_REGRESSION
        outcomes[outcome] += 1
        details.append({"run": j + 1, "outcome": outcome,
                        "intervals": [[v.target, v.estimate.low, v.estimate.high] for v in report.verdicts]})
    return {"gates": len(details), "outcomes": outcomes, "details": details}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--reanalyse", type=Path, metavar="DIR", help="judge the runs of an earlier --out again")
    parser.add_argument("--tag", help="with --reanalyse: suffix of the new summary files")
    parser.add_argument("run_args", nargs="*", help="options for cfgbench run (after --)")
    args = parser.parse_args()
    if args.reanalyse:
        if not args.tag:
            parser.error("--reanalyse needs --tag")
        out, suffix = args.reanalyse, f"-{args.tag}"
        if (out / f"summary{suffix}.txt").exists() or (out / f"baselines{suffix}").exists():
            raise SystemExit(f"{out} has summary{suffix} already: choose a new --tag")
        paths = sorted(out.glob("run-*.json"))
        command = json.loads(sorted(out.glob("summary*.json"))[0].read_text())["command"]
    else:
        if args.out is None:
            parser.error("--out or --reanalyse is needed")
        if args.out.exists():
            raise SystemExit(f"{args.out} exists: choose a new --out")
        out, suffix = args.out, ""
        out.mkdir(parents=True)
        run_args = args.run_args or DEFAULT_RUN
        paths = make_runs(out, args.runs, run_args)
        command = f"cfgbench run {' '.join(run_args)} -q -o run-NN.json"
    summary = {"command": command, "rule": RULE,
               "every_pair": pairs(paths), "rolling_baseline": rolling(paths, out / f"baselines{suffix}")}
    (out / f"summary{suffix}.json").write_text(json.dumps(summary, indent=2) + "\n")
    p, r = summary["every_pair"], summary["rolling_baseline"]
    text = (f"{len(paths)} back-to-back runs of `{summary['command']}`\n"
            f"every pair ({p['pairs']} pairs, {p['comparisons']} comparisons): {p['called_significant']} called "
            f"significant; gate {RULE}: {p['gate']}\n"
            f"rolling baseline ({BASELINE_RUNS} runs before, {r['gates']} gates): {r['outcomes']}\n"
            f"for contrast, values taken as independent (Mann-Whitney on two runs' values): "
            f"{p['values_as_independent_called_significant']} of {p['comparisons']} called significant\n")
    (out / f"summary{suffix}.txt").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
