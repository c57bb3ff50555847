"""cfgbench compare: ratios with confidence intervals from the right unit (paired
rounds, or runs), the three-state gate, rendering and error handling, on
synthetic files built with pyperf's own API (tests/resultfiles.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

from cfgbench import compare
from cfgbench.cli import main
from cfgbench.compare import stats
from cli_helpers import modules_left_imported
from resultfiles import (
    BARE_METAL,
    HOST_BRIDGE,
    HOST_BRIDGE_EXT,
    LAB_KVM,
    LAB_TCG,
    write_result,
    write_runs,
)

PIO_NS = {HOST_BRIDGE: 170e-9, HOST_BRIDGE_EXT: 175e-9}
EXIT_OK, EXIT_REGRESSION, EXIT_ERROR, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def scaled(means: dict[str, float], factor: float) -> dict[str, float]:
    return {target: mean * factor for target, mean in means.items()}


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    return write_result(tmp_path / "baseline.json", "pio", PIO_NS, seed=1)


@pytest.fixture
def baseline_runs(tmp_path: Path) -> Path:
    """Five runs of pio, 2% apart from run to run (the noise a gate must not call a regression)."""
    return write_runs(tmp_path / "baseline-runs.json", "pio", PIO_NS, runs=5, run_spread=0.02, seed=1)


def candidate(tmp_path: Path, name: str, factor: float, runs: int = 1, seed: int = 50) -> Path:
    """Runs at exactly `factor` times the baseline's level: a planted, known change."""
    return write_runs(tmp_path / name, "pio", scaled(PIO_NS, factor), runs=runs, run_spread=0.0, seed=seed,
                      first_session=100)


# ----------------------------------------------------------------------------- the gate: three outcomes


def test_three_values_a_side_three_times_slower_is_inconclusive(tmp_path: Path, baseline: Path) -> None:
    """Today's failure: 3 values a side cannot reach alpha, and one run a side says nothing about run-to-run noise."""
    base = write_result(tmp_path / "three.json", "pio", PIO_NS, n=3, seed=1)
    slower = write_result(tmp_path / "slower.json", "pio", scaled(PIO_NS, 3.0), n=3, seed=1)
    code, out, err = run_cli("compare", str(base), str(slower), "--fail-if", "mean:5%")
    assert code == EXIT_INCONCLUSIVE
    assert "INCONCLUSIVE (exit 3)" in out
    assert "cfgbench: gate: inconclusive (exit 3)" in err


def test_one_run_a_side_is_never_called_significant(tmp_path: Path) -> None:
    """Values within a run are not independent of its conditions: 30 values a side do not make two runs comparable."""
    a = write_result(tmp_path / "a.json", "pio", PIO_NS, seed=1, session="monday")
    b = write_result(tmp_path / "b.json", "pio", scaled(PIO_NS, 1.07), seed=2, session="tuesday")
    report = compare.compare_paths([str(a), str(b)], ["mean:5%"])
    assert all(c.estimate.design == stats.UNTESTED for t in report.targets for c in t.comparisons)
    assert all(not c.estimate.significant for t in report.targets for c in t.comparisons)
    assert report.gate_outcome == compare.INCONCLUSIVE and report.exit_code == EXIT_INCONCLUSIVE
    assert "run-to-run spread is unknown" in compare.render_text(report)


def test_a_planted_regression_against_several_baseline_runs_fails(tmp_path: Path, baseline_runs: Path) -> None:
    slower = candidate(tmp_path, "slower.json", 1.25)
    code, out, _ = run_cli("compare", str(baseline_runs), str(slower), "--fail-if", "mean:5%")
    assert code == EXIT_REGRESSION, out
    assert "REGRESSION (exit 1)" in out
    assert "is above the limit 1.05x" in out


