"""cfgbench history: CI runs kept per machine, never overwritten; their trend with change points where they are."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cfgbench.history import trend
from cfgbench.history import store as history
from cfgbench.cli import main
from cfgbench.errors import CfgbenchError
from cli_helpers import assert_one_line_error, cfgbench, modules_left_imported
from historyfiles import METAL_MEANS, START, ci_runs, commit_for, run_file
from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT, LAB_KVM

RUNS = 10
STEP_AT = 6  # the first run that is slower
RUN_NOISE = 0.02  # median to median, run to run: a few %, as on a quiet bare-metal runner


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def fill_history(tmp_path: Path, hist: Path, hostname: str = "bm-1", machine: str | None = None,
                 **kwargs: Any) -> None:
    """Every run through the command, as the CI job adds them."""
    for i, files in enumerate(ci_runs(tmp_path / f"artifacts-{hostname}", RUNS, hostname=hostname, run_noise=RUN_NOISE,
                                      **kwargs)):
        args = ["history", "add", "--dir", str(hist), "--commit", commit_for(i), *map(str, files)]
        code, _, err = run_cli(*args, *(["--machine", machine] if machine else []))
        assert code == 0, err


def change_indices(hist: Path, *args: str) -> dict[tuple[str, str, str], list[int]]:
    code, out, err = run_cli("history", "show", str(hist), "--format", "json", *args)
    assert code == 0, err
    return {(s["target"], s["method"], s["machine"]): [cp["index"] for cp in s["change_points"]]
            for s in json.loads(out)["series"]}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_step_is_marked_where_it_was_planted_and_nowhere_else(tmp_path: Path, seed: int) -> None:
    hist = tmp_path / "history"
    fill_history(tmp_path, hist, step_at=STEP_AT, step=0.15, step_method="pio", seed=seed)
    found = change_indices(hist)
    assert found == {(HOST_BRIDGE, "pio", "bm-1"): [STEP_AT],
                     (HOST_BRIDGE, "mmio", "bm-1"): [], (HOST_BRIDGE_EXT, "mmio", "bm-1"): [],
                     (HOST_BRIDGE, "kernel", "bm-1"): [], (HOST_BRIDGE_EXT, "kernel", "bm-1"): []}
    code, text, _ = run_cli("history", "show", str(hist))
    assert code == 0
    marked = [line for line in text.splitlines() if "change point:" in line]
    assert len(marked) == 1 and commit_for(STEP_AT)[:12] in marked[0]
    assert "1 change point " in text.splitlines()[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_history_without_a_step_marks_nothing(tmp_path: Path, seed: int) -> None:
    hist = tmp_path / "history"
    fill_history(tmp_path, hist, seed=seed)
    assert all(indices == [] for indices in change_indices(hist).values())
    code, text, _ = run_cli("history", "show", str(hist), "--format", "markdown")
    assert code == 0 and "no change points" in text and "**change point**" not in text


def test_trend_lists_date_commit_median_and_change_vs_previous(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    fill_history(tmp_path, hist, step_at=STEP_AT, seed=0)
    code, out, _ = run_cli("history", "show", str(hist), "--format", "json", "--method", "pio")
    assert code == 0
    [series] = json.loads(out)["series"]
    points = series["points"]
    assert [p["commit"] for p in points] == [commit_for(i) for i in range(RUNS)]
    assert points[0]["date"] == START.isoformat() and points[0]["vs_previous"] is None
    assert points[1]["vs_previous"] == pytest.approx(points[1]["median"] / points[0]["median"] - 1)
    assert all(p["values"] == 12 for p in points)  # 4 runs of 3 values, one session
    cp = series["change_points"][0]
    assert cp["commit"] == commit_for(STEP_AT) and cp["change"] == pytest.approx(0.15, abs=0.04)
    # --last shows the latest runs; change points are still found over all of them.
    code, out, _ = run_cli("history", "show", str(hist), "--format", "json", "--method", "pio", "--last", "3")
    [series] = json.loads(out)["series"]
    assert len(series["points"]) == 3 and series["runs"] == RUNS and series["change_points"][0]["index"] == STEP_AT
    code, md, _ = run_cli("history", "show", str(hist), "--format", "markdown", "--method", "pio")
    assert f"| `{commit_for(STEP_AT)[:12]}` |" in md and "**change point** +1" in md


def test_machines_stay_apart(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    fill_history(tmp_path, hist, hostname="bm-1.lab.example.org", step_at=STEP_AT, seed=0)  # machine from the hostname
    fill_history(tmp_path, hist, hostname="fv-az417-3", machine="vm-runner", env=LAB_KVM, seed=1,
                 means={"pio": {HOST_BRIDGE: 28e-6}, "mmio": {HOST_BRIDGE: 16e-6}})
    assert sorted(p.name for p in hist.iterdir()) == ["bm-1", "vm-runner"]
    code, text, _ = run_cli("history", "show", str(hist), "--method", "pio")
    assert f"{HOST_BRIDGE} · pio · vm-runner (guest (KVM) · QEMU Virtual CPU version 2.5+)" in text
    assert f"{HOST_BRIDGE} · pio · bm-1 (bare metal · Intel(R) Xeon(R) Gold 6338" in text
    # The same dates and commits on both machines: same names, different directories.
    assert {p.name for p in (hist / "bm-1").iterdir()} >= {p.name for p in (hist / "vm-runner").iterdir()}
    found = change_indices(hist)
    assert found[(HOST_BRIDGE, "pio", "bm-1")] == [STEP_AT]
    assert found[(HOST_BRIDGE, "pio", "vm-runner")] == [] and found[(HOST_BRIDGE, "mmio", "vm-runner")] == []
    assert set(change_indices(hist, "--machine", "vm-runner")) == {(HOST_BRIDGE, "pio", "vm-runner"),
                                                                   (HOST_BRIDGE, "mmio", "vm-runner")}
    code, _, err = run_cli("history", "show", str(hist), "--machine", "bm-9")
    assert code == 2 and "bm-9" in err and "bm-1, vm-runner" in err


def test_a_corrupt_file_in_the_history_is_one_line(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    fill_history(tmp_path, hist, seed=0)
    corrupt = hist / "bm-1" / "20260201T031702-00ffc0ffeec0-pio.json"
    corrupt.write_text('{"benchmarks": [')
    assert_one_line_error(cfgbench("history", "show", str(hist)), str(corrupt), "not valid JSON")


def test_add_never_overwrites(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    pio = run_file(tmp_path / "pio.json", "pio", METAL_MEANS["pio"], START)
    code, out, _ = run_cli("history", "add", "--dir", str(hist), "--commit", commit_for(0), str(pio))
    [written] = (hist / "bm-1").iterdir()
    assert code == 0 and out == f"added: {written} ({pio})\n"
    assert written.name == f"20260105T031702-{commit_for(0)[:12]}-pio.json"
    content = written.read_bytes()
    # The same file again (a re-run CI job): nothing written, and not an error.
    code, out, _ = run_cli("history", "add", "--dir", str(hist), "--commit", commit_for(0), str(pio))
    assert code == 0 and out.startswith("already in the history:")
    # Another run under the same name: refused, the first kept.
    other = run_file(tmp_path / "other.json", "pio", METAL_MEANS["pio"], START, seed=9)
    code, _, err = run_cli("history", "add", "--dir", str(hist), "--commit", commit_for(0), str(other))
    assert code == 2 and "already exists" in err and "nothing was overwritten" in err
    # The same run under another commit would count twice.
    code, _, err = run_cli("history", "add", "--dir", str(hist), "--commit", commit_for(1), str(pio))
    assert code == 2 and "already in the history" in err
    assert [p.read_bytes() for p in (hist / "bm-1").iterdir()] == [content]
    assert not list((hist / "bm-1").glob(".*"))  # no temporary left behind


def test_added_files_record_their_commit(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    pio = run_file(tmp_path / "pio.json", "pio", METAL_MEANS["pio"], START)
    [added] = history.add_to_history(hist, [pio], commit_for(3).upper())
    [point] = history.points_of_file(added.path, "renamed")
    assert point.commit == commit_for(3) and point.machine == "renamed"
    # A file that already names another commit is not filed under this one.
    with pytest.raises(CfgbenchError, match="recorded for commit"):
        history.add_to_history(tmp_path / "other", [added.path], commit_for(4))


def test_a_bad_file_in_a_batch_adds_nothing(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    good = run_file(tmp_path / "pio.json", "pio", METAL_MEANS["pio"], START)
    bad = tmp_path / "mmio.json"
    bad.write_text("")
    code, _, err = run_cli("history", "add", "--dir", str(hist), "--commit", commit_for(0), str(good), str(bad))
    assert code == 2 and "mmio.json is empty" in err
    assert not hist.exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--commit", "main"], "not a git commit id"),
    (["--commit", commit_for(0), "--machine", "../up"], "cannot name a machine directory"),
])
def test_bad_commits_and_machine_names(tmp_path: Path, args: list[str], needle: str) -> None:
    pio = run_file(tmp_path / "pio.json", "pio", METAL_MEANS["pio"], START)
    code, _, err = run_cli("history", "add", "--dir", str(tmp_path / "h"), *args, str(pio))
    assert code == 2 and needle in err


def test_several_sessions_in_one_file_are_several_points(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    appended = run_file(tmp_path / "pio.json", "pio", METAL_MEANS["pio"], START,
                        sessions=["20260105T031702Z-aaaaaa", "20260105T041702Z-bbbbbb", "20260105T051702Z-cccccc"])
    legacy = run_file(tmp_path / "legacy.json", "pio", METAL_MEANS["pio"], START + timedelta(days=1))
    history.add_to_history(hist, [appended], commit_for(0))
    history.add_to_history(hist, [legacy], commit_for(1))
    [series] = history.load_history(hist)
    assert [p.session for p in series.points] == ["20260105T031702Z-aaaaaa", "20260105T041702Z-bbbbbb",
                                                  "20260105T051702Z-cccccc", None]
    assert [p.commit for p in series.points] == [commit_for(0)] * 3 + [commit_for(1)]
    assert [len(p.values) for p in series.points] == [12, 12, 12, 12]
    assert [p.date for p in series.points] == [START, START + timedelta(hours=1), START + timedelta(hours=2),
                                               START + timedelta(days=1)]


def test_environment_changes_are_noted_beside_the_trend(tmp_path: Path) -> None:
    hist = tmp_path / "history"
    for i in range(3):
        env = BARE_METAL | ({"cfgbench_kernel_release": "6.8.0-47-generic"} if i == 2 else {})
        f = run_file(tmp_path / f"pio{i}.json", "pio", METAL_MEANS["pio"], START + timedelta(days=i), env=env, seed=i)
        history.add_to_history(hist, [f], commit_for(i))
    code, text, _ = run_cli("history", "show", str(hist))
    assert code == 0 and "kernel release 6.8.0-45-generic -> 6.8.0-47-generic" in text.splitlines()[-1]


def test_empty_missing_and_misplaced(tmp_path: Path) -> None:
    code, _, err = run_cli("history", "show", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("history", "show", str(tmp_path / "empty"))
    assert code == 2 and "no result files" in err
    run_file(tmp_path / "empty" / "loose.json", "pio", METAL_MEANS["pio"], START)
    code, _, err = run_cli("history", "show", str(tmp_path / "empty"))
    assert code == 2 and "not in a machine directory" in err


def test_without_otava_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "otava.analysis", None)  # import fails as if not installed
    with pytest.raises(CfgbenchError, match=r"apache-otava.*cfgbench\[history\]"):
        trend.find_change_points([1.0, 1.0, 2.0, 2.0])


def test_detector_on_plain_series() -> None:
    flat = [1.00, 1.02, 0.99, 1.01, 0.98, 1.00, 1.01, 0.99]
    step = flat[:5] + [v * 1.2 for v in flat[5:]]
    assert trend.find_change_points(flat) == []
    [cp] = trend.find_change_points(step)
    assert cp.index == 5 and cp.change == pytest.approx(0.2, abs=0.02) and cp.pvalue < 0.001
    assert trend.find_change_points(step, min_change=0.3) == []  # smaller than asked for
    assert trend.find_change_points([1.0, 2.0]) == []  # too short to split


def test_start_up_imports_no_numpy_scipy_matplotlib_or_otava() -> None:
    # A command in an emulated guest pays seconds for each; history and fleet import them only when used.
    every_command = "from cfgbench.cli import ci_cmds, compare_cmds, history_cmds, lab_cmds, measure_cmds"
    assert modules_left_imported(every_command, "numpy", "scipy", "matplotlib", "otava") == []
