"""cfgbench ci: the bare-metal job's steps (run, gate, promote, fleet) on synthetic files.

Baselines and runs are built with pyperf's API (tests/resultfiles.py): a run is
one session, as `cfgbench ci run` writes it; a baseline gathers sessions, as
`cfgbench ci promote` appends them. tests/lab/test_workflow_e2e.py runs the same
steps, from the workflow file, as a runner in a guest."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest
from click.testing import CliRunner

from cfgbench.ci import promote, summary, timing
from cfgbench.ci.gate import ERROR, gate_run
from cfgbench.cli import main
from cfgbench.compare import NO_REGRESSION, REGRESSION
from cfgbench.settings import Settings
from cli_helpers import modules_left_imported
from historyfiles import ci_runs
from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT, LAB_KVM, write_runs

MEANS = {
    "pio": {HOST_BRIDGE: 170e-9},  # type 1 cannot reach 0x100
    "mmio": {HOST_BRIDGE: 100e-9, HOST_BRIDGE_EXT: 105e-9},
    "kernel": {HOST_BRIDGE: 3.6e-6, HOST_BRIDGE_EXT: 3.5e-6},
}
EXIT_OK, EXIT_REGRESSION, EXIT_ERROR, EXIT_INCONCLUSIVE = 0, 1, 2, 3
METHODS = ("pio", "mmio", "kernel")
RULE = "median:5%"


@pytest.fixture(autouse=True)
def _not_in_a_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite itself runs in GitHub Actions: its summary file and run must not leak into these commands.
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_RUN_ID", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_run(directory: Path, session: int, factor: float = 1.0, methods: tuple[str, ...] = METHODS,
              **kwargs: object) -> Path:
    """One CI run: {method}.json of one session, `factor` times the usual level."""
    directory.mkdir(parents=True, exist_ok=True)
    for method in methods:
        means = {target: mean * factor for target, mean in MEANS[method].items()}
        write_runs(directory / f"{method}.json", method, means, runs=1, run_spread=0.0, seed=session,
                   first_session=session, **kwargs)  # type: ignore[arg-type]
    return directory


def write_baseline(directory: Path, runs: int, methods: tuple[str, ...] = METHODS, **kwargs: object) -> Path:
    """A baseline of `runs` sessions, 1% apart from run to run (a quiet machine)."""
    directory.mkdir(parents=True, exist_ok=True)
    for method in methods:
        write_runs(directory / f"{method}.json", method, MEANS[method], runs=runs, run_spread=0.01, seed=1,
                   **kwargs)  # type: ignore[arg-type]
    return directory


def sessions_in(path: Path) -> dict[str, list[str]]:
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {b.get_name(): [str(r.get_metadata().get("cfgbench_session")) for r in b.get_runs()]
            for b in suite.get_benchmarks()}


# ----------------------------------------------------------------------------- ci run: what the root step times


def test_run_times_every_method_and_0x100_only_where_the_host_bridge_has_it(tmp_path: Path) -> None:
    pcie = timing.run_request(tmp_path, "default", size=4096)
    assert pcie.plan.methods == ["pio", "mmio", "kernel"]
    assert [str(t) for t in pcie.plan.targets] == ["0000:00:00.0+0x000/4", "0000:00:00.0+0x100/4"]
    assert pcie.output == tmp_path / "{method}.json" and pcie.settings == Settings(quiet=True)
    q35 = timing.run_request(tmp_path, "quick", size=256)
    assert [t.offset for t in q35.plan.targets] == [0]
    assert (q35.settings.in_process, q35.settings.values, q35.settings.min_time) == (True, 12, 0.004)


def test_run_refuses_unknown_settings(tmp_path: Path) -> None:
    code, _, err = run_cli("ci", "run", "--results", str(tmp_path), "--settings", "--rigorous")
    assert code == EXIT_ERROR and "--settings" in err


def test_run_is_one_cfgbench_run_and_refuses_raw_access_here(tmp_path: Path) -> None:
    # The suite forbids raw access: the run stops before any port or /dev/mem access, in one line.
    done = subprocess.run([sys.executable, "-m", "cfgbench", "ci", "run", "--results", str(tmp_path),
                           "--settings", "quick"], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == EXIT_ERROR, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("cfgbench: ci run: cfgbench run -m pio -m mmio -m kernel -d 0000:00:00.0")
    assert lines[-1].startswith("cfgbench: error:") and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_root_step_imports_no_numpy_or_scipy() -> None:
    code = "from cfgbench.cli import main, measure_cmds; from cfgbench.ci import timing"
    assert modules_left_imported(code, "numpy", "scipy", "matplotlib", "otava") == []


# ----------------------------------------------------------------------------- ci gate


def test_missing_baseline_reports_passes_and_says_how_to_start_one(tmp_path: Path) -> None:
    results = write_run(tmp_path / "ci-results", 100)
    summary_file = tmp_path / "summary.md"
    summary_file.write_text("earlier step\n")
    code, out, err = run_cli("ci", "gate", "--results", str(results), "--baseline", str(tmp_path / "none"),
                             "--summary", str(summary_file), "--runner", "bm-1", "--artifact", "cfgbench-bm-1",
                             "--run-id", "4242", "--repository", "owner/cfgbench")
    assert code == EXIT_OK, err
    assert "cfgbench: ci gate: no baseline (exit 0)" in err
    notice = [line for line in out.splitlines() if line.startswith("::notice ")]
    assert len(notice) == 1 and "title=cfgbench%3A no baseline on bm-1::" in notice[0]
    assert "cfgbench ci promote --results ci-results-4242 --baseline " in notice[0]
    text = summary_file.read_text()
    assert text.startswith("earlier step\n## cfgbench CI gate: bm-1\n")  # appended, never replaced
    assert "No baseline in" in text and "(exit 0)" in text
    assert "gh run download 4242 --repo owner/cfgbench --name cfgbench-bm-1 --dir ci-results-4242" in text
    assert "### This run: pio, mmio, kernel" in text  # the registry's order; 0x100 is compared with mmio


def test_one_run_baseline_is_inconclusive(tmp_path: Path) -> None:
    results = write_run(tmp_path / "ci-results", 100)
    baseline = write_baseline(tmp_path / "baseline", runs=1)
    code, out, err = run_cli("ci", "gate", "--results", str(results), "--baseline", str(baseline))
    assert code == EXIT_INCONCLUSIVE, err
    assert any(line.startswith("::warning title=cfgbench%3A inconclusive::") for line in out.splitlines())
    assert "fewer than 3 runs" in out  # the markdown went to stdout: no --summary, no GITHUB_STEP_SUMMARY


def test_the_summary_goes_where_github_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary_file = tmp_path / "step-summary"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    code, out, _ = run_cli("ci", "gate", "--results", str(write_run(tmp_path / "r", 100)), "--baseline",
                           str(tmp_path / "none"), "--artifact", "cfgbench-x")
    assert code == EXIT_OK and "## cfgbench CI gate" not in out
    assert "gh run download 77 --name cfgbench-x --dir ci-results-77" in summary_file.read_text()


def test_three_run_baseline_gives_a_verdict_both_ways(tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline", runs=8)
    same = gate_run(write_run(tmp_path / "same", 100), baseline, [RULE])
    assert same.outcome == NO_REGRESSION and same.exit_code == EXIT_OK
    assert all(m.baseline_runs == 8 for m in same.methods)
    slower = gate_run(write_run(tmp_path / "slower", 101, factor=1.5), baseline, [RULE])
    assert slower.outcome == REGRESSION and slower.exit_code == EXIT_REGRESSION
    markdown = summary.render_markdown(slower, summary.Provenance(runner="bm-1"))
    assert "**Gate median:5%: REGRESSION (exit 1)**" in markdown
    assert "**regression**" in markdown and "### pio against its baseline" in markdown


def test_regression_in_one_method_and_no_baseline_for_another(tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline", runs=5, methods=("pio",))
    results = write_run(tmp_path / "ci-results", 100, factor=1.5)
    code, out, _ = run_cli("ci", "gate", "--results", str(results), "--baseline", str(baseline))
    assert code == EXIT_REGRESSION
    kinds = [line.split(" ", 1)[0] for line in out.splitlines() if line.startswith("::")]
    assert kinds[0] == "::notice" and "::error" in kinds
    assert "mmio: no baseline" in out and "pio: regression against" in out


def test_a_baseline_from_another_environment_is_an_error_in_the_summary(tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline", runs=5, env=LAB_KVM)
    results = write_run(tmp_path / "ci-results", 100)
    report = gate_run(results, baseline, [RULE])
    assert report.outcome == ERROR and report.exit_code == EXIT_ERROR
    assert "another environment" in report.methods[0].error
    markdown = summary.render_markdown(report)
    assert "**error**" in markdown and "git rm -r" in markdown
    # Allowed, the gate judges the values: a run 1.5x the baseline is a regression.
    slower = gate_run(write_run(tmp_path / "slower", 101, factor=1.5), baseline, [RULE], allow_other_environment=True)
    assert (slower.outcome, slower.exit_code) == (REGRESSION, EXIT_REGRESSION)


def test_a_method_the_run_lacks_is_an_error(tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline", runs=5)
    results = write_run(tmp_path / "ci-results", 100, methods=("pio", "mmio"))
    report = gate_run(results, baseline, [RULE])
    assert report.exit_code == EXIT_ERROR
    assert [m.method for m in report.having(ERROR)] == ["kernel"]


@pytest.mark.parametrize("case", ["no-dir", "empty", "bad-rule"])
def test_gate_errors_are_one_line(tmp_path: Path, case: str) -> None:
    results = tmp_path / "ci-results"
    if case != "no-dir":
        results.mkdir()
    if case == "bad-rule":
        write_run(results, 100)
    code, out, err = run_cli("ci", "gate", "--results", str(results), "--baseline", str(tmp_path / "b"),
                             "--fail-if", "median:lots" if case == "bad-rule" else RULE)
    assert code == EXIT_ERROR and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("cfgbench: error:")


def test_gate_shows_the_trend_with_this_run_last(tmp_path: Path) -> None:
    history = tmp_path / "history"
    for files in ci_runs(tmp_path / "old", 6, hostname="bm-1"):
        assert run_cli("history", "add", "--dir", str(history), "--machine", "bm-1", "--commit", "abcdef1",
                       *map(str, files))[0] == 0
    results = write_run(tmp_path / "ci-results", 100, env=BARE_METAL)
    code, out, err = run_cli("ci", "gate", "--results", str(results), "--baseline", str(tmp_path / "none"),
                             "--runner", "bm-1", "--history", str(history), "--commit", "0123456789abcdef")
    assert code == EXIT_OK, err
    assert "### Trend" in out and "`0123456789ab`" in out  # this run, by its commit, in the bm-1 series
    code, _, err = run_cli("ci", "gate", "--results", str(results), "--baseline", str(tmp_path / "none"),
                           "--history", str(history))
    assert code == EXIT_ERROR and "--runner" in err


def test_workflow_commands_are_escaped() -> None:
    line = summary.workflow_command("error", "a: b, c", "50% slower\nsee: below")
    assert line == "::error title=a%3A b%2C c::50%25 slower%0Asee: below"


# ----------------------------------------------------------------------------- ci promote


def test_promote_appends_runs_and_never_loses_one(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    first = promote.promote([write_run(tmp_path / "r1", 1)], baseline)
    assert [p.runs for p in first] == [1, 1, 1] and not any(p.already_there for p in first)
    before = sessions_in(baseline / "mmio.json")
    again = promote.promote([tmp_path / "r1"], baseline)  # the same run twice: skipped
    assert all(p.already_there for p in again) and sessions_in(baseline / "mmio.json") == before
    both = promote.promote([write_run(tmp_path / "r2", 2), write_run(tmp_path / "r3", 3)], baseline)
    assert {p.runs for p in both} == {3} and all(p.enough for p in both)
    for target, sessions in sessions_in(baseline / "mmio.json").items():
        assert sessions == before[target] + ["run-2", "run-3"]
    # Three promoted runs are a baseline the gate judges with (fewer would be inconclusive whatever came).
    assert gate_run(write_run(tmp_path / "r4", 4, factor=1.5), baseline, [RULE]).outcome == REGRESSION


def test_promote_refuses_another_environment_and_writes_nothing(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    promote.promote([write_run(tmp_path / "r1", 1)], baseline)
    saved = {p.name: p.read_bytes() for p in baseline.iterdir()}
    good, foreign = write_run(tmp_path / "r2", 2), write_run(tmp_path / "r3", 3, env=LAB_KVM)
    code, out, err = run_cli("ci", "promote", "--results", str(good), "--results", str(foreign),
                             "--baseline", str(baseline))
    assert code == EXIT_ERROR and out == ""
    assert "another environment" in err and "git rm -r" in err
    assert {p.name: p.read_bytes() for p in baseline.iterdir()} == saved  # not even the good run


def test_promote_refuses_other_targets(tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline", runs=1)
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    write_runs(narrow / "mmio.json", "mmio", {HOST_BRIDGE: 100e-9}, runs=1, first_session=7)
    code, _, err = run_cli("ci", "promote", "--results", str(narrow), "--baseline", str(baseline))
    assert code == EXIT_ERROR and "other targets" in err


def test_the_promote_command_in_the_summary_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_run(tmp_path / "ci-results", 100)
    summary_file = tmp_path / "summary.md"
    assert run_cli("ci", "gate", "--results", "ci-results", "--baseline", "results/ci-baseline/bm-1",
                   "--summary", str(summary_file))[0] == EXIT_OK
    line = next(line for line in summary_file.read_text().splitlines() if line.startswith("cfgbench ci promote "))
    code, out, err = run_cli(*shlex.split(line)[1:])
    assert code == EXIT_OK, err
    assert out.count("promoted: ") == 3 and "fewer than 3 runs" in err
    assert sorted(p.name for p in (tmp_path / "results/ci-baseline/bm-1").iterdir()) == ["kernel.json", "mmio.json", "pio.json"]


# ----------------------------------------------------------------------------- ci fleet


def test_fleet_writes_the_table_and_fills_the_history(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    dated = {"date": "2026-01-05 03:17:02"}  # as pyperf records it; history files are named by it
    write_run(runs / "cfgbench-bm-1", 1, env=BARE_METAL, hostname="bm-1", **dated)
    write_run(runs / "cfgbench-vm-kvm-1", 1, factor=60, env=LAB_KVM, hostname="vm-1", **dated)
    (runs / "not-an-artifact").mkdir()
    summary_file, png = tmp_path / "summary.md", tmp_path / "trend.png"
    args = ("ci", "fleet", "--runs", str(runs), "--history", str(tmp_path / "history"), "--commit", "abcdef1",
            "--summary", str(summary_file))
    code, out, err = run_cli(*args, "--trend", str(png))
    assert code == EXIT_OK, err
    assert out.count("added: ") == 6 and png.exists()
    assert sorted(p.name for p in (tmp_path / "history").iterdir()) == ["bm-1", "vm-kvm-1"]
    text = summary_file.read_text()
    assert "## cfgbench fleet: bm-1, vm-kvm-1" in text and "guest/bare metal" in text and "### cfgbench history" in text
    code, out, _ = run_cli(*args)  # a re-run job: nothing added twice
    assert code == EXIT_OK and out.count("already in the history: ") == 6


def test_fleet_without_artifacts_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    code, _, err = run_cli("ci", "fleet", "--runs", str(tmp_path / "runs"), "--history", str(tmp_path / "h"),
                           "--commit", "abcdef1")
    assert code == EXIT_ERROR and "no cfgbench-<runner> directory" in err