def test_run_to_run_noise_is_not_a_regression(tmp_path: Path, baseline_runs: Path) -> None:
    same = candidate(tmp_path, "same.json", 1.0)
    code, out, _ = run_cli("compare", str(baseline_runs), str(same), "--fail-if", "median:10%")
    assert code == EXIT_OK, out
    assert "NO REGRESSION (exit 0)" in out


def test_a_change_near_the_limit_is_inconclusive(tmp_path: Path, baseline_runs: Path) -> None:
    near = candidate(tmp_path, "near.json", 1.05)
    code, out, _ = run_cli("compare", str(baseline_runs), str(near), "--fail-if", "median:5%")
    assert code == EXIT_INCONCLUSIVE, out
    assert "straddles the limit" in out


@pytest.mark.parametrize("rule", ["mean:5%", "median:5%", "median:+10ns", "mean:0%"])
def test_a_faster_later_file_never_fails(tmp_path: Path, baseline_runs: Path, rule: str) -> None:
    faster = candidate(tmp_path, "faster.json", 0.7)
    code, _, _ = run_cli("compare", str(baseline_runs), str(faster), "--fail-if", rule)
    assert code == EXIT_OK


def test_reversing_the_files_turns_a_speedup_into_a_regression(tmp_path: Path) -> None:
    fast = write_runs(tmp_path / "fast.json", "pio", PIO_NS, runs=4, seed=1)
    slow = write_runs(tmp_path / "slow.json", "pio", scaled(PIO_NS, 1.3), runs=4, seed=2, first_session=10)
    assert run_cli("compare", str(slow), str(fast), "--fail-if", "mean:5%")[0] == EXIT_OK
    assert run_cli("compare", str(fast), str(slow), "--fail-if", "mean:5%")[0] == EXIT_REGRESSION


@pytest.mark.parametrize(("shift_ns", "expected"), [(150, EXIT_OK), (300, EXIT_REGRESSION)])
def test_absolute_threshold(tmp_path: Path, shift_ns: int, expected: int) -> None:
    base = write_runs(tmp_path / "base.json", "pio", {HOST_BRIDGE: 1e-6}, runs=5, run_spread=0.01, seed=1)
    other = write_runs(tmp_path / "other.json", "pio", {HOST_BRIDGE: 1e-6 + shift_ns * 1e-9 - 140e-9}, runs=5,
                       run_spread=0.01, seed=2, first_session=10)
    assert run_cli("compare", str(base), str(other), "--fail-if", "median:+100ns")[0] == expected


def test_every_rule_is_judged_and_the_worst_outcome_wins(tmp_path: Path, baseline_runs: Path) -> None:
    slower = candidate(tmp_path, "slower.json", 1.25)
    report = compare.compare_paths([str(baseline_runs), str(slower)], ["mean:50%", "median:5%"])
    outcomes = {(v.threshold.text, v.outcome) for v in report.verdicts}
    assert ("mean:50%", compare.NO_REGRESSION) in outcomes
    assert ("median:5%", compare.REGRESSION) in outcomes
    assert report.exit_code == EXIT_REGRESSION


def test_a_baseline_from_another_environment_is_refused_unless_allowed(tmp_path: Path) -> None:
    """Refused (exit 2) by default; allowed, the gate judges the values as it
    would anyone's: here the guest's runs are 1.25x the metal's, a regression."""
    metal = write_runs(tmp_path / "metal.json", "pio", PIO_NS, runs=5, env=BARE_METAL)
    guest = write_runs(tmp_path / "guest.json", "pio", scaled(PIO_NS, 1.25), runs=5, env=LAB_KVM, first_session=10)
    code, _, err = run_cli("compare", str(metal), str(guest), "--fail-if", "mean:5%")
    assert code == EXIT_ERROR
    assert err.count("\n") == 1 and "another environment" in err and "--allow-other-environment" in err
    assert "environment bare-metal vs guest" in err
    code, out, _ = run_cli("compare", str(metal), str(guest), "--fail-if", "mean:5%", "--allow-other-environment")
    assert code == EXIT_REGRESSION and "REGRESSION (exit 1)" in out
    assert run_cli("compare", str(metal), str(guest))[0] == EXIT_OK  # plain compare shows the differences


