"""cfgbench compare: statistics, verdicts, the gate, rendering and error handling, on synthetic files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cfgbench import compare
from cfgbench.cli import main
from cfgbench.errors import CfgbenchError
from resultfiles import (
    BARE_METAL,
    HOST_BRIDGE,
    HOST_BRIDGE_EXT,
    LAB_KVM,
    LAB_TCG,
    make_benchmark,
    noisy_values,
    write_result,
    write_suite,
)

PIO_NS = {HOST_BRIDGE: 170e-9, HOST_BRIDGE_EXT: 175e-9}


def scaled(means: dict[str, float], factor: float) -> dict[str, float]:
    return {target: mean * factor for target, mean in means.items()}


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    return write_result(tmp_path / "baseline.json", "pio", PIO_NS, seed=1)


def later(tmp_path: Path, name: str, factor: float, **kwargs) -> Path:
    """The baseline's exact noise, shifted by `factor`: a planted, known change."""
    return write_result(tmp_path / name, "pio", scaled(PIO_NS, factor), seed=1, **kwargs)


# ----------------------------------------------------------------------------- the gate


def test_planted_10pct_regression_fails_the_gate(tmp_path: Path, baseline: Path) -> None:
    slower = later(tmp_path, "slower.json", 1.10)
    code, out, err = run_cli("compare", str(baseline), str(slower), "--fail-if", "mean:5%")
    assert code == 1
    assert "gate FAILED" in out
    assert f"{HOST_BRIDGE} in {slower}" in err
    assert "+10.0%" in err and "significant, p =" in err


def test_planted_1pct_change_passes_the_gate(tmp_path: Path, baseline: Path) -> None:
    slightly = later(tmp_path, "slightly.json", 1.01)
    code, out, err = run_cli("compare", str(baseline), str(slightly), "--fail-if", "mean:5%", "--fail-if", "median:5%")
    assert code == 0, err
    assert "gate passed" in out
    assert err == ""


@pytest.mark.parametrize("rule", ["mean:5%", "median:5%", "median:+10ns", "mean:0%"])
def test_a_faster_later_file_never_fails(tmp_path: Path, baseline: Path, rule: str) -> None:
    faster = later(tmp_path, "faster.json", 0.80)
    code, out, _ = run_cli("compare", str(baseline), str(faster), "--fail-if", rule)
    assert code == 0
    assert "pio (faster) ran 1.25 ± 0.02 times faster than pio (baseline)" in out


def test_reversing_the_files_turns_a_speedup_into_a_failure(tmp_path: Path, baseline: Path) -> None:
    faster = later(tmp_path, "faster.json", 0.80)
    code, _, err = run_cli("compare", str(faster), str(baseline), "--fail-if", "median:5%")
    assert code == 1
    assert "+25.0%" in err


@pytest.mark.parametrize(("shift_ns", "expected_code"), [(150, 0), (300, 1)])
def test_absolute_threshold(tmp_path: Path, shift_ns: int, expected_code: int) -> None:
    ref_values = noisy_values(1e-6, seed=5)
    ref = write_result(tmp_path / "ref.json", "kernel", {HOST_BRIDGE: 1e-6}, values={HOST_BRIDGE: ref_values})
    new = write_result(tmp_path / "new.json", "kernel", {HOST_BRIDGE: 1e-6},
                       values={HOST_BRIDGE: ref_values + shift_ns * 1e-9})
    code, _, err = run_cli("compare", str(ref), str(new), "--fail-if", "median:+200ns")
    assert code == expected_code, err


def test_a_slowdown_that_is_not_significant_does_not_trip(tmp_path: Path) -> None:
    # One interrupt-sized outlier raises the mean by >10%, the ranks barely move.
    values = noisy_values(200e-9, n=30, seed=7)
    spiked = values.copy()
    spiked[0] += 30 * 200e-9 * 0.12
    ref = write_result(tmp_path / "ref.json", "mmio", {HOST_BRIDGE: 200e-9}, values={HOST_BRIDGE: values})
    new = write_result(tmp_path / "new.json", "mmio", {HOST_BRIDGE: 200e-9}, values={HOST_BRIDGE: spiked})
    report = compare.compare_paths([str(ref), str(new)], ["mean:5%"])
    target = report.targets[0]
    assert target.samples[1].mean > 1.10 * target.samples[0].mean
    assert not target.comparisons[0].significance.significant
    assert not report.gate_failed