def test_another_method_is_another_environment_for_the_gate(tmp_path: Path, baseline_runs: Path) -> None:
    mmio = write_runs(tmp_path / "mmio.json", "mmio", PIO_NS, runs=5, first_session=10)
    code, _, err = run_cli("compare", str(baseline_runs), str(mmio), "--fail-if", "mean:5%")
    assert code == EXIT_ERROR and "method pio vs mmio" in err


def test_lab_runs_on_different_physical_hosts_are_different_environments(tmp_path: Path) -> None:
    fast_host = write_runs(tmp_path / "a.json", "pio", PIO_NS, runs=3, cfgbench_lab_host_cpu="EPYC 9654")
    slow_host = write_runs(tmp_path / "b.json", "pio", PIO_NS, runs=3, cfgbench_lab_host_cpu="Xeon E5-2620",
                           first_session=10)
    code, _, err = run_cli("compare", str(fast_host), str(slow_host), "--fail-if", "mean:5%")
    assert code == EXIT_ERROR and "lab host CPU" in err


@pytest.mark.parametrize(("text", "statistic", "relative", "absolute"), [
    ("mean:5%", "mean", 0.05, None),
    ("median:2.5%", "median", 0.025, None),
    ("median:+200ns", "median", None, 200e-9),
    ("mean:1.5us", "mean", None, 1.5e-6),
    ("mean:+2ms", "mean", None, 2e-3),
])
def test_parse_threshold(text: str, statistic: str, relative: float | None, absolute: float | None) -> None:
    threshold = compare.parse_threshold(text)
    assert threshold.statistic == statistic
    assert threshold.relative == pytest.approx(relative) if relative else threshold.relative is None
    assert threshold.absolute == pytest.approx(absolute) if absolute else threshold.absolute is None


@pytest.mark.parametrize("text", ["mean", "max:5%", "mean:-5%", "mean:5", "median:5 parsecs", "mean:%"])
def test_bad_threshold_is_one_line_exit_2(tmp_path: Path, baseline: Path, text: str) -> None:
    code, _, err = run_cli("compare", str(baseline), str(baseline), "--fail-if", text)
    assert code == 2
    assert err.startswith("cfgbench: error: --fail-if") and err.count("\n") == 1



# ----------------------------------------------------------------------------- statistics


def paired_files(tmp_path: Path, ratio: float, rounds: int, session: str = "s1", drift: float = 0.0,
                 noise: float = 0.03, seed: int = 0) -> tuple[Path, Path]:
    """pio and mmio of one interleaved run: per round, both see the machine's
    state (drift, shared noise); mmio's own noise on top."""
    rng = np.random.default_rng(seed)
    machine = (1 + drift * np.arange(rounds) / rounds) * (1 + noise * rng.standard_normal(rounds))
    pio = 170e-9 * machine * (1 + 0.005 * rng.standard_normal(rounds))
    mmio = 170e-9 * ratio * machine * (1 + 0.005 * rng.standard_normal(rounds))
    return (write_result(tmp_path / f"pio-{seed}.json", "pio", {HOST_BRIDGE: 0}, values={HOST_BRIDGE: pio},
                         session=session),
            write_result(tmp_path / f"mmio-{seed}.json", "mmio", {HOST_BRIDGE: 0}, values={HOST_BRIDGE: mmio},
                         session=session))


def test_one_interleaved_run_pairs_values_by_round(tmp_path: Path) -> None:
    pio, mmio = paired_files(tmp_path, 0.55, rounds=48, drift=0.5)
    [target] = compare.compare_paths([str(pio), str(mmio)]).targets
    e = target.comparisons[0].estimate
    assert e.design == stats.PAIRED and e.units == 48 and e.unit_name == "paired rounds"
    assert e.low is not None and e.high is not None and e.low < 0.55 < e.high
    assert e.high / e.low < 1.02  # the machine's drift cancels in each round
    assert e.significant and e.test == "Wilcoxon signed-rank"


def test_the_interval_narrows_with_more_rounds(tmp_path: Path) -> None:
    widths = []
    for rounds in (12, 48, 192):
        pio, mmio = paired_files(tmp_path, 0.55, rounds=rounds, noise=0.0, seed=rounds)
        e = compare.compare_paths([str(pio), str(mmio)]).targets[0].comparisons[0].estimate
        assert e.low is not None and e.high is not None
        widths.append(e.high - e.low)
    assert widths[0] > widths[1] > widths[2]


def test_too_few_pairs_get_an_interval_but_no_verdict(tmp_path: Path) -> None:
    pio, mmio = paired_files(tmp_path, 0.5, rounds=5)
    e = compare.compare_paths([str(pio), str(mmio)]).targets[0].comparisons[0].estimate
    assert e.has_interval and e.p_value is None
    assert "needs at least 6" in e.note


def test_several_runs_put_the_run_to_run_spread_in_the_interval(tmp_path: Path) -> None:
    """Boots of the lab: each run's paired ratio differs; the interval is over runs."""
    ratios = (0.50, 0.55, 0.60)
    pio_runs, mmio_runs = [], []
    for k, ratio in enumerate(ratios):
        pio, mmio = paired_files(tmp_path, ratio, rounds=24, session=f"boot-{k}", seed=k)
        pio_runs.append(compare.load_result_file(str(pio)).benchmarks[HOST_BRIDGE])
        mmio_runs.append(compare.load_result_file(str(mmio)).benchmarks[HOST_BRIDGE])
    for extra_pio, extra_mmio in zip(pio_runs[1:], mmio_runs[1:], strict=True):
        pio_runs[0].add_runs(extra_pio)
        mmio_runs[0].add_runs(extra_mmio)
    e = stats.estimate(pio_runs[0], mmio_runs[0])
    assert e.design == stats.PAIRED and e.unit_name == "runs" and e.units == 3
    assert [round(r, 2) for r in e.per_run] == pytest.approx(ratios, abs=0.01)
    assert e.low is not None and e.high is not None
    assert e.low < 0.50 and e.high > 0.60  # every run's ratio lies inside
    assert "3 runs of 72 paired rounds" in e.rests_on()


def test_sequential_files_of_one_run_are_compared_unpaired_with_a_warning(tmp_path: Path) -> None:
    pio = write_result(tmp_path / "pio.json", "pio", PIO_NS, seed=1, session="same")
    mmio = write_result(tmp_path / "mmio.json", "mmio", scaled(PIO_NS, 0.6), seed=2, session="same")
    for path in (pio, mmio):  # the sequential schedule records no rounds
        data = json.loads(path.read_text())
        for bench in data["benchmarks"]:
            for run in bench["runs"]:
                run["metadata"].pop("cfgbench_rounds", None)
            bench["metadata"].pop("cfgbench_rounds", None)
        path.write_text(json.dumps(data))
    report = compare.compare_paths([str(pio), str(mmio)])
    e = report.targets[0].comparisons[0].estimate
    assert e.design == stats.UNPAIRED and e.significant and e.test == "Welch t on log values"
    assert any("sequential schedule" in w for w in report.warnings)


def test_two_clusters_are_found_and_one_cluster_is_not() -> None:
    rng = np.random.default_rng(3)
    steady = 300e-9 * (1 + 0.02 * rng.standard_normal(24))
    switched = np.concatenate([steady[:14], 560e-9 * (1 + 0.02 * rng.standard_normal(10))])
    found = stats.two_clusters(list(switched))
    assert found is not None and found.n_low == 14 and found.n_high == 10
    assert found.low == pytest.approx(300e-9, rel=0.05) and found.high == pytest.approx(560e-9, rel=0.05)
    assert stats.two_clusters(list(steady)) is None