def test_only_the_rule_that_is_exceeded_trips(tmp_path: Path, baseline: Path) -> None:
    slower = later(tmp_path, "slower.json", 1.10)
    report = compare.compare_paths([str(baseline), str(slower)], ["mean:50%", "median:5%"])
    assert {trip.threshold.text for trip in report.trips} == {"median:5%"}
    assert {trip.target for trip in report.trips} == {HOST_BRIDGE, HOST_BRIDGE_EXT}


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


def test_speed_ratio_propagates_relative_errors() -> None:
    ref = compare.Sample((99.0, 101.0))  # mean 100, std sqrt(2)
    other = compare.Sample((196.0, 204.0))  # mean 200, std 4 sqrt(2)
    ratio, error = compare.speed_ratio(ref, other)
    assert ratio == pytest.approx(2.0)
    assert error == pytest.approx(2.0 * np.hypot(np.sqrt(2) / 100, 4 * np.sqrt(2) / 200))


@pytest.mark.parametrize(("ratio", "error", "sentence"), [
    (0.5, 0.01, "mmio ran 2.00 ± 0.04 times faster than pio"),
    (1.52, 0.03, "mmio ran 1.52 ± 0.03 times slower than pio"),
    (1.0, 0.0, "mmio ran as fast as pio"),
])
def test_speed_sentence(ratio: float, error: float, sentence: str) -> None:
    assert compare.speed_sentence("mmio", "pio", ratio, error) == sentence


def test_rank_test_power_bound() -> None:
    # Exact two-sided Mann-Whitney: min p = 2 / C(n1 + n2, n1).
    assert not compare.rank_test_can_reach_alpha(3, 3)  # 2/20 = 0.1
    assert compare.rank_test_can_reach_alpha(4, 4)  # 2/70 < 0.05


def test_too_few_values_are_flagged(tmp_path: Path) -> None:
    ref = write_result(tmp_path / "a.json", "pio", {HOST_BRIDGE: 170e-9}, n=3)
    new = write_result(tmp_path / "b.json", "pio", {HOST_BRIDGE: 340e-9}, n=3)
    report = compare.compare_paths([str(ref), str(new)], ["mean:5%"])
    assert not report.gate_failed
    assert any("can never reach p < 0.05" in w and "record more values" in w for w in report.warnings)


def test_without_scipy_falls_back_to_welch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare, "_have_scipy", lambda: False)
    a = noisy_values(100e-9, seed=1)
    assert compare.significance(a, a * 1.10).significant
    assert compare.significance(a, noisy_values(100e-9, seed=2)).test == "Welch t"
    assert not compare.significance(a, noisy_values(100e-9, seed=2)).significant
    assert "Welch" in compare.describe_significance_test()


def test_significance_of_one_value_is_never_claimed() -> None:
    verdict = compare.significance([1e-7], [2e-7])
    assert not verdict.significant and "fewer than 2" in verdict.describe()


@pytest.mark.parametrize(("seconds", "text"), [
    (433.2e-9, "433.2 ns"), (1.523e-6, "1.52 us"), (28.43e-6, "28.4 us"), (0.5e-9, "0.50 ns"), (2.5e-3, "2.50 ms"),
])
def test_format_time(seconds: float, text: str) -> None:
    assert compare.format_time(seconds) == text


def test_format_time_with_spread_shares_the_unit() -> None:
    assert compare.format_time(28.4e-6, 0.31e-6) == "28.4 ± 0.3 us"


# ----------------------------------------------------------------------------- labels and environments


def test_two_lab_runs_and_a_kernel_run_in_one_table(tmp_path: Path) -> None:
    pio = write_result(tmp_path / "pio.json", "pio", PIO_NS, seed=1)
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 110e-9, HOST_BRIDGE_EXT: 112e-9}, seed=2)
    kernel = write_result(tmp_path / "kernel.json", "kernel", {HOST_BRIDGE: 3.2e-6, HOST_BRIDGE_EXT: 3.0e-6}, seed=3)
    code, out, _ = run_cli("compare", str(pio), str(mmio), str(kernel))
    assert code == 0
    assert "mmio ran 1.55 ± 0.02 times faster than pio" in out
    assert "kernel ran 18.8 ± 0.3 times slower than pio" in out
    assert out.count("significant, p =") == 2 * 2 * 2  # (table + sentence) x 2 files x 2 targets
    assert "Mann-Whitney U" in out


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
    assert code == 0
    env_block, _, table = out.partition("Significance:")
    assert "Environment differs in:" in env_block
    for label in ("method", "environment", "hypervisor", "kernel release", "CPU", "lab accel"):
        assert f"\n  {label} " in env_block
    assert "KVMKVMKVM" in env_block and "bare-metal" in env_block
    assert "Same in all files: cfgbench version 0.1.0" in env_block
    assert "mmio ran 104 ± 1 times faster than pio" in table


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