def test_values_in_two_clusters_are_warned_about(tmp_path: Path, baseline: Path) -> None:
    values = [300e-9] * 14 + [560e-9] * 10
    split = write_result(tmp_path / "split.json", "mmio", {HOST_BRIDGE: 0}, values={HOST_BRIDGE: values})
    report = compare.compare_paths([str(baseline), str(split)])
    assert any("fall into two clusters, 300.0 ns (14 values) and 560.0 ns (10)" in w for w in report.warnings)


def test_format_time_is_shared(baseline: Path) -> None:
    from cfgbench.document import format_time

    assert format_time(4.332e-7) == "433.2 ns" and format_time(28.4e-6, 0.31e-6) == "28.4 ± 0.3 us"


# ----------------------------------------------------------------------------- labels and environments


def test_three_methods_of_one_run_in_one_table(tmp_path: Path) -> None:
    """Values built round by round here: the machine's speed moves (it cancels
    in each round's ratio), mmio is 1/1.55 of pio and the kernel 18.8x, each
    with a small fixed wobble. The figures are held against scipy's t interval
    of the log ratios and its Wilcoxon test, computed here."""
    rounds = np.arange(30)
    machine = 1 + 0.2 * np.sin(rounds)
    pio = 170e-9 * machine
    logs = {"mmio": -np.log(1.55) + 0.02 * ((rounds * 7) % 11 - 5), "kernel": np.log(18.8) + 0.03 * ((rounds * 5) % 7 - 3)}
    files = [write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 0}, values={HOST_BRIDGE: pio}, session="lab")]
    for method, log_ratios in logs.items():
        files.append(write_result(tmp_path / f"{method}.json", method, {HOST_BRIDGE: 0},
                                  values={HOST_BRIDGE: pio * np.exp(log_ratios)}, session="lab"))
    code, out, _ = run_cli("compare", *map(str, files))
    assert code == EXIT_OK
    for method, word in (("mmio", "faster"), ("kernel", "slower")):
        found = re.search(rf"{method} ([\d.]+)x {word} than pio \(95% CI ([\d.]+)-([\d.]+), 30 paired rounds; "
                          r"significant, Wilcoxon", out)
        assert found, out
        log_ratios = logs[method]
        half = scipy_stats.t.ppf(0.975, 29) * log_ratios.std(ddof=1) / np.sqrt(30)
        sign = -1 if word == "faster" else 1  # "x faster" is pio/mmio: the interval turns round
        expected = sorted(np.exp(sign * (log_ratios.mean() + np.array([0, -half, half]))))
        shown = sorted(float(x) for x in found.groups())
        assert shown == pytest.approx(expected, rel=0.0035)  # as printed, to 3 significant digits
        assert scipy_stats.wilcoxon(log_ratios).pvalue < 0.05


def test_same_method_files_are_told_apart_by_environment(tmp_path: Path) -> None:
    tcg = write_result(tmp_path / "a.json", "pio", PIO_NS, env=LAB_TCG)
    kvm = write_result(tmp_path / "b.json", "pio", PIO_NS, env=LAB_KVM)
    files = compare.load_result_files([str(tcg), str(kvm)])
    assert [f.label for f in files] == ["pio (tcg)", "pio (kvm)"]


def test_same_method_same_environment_falls_back_to_file_names(tmp_path: Path) -> None:
    first = write_result(tmp_path / "monday.json", "pio", PIO_NS)
    second = write_result(tmp_path / "tuesday.json", "pio", PIO_NS, seed=9)
    assert [f.label for f in compare.load_result_files([str(first), str(second)])] == ["pio (monday)", "pio (tuesday)"]