def test_mismatched_reads_are_warned_about(tmp_path: Path, baseline: Path) -> None:
    bad = write_result(tmp_path / "bad.json", "mmio", PIO_NS, cfgbench_mismatches=12)
    report = compare.compare_paths([str(baseline), str(bad)])
    assert any("12 reads returned another value" in w for w in report.warnings)


def test_unstable_values_are_warned_about(tmp_path: Path, baseline: Path) -> None:
    noisy = write_result(tmp_path / "noisy.json", "mmio", PIO_NS, rel_std=0.3)
    report = compare.compare_paths([str(baseline), str(noisy)])
    assert any("of the mean; the figures are unstable" in w for w in report.warnings)


# ----------------------------------------------------------------------------- formats


def test_markdown_shape(tmp_path: Path, baseline: Path) -> None:
    slower = later(tmp_path, "slower.json", 1.10)
    code, out, _ = run_cli("compare", str(baseline), str(slower), "--format", "markdown", "--fail-if", "median:5%")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "## cfgbench compare"
    assert f"### `{HOST_BRIDGE}`" in lines
    header = lines.index("| file | mean ± std dev | median | min … max | n | vs reference | verdict |")
    assert lines[header + 1] == "|---|---|---|---|---|---|---|"
    assert lines[header + 2].startswith("| pio (baseline) | ") and "| reference |" in lines[header + 2]
    assert lines[header + 3].startswith("| pio (slower) | ") and "| 1.10 ± 0.01 times slower |" in lines[header + 3]
    assert "- pio (slower) ran 1.10 ± 0.01 times slower than pio (baseline) (significant, p = " in out
    assert "### Gate" in lines and "**gate FAILED:**" in lines


def test_markdown_escapes_table_pipes(tmp_path: Path) -> None:
    a = write_result(tmp_path / "a.json", "pio", PIO_NS, cfgbench_cpu_model="CPU | A")
    b = write_result(tmp_path / "b.json", "pio", PIO_NS, cfgbench_cpu_model="CPU | B")
    out = compare.render_markdown(compare.compare_paths([str(a), str(b)]))
    assert "| CPU | CPU \\| A | CPU \\| B |" in out


def test_json_shape(tmp_path: Path, baseline: Path) -> None:
    slower = later(tmp_path, "slower.json", 1.10)
    code, out, _ = run_cli("compare", str(baseline), str(slower), "--format", "json", "--fail-if", "mean:5%")
    assert code == 1
    data = json.loads(out)
    assert data["reference"] == 0 and data["alpha"] == 0.05
    assert [f["label"] for f in data["files"]] == ["pio (baseline)", "pio (slower)"]
    assert data["environment"]["differing"] == {}
    first = data["targets"][0]
    assert first["name"] == HOST_BRIDGE
    assert {r["file"] for r in first["results"]} == {0, 1}
    assert set(first["results"][0]) == {"file", "n", "mean_s", "std_s", "median_s", "min_s", "max_s"}
    comparison = first["comparisons"][0]
    assert comparison["ratio"] == pytest.approx(1.10)
    assert comparison["significance"]["test"] == "Mann-Whitney U"
    assert comparison["significance"]["significant"] is True
    assert data["gate"]["failed"] is True
    assert {t["target"] for t in data["gate"]["trips"]} == {HOST_BRIDGE, HOST_BRIDGE_EXT}
    assert data["gate"]["trips"][0]["change"] == pytest.approx(0.10)


def test_json_without_gate(tmp_path: Path, baseline: Path) -> None:
    other = later(tmp_path, "other.json", 1.0)
    data = json.loads(compare.render_json(compare.compare_paths([str(baseline), str(other)])))
    assert data["gate"] == {"thresholds": [], "failed": False, "trips": []}