def test_environment_differences_are_shown_above_the_table(tmp_path: Path) -> None:
    guest = write_result(tmp_path / "guest.json", "pio", {HOST_BRIDGE: 28e-6}, env=LAB_KVM)
    metal = write_result(tmp_path / "metal.json", "mmio", {HOST_BRIDGE: 270e-9}, env=BARE_METAL)
    code, out, _ = run_cli("compare", str(guest), str(metal))
    assert code == EXIT_OK
    env_block, _, table = out.partition("Ratios are time ratios")
    assert "Environment differs in:" in env_block
    for label in ("method", "environment", "hypervisor", "kernel release", "CPU", "lab accel"):
        assert f"\n  {label} " in env_block
    assert "KVMKVMKVM" in env_block and "bare-metal" in env_block
    assert "Same in all files: cfgbench version 0.1.0" in env_block
    assert "mmio 104x faster than pio (no interval: one run a side" in table


def test_keys_that_agree_are_not_listed_as_differences(tmp_path: Path, baseline: Path) -> None:
    other = write_result(tmp_path / "mmio.json", "mmio", PIO_NS)
    shared, differing = compare.compare_paths([str(baseline), str(other)]).env_split()
    assert list(differing) == ["method"]
    assert differing["method"] == ["pio", "mmio"]
    assert shared["lab accel"] == "tcg"


def test_missing_targets_are_reported_not_fatal(tmp_path: Path, baseline: Path) -> None:
    partial = write_result(tmp_path / "partial.json", "mmio", {HOST_BRIDGE: 110e-9})
    report = compare.compare_paths([str(baseline), str(partial)])
    assert [t.name for t in report.targets] == [HOST_BRIDGE]
    assert any(f"lacks {HOST_BRIDGE_EXT}" in w for w in report.warnings)


def test_mismatched_reads_are_warned_about_in_any_run(tmp_path: Path, baseline: Path) -> None:
    """Counts live on each run: a later run's mismatches are not hidden by an earlier clean one."""
    bad = write_runs(tmp_path / "bad.json", "pio", PIO_NS, runs=2)
    data = json.loads(bad.read_text())
    data["benchmarks"][0]["runs"][-1]["metadata"]["cfgbench_mismatches"] = 12
    bad.write_text(json.dumps(data))
    report = compare.compare_paths([str(baseline), str(bad)])
    assert any("12 of" in w and "reads returned another value" in w and "misdirected" in w for w in report.warnings)


def test_unstable_values_are_warned_about(tmp_path: Path, baseline: Path) -> None:
    noisy = write_result(tmp_path / "noisy.json", "mmio", PIO_NS, rel_std=0.3)
    report = compare.compare_paths([str(baseline), str(noisy)])
    assert any("of the mean over 30 values; the figures are unstable" in w for w in report.warnings)


# ----------------------------------------------------------------------------- formats


def test_markdown_shape(tmp_path: Path, baseline_runs: Path) -> None:
    slower = candidate(tmp_path, "slower.json", 1.25)
    code, out, _ = run_cli("compare", str(baseline_runs), str(slower), "--format", "markdown", "--fail-if", "median:5%")
    assert code == EXIT_REGRESSION
    lines = out.splitlines()
    assert lines[0] == "## cfgbench compare"
    assert f"### `{HOST_BRIDGE}`" in lines
    header = lines.index("| file | mean ± std dev | median | min … max | n | vs reference | 95% CI | verdict |")
    assert lines[header + 1] == "| --- | --- | --- | --- | --- | --- | --- | --- |"
    assert lines[header + 2].startswith("| pio (baseline-runs) | ") and "| reference |" in lines[header + 2]
    assert lines[header + 3].startswith("| pio (slower) | ") and "x slower | " in lines[header + 3]
    assert "5 and 1 runs | significant, t on run medians (one run against 5) p = " in lines[header + 3]
    assert "### gate (median:5%): REGRESSION (exit 1)" in lines


def test_markdown_escapes_table_pipes(tmp_path: Path) -> None:
    a = write_result(tmp_path / "a.json", "pio", PIO_NS, cfgbench_cpu_model="CPU | A")
    b = write_result(tmp_path / "b.json", "pio", PIO_NS, cfgbench_cpu_model="CPU | B")
    out = compare.render_markdown(compare.compare_paths([str(a), str(b)]))
    assert "| CPU | CPU \\| A | CPU \\| B |" in out


def test_json_shape(tmp_path: Path, baseline_runs: Path) -> None:
    slower = candidate(tmp_path, "slower.json", 1.25)
    code, out, _ = run_cli("compare", str(baseline_runs), str(slower), "--format", "json", "--fail-if", "mean:5%")
    assert code == EXIT_REGRESSION
    data = json.loads(out)
    assert data["confidence"] == 0.95 and data["alpha"] == 0.05
    assert [f["label"] for f in data["files"]] == ["pio (baseline-runs)", "pio (slower)"]
    first = data["targets"][0]
    assert first["name"] == HOST_BRIDGE
    assert set(first["samples"]["0"]) == {"n", "mean_s", "std_s", "median_s", "min_s", "max_s", "values"}
    comparison = first["comparisons"][0]
    assert comparison["file_index"] == 1 and set(comparison["estimates"]) == {"median", "mean"}  # the rule asks the mean
    mean = comparison["estimates"]["mean"]
    assert mean["ratio"] == pytest.approx(1.25, rel=0.05) and mean["low"] < mean["ratio"] < mean["high"]
    assert mean["design"] == stats.RUNS
    assert data["gate"]["outcome"] == "regression" and data["gate"]["exit_code"] == EXIT_REGRESSION
    assert {v["target"] for v in data["gate"]["verdicts"]} == {HOST_BRIDGE, HOST_BRIDGE_EXT}
    assert data["gate"]["verdicts"][0]["limit_ratio"] == pytest.approx(1.05)
    assert data["gate"]["verdicts"][0]["estimate"] == mean


def test_json_without_gate(tmp_path: Path, baseline: Path) -> None:
    other = write_result(tmp_path / "other.json", "pio", PIO_NS, seed=3)
    data = json.loads(compare.render_json(compare.compare_paths([str(baseline), str(other)])))
    assert data["gate"] == {"thresholds": [], "outcome": None, "exit_code": 0, "verdicts": []}


# ----------------------------------------------------------------------------- errors: one line, exit 2
# (Missing, empty, corrupt and foreign files: tests/test_results.py for the
# loader, tests/test_bad_input.py for the command.)


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert err.startswith("cfgbench: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_no_target_in_common(tmp_path: Path, baseline: Path) -> None:
    other = write_result(tmp_path / "scan.json", "mmio", {"scan 0000:00-ff": 1e-3})
    assert_one_line_error(*run_cli("compare", str(baseline), str(other))[::2], "no target in common")


# ----------------------------------------------------------------------------- pyperf still reads our files


@pytest.mark.parametrize("command", [["stats"], ["show"]])
def test_pyperf_reads_the_fixture_files(baseline: Path, command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pyperf", *command, str(baseline)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert HOST_BRIDGE in done.stdout


def test_pyperf_compare_to_pairs_targets_across_methods(tmp_path: Path, baseline: Path) -> None:
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 110e-9, HOST_BRIDGE_EXT: 112e-9}, seed=2)
    done = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(baseline), str(mmio)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "faster" in done.stdout


def test_same_file_names_in_different_directories_get_their_directory(tmp_path: Path) -> None:
    (tmp_path / "baseline").mkdir()
    (tmp_path / "run").mkdir()
    old = write_result(tmp_path / "baseline" / "pio.json", "pio", PIO_NS)
    new = write_result(tmp_path / "run" / "pio.json", "pio", PIO_NS, seed=9)
    labels = [f.label for f in compare.load_result_files([str(old), str(new)])]
    assert labels == ["pio (baseline/pio)", "pio (run/pio)"]