# ----------------------------------------------------------------------------- errors: one line, exit 2


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert err.startswith("cfgbench: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_missing_file(tmp_path: Path, baseline: Path) -> None:
    code, _, err = run_cli("compare", str(baseline), str(tmp_path / "nope.json"))
    assert_one_line_error(code, err, "nope.json")


def test_empty_file(tmp_path: Path, baseline: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert_one_line_error(*run_cli("compare", str(baseline), str(empty))[::2], "empty")


def test_corrupt_file(tmp_path: Path, baseline: Path) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(baseline.read_text()[:200])
    assert_one_line_error(*run_cli("compare", str(baseline), str(corrupt))[::2], "corrupt.json")


@pytest.mark.parametrize("content", ['{"results": [1, 2]}', "[1, 2, 3]", '{"version": "1.0", "benchmarks": 7}'])
def test_foreign_json(tmp_path: Path, baseline: Path, content: str) -> None:
    foreign = tmp_path / "foreign.json"
    foreign.write_text(content)
    assert_one_line_error(*run_cli("compare", str(baseline), str(foreign))[::2], "foreign.json")


def test_pyperf_file_that_cfgbench_did_not_write(tmp_path: Path, baseline: Path) -> None:
    plain = write_suite(tmp_path / "plain.json", [make_benchmark([1e-3, 1.1e-3], {"name": HOST_BRIDGE})])
    assert_one_line_error(*run_cli("compare", str(baseline), str(plain))[::2], "not a cfgbench result")


def test_no_target_in_common(tmp_path: Path, baseline: Path) -> None:
    other = write_result(tmp_path / "scan.json", "mmio", {"scan 0000:00-ff": 1e-3})
    assert_one_line_error(*run_cli("compare", str(baseline), str(other))[::2], "no target in common")


def test_one_file_is_not_a_comparison(baseline: Path) -> None:
    assert_one_line_error(*run_cli("compare", str(baseline))[::2], "at least two")


def test_library_raises_cfgbench_error(tmp_path: Path) -> None:
    with pytest.raises(CfgbenchError):
        compare.compare_paths([str(tmp_path / "a.json"), str(tmp_path / "b.json")])


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


@pytest.mark.parametrize(("value", "error", "text"), [
    (1.523, 0.031, "1.52 ± 0.03"), (18.84, 0.27, "18.8 ± 0.3"), (19003.83, 1146.31, "19004 ± 1146"),
])
def test_format_factor_keeps_meaningful_digits(value: float, error: float, text: str) -> None:
    assert compare.format_factor(value, error) == text


def test_a_target_the_first_file_lacks_is_compared_with_the_first_that_has_it(tmp_path: Path) -> None:
    """The lab's 0x100 target: type 1 cannot reach it, so mmio is its reference."""
    pio = write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 170e-9}, seed=1)
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 100e-9, HOST_BRIDGE_EXT: 100e-9}, seed=2)
    kernel = write_result(tmp_path / "kernel.json", "kernel", {HOST_BRIDGE: 4e-6, HOST_BRIDGE_EXT: 4e-6}, seed=3)
    report = compare.compare_paths([str(pio), str(mmio), str(kernel)], fail_if=["median:5%"])
    by_name = {t.name: t for t in report.targets}
    assert by_name[HOST_BRIDGE].reference == 0
    extended = by_name[HOST_BRIDGE_EXT]
    assert extended.reference == 1 and [c.file_index for c in extended.comparisons] == [2]
    assert extended.comparisons[0].ratio == pytest.approx(40, rel=0.05)
    # The kernel file is slower than its reference for both targets, and the gate names each reference.
    trips = {(t.target, t.ref_index) for t in report.trips}
    assert {(HOST_BRIDGE, 0), (HOST_BRIDGE_EXT, 1)} <= trips
    text = compare.RENDERERS["text"](report)
    assert re.search(r"kernel ran (39\.\d|40\.\d) ± [\d.]+ times slower than mmio", text)


def test_the_cli_choices_match_the_renderers_and_panels() -> None:
    from cfgbench import plot
    from cfgbench.cli import compare_cmds

    assert set(compare_cmds.FORMATS) == set(compare.RENDERERS)
    assert list(compare_cmds.PANELS) == list(plot.PANELS)