def test_a_target_the_first_file_lacks_is_compared_with_the_first_that_has_it(tmp_path: Path) -> None:
    """The lab's 0x100 target: type 1 cannot reach it, so mmio is its reference."""
    pio = write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 170e-9}, seed=1, session="lab")
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 100e-9, HOST_BRIDGE_EXT: 100e-9}, seed=2,
                        session="lab")
    kernel = write_result(tmp_path / "kernel.json", "kernel", {HOST_BRIDGE: 4e-6, HOST_BRIDGE_EXT: 4e-6}, seed=3,
                          session="lab")
    report = compare.compare_paths([str(pio), str(mmio), str(kernel)])
    by_name = {t.name: t for t in report.targets}
    assert by_name[HOST_BRIDGE].reference == 0
    extended = by_name[HOST_BRIDGE_EXT]
    assert extended.reference == 1 and [c.file_index for c in extended.comparisons] == [2]
    assert extended.comparisons[0].estimate.ratio == pytest.approx(40, rel=0.05)
    assert re.search(r"kernel (39\.\d|40\.\d)x slower than mmio \(95% CI", compare.render_text(report))


def test_importing_compare_loads_no_numpy_or_scipy() -> None:
    """`ci promote` and a gate's environment check run in a TCG guest, where importing scipy costs ~25 s."""
    assert modules_left_imported("import cfgbench.compare, cfgbench.ci.promote", "numpy", "scipy") == []


def test_runs_that_agree_by_chance_do_not_shrink_the_interval_below_their_own_noise() -> None:
    """Three boots whose means happen to coincide: the interval keeps each boot's own uncertainty."""
    rng = np.random.default_rng(5)
    noisy_runs = [list(0.1 * rng.standard_normal(32)) for _ in range(3)]
    coinciding = [[x - float(np.mean(run)) + 0.5 for x in run] for run in noisy_runs]  # every mean exactly 0.5
    ref = {(f"boot-{k}", r): 1.0 for k in range(3) for r in range(32)}
    other = {(f"boot-{k}", r): float(np.exp(x)) for k, run in enumerate(coinciding) for r, x in enumerate(run)}
    e = stats.paired(ref, other)
    assert e is not None and e.units == 3 and e.ratio == pytest.approx(np.exp(0.5))
    assert e.low is not None and e.high is not None
    within = float(np.sqrt(sum(np.var(run, ddof=1) / 32 for run in coinciding)) / 3)
    assert np.log(e.high) - 0.5 == pytest.approx(scipy_stats.t.ppf(0.975, 2) * within)


def _runs_with_medians(medians: list[float], rel_std: float, seed: int) -> list[list[float]]:
    """Runs of 60 values spread by rel_std whose medians are exactly these."""
    rng = np.random.default_rng(seed)
    runs = []
    for median in medians:
        logs = rel_std * rng.standard_normal(60)
        runs.append([median * float(np.exp(x - np.median(logs))) for x in logs])
    return runs


@pytest.mark.parametrize(("rel_std", "regression"), [(0.13, False), (0.005, True)])
def test_baseline_runs_that_agree_by_chance_do_not_make_a_noisy_machine_look_steady(rel_std: float,
                                                                                   regression: bool) -> None:
    """The false alarm measured in results/false-alarms: three runs 8.27, 8.31, 8.78 us (values spread
    13% within each run), then one at 12.27 us with nothing changed. The runs' own spread floors the
    run-to-run spread; on a steady machine (values within 0.5%) the same jump is a regression."""
    baseline = _runs_with_medians([8.27e-6, 8.31e-6, 8.78e-6], rel_std, seed=1)
    later = _runs_with_medians([12.27e-6], rel_std, seed=2)
    e = stats.across_runs(baseline, later)
    assert e.low is not None and e.ratio == pytest.approx(12.27 / np.exp(np.mean(np.log([8.27, 8.31, 8.78]))))
    assert (e.low > 1.05) is regression
