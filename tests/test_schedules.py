"""The interleaved schedule against the sequential one: a planted drift, and what the files record."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pyperf
import pytest


from cfgbench import engine, runs
from cfgbench.compare import stats
from cfgbench.engine import Timed
from cfgbench.schema import SESSION
from cfgbench.settings import Settings

from cli_helpers import HOST_DUMP, assert_one_line_error, cfgbench

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}
TRUE_RATIO = 1.5

class DriftingMachine:
    """A virtual clock: a read of `fake` costs 100 ns and of `kernel` 150 ns,
    both times (1 + 4 t) where t is the work done so far (in seconds at the
    base cost), so the machine slows steadily through the run (to ~3x) and
    the true kernel/fake ratio stays 1.5 at every moment."""

    cost = {"fake": 100e-9, "kernel": 150e-9}

    def __init__(self) -> None:
        self.clock = 0.0

    def timed(self, method: str) -> Timed:
        machine = self

        class Drifting:
            name = f"read 0000:00:00.0+0x000/4 by {method}"

            def metadata(self) -> dict[str, Any]:
                return {"cfgbench_method": method}

            def __call__(self, loops: int) -> float:
                base = machine.cost[method] * loops
                seconds = base * (1 + 4 * machine.clock)
                machine.clock += base
                return seconds

            def sample(self, samples: int, budget_s: float) -> None:
                pass

            def run_metadata(self) -> dict[str, Any]:
                return {}

        return Drifting()


def drifted_ratio(schedule: str) -> stats.Estimate:
    machine = DriftingMachine()
    settings = Settings(processes=1, values=20, warmups=1, loops=100_000, in_process=True, samples=0,
                        schedule=schedule, seed=1)
    suite, _ = engine.time_here([machine.timed("fake"), machine.timed("kernel")], settings, {SESSION: "drift"})
    assert suite is not None
    fake, kernel = suite.get_benchmarks()
    return stats.estimate(fake, kernel)


def test_a_planted_drift_fools_the_sequential_schedule_and_not_the_interleaved() -> None:
    sequential = drifted_ratio("sequential")
    interleaved = drifted_ratio("interleaved")
    # Sequential: all fake values early (cheap), all kernel values late (expensive).
    assert sequential.design == stats.UNPAIRED
    assert sequential.ratio > TRUE_RATIO * 1.5
    # Interleaved: each round meets one moment of the machine; the order is random per round.
    # (What remains is the drift within one round: the second of a pair pays it, and a
    # kernel value lasts longer than a fake one, so random order cancels it only nearly.)
    assert interleaved.design == stats.PAIRED and interleaved.units == 20
    assert interleaved.ratio == pytest.approx(TRUE_RATIO, rel=0.03)
    assert abs(sequential.ratio / TRUE_RATIO - 1) > 10 * abs(interleaved.ratio / TRUE_RATIO - 1)


def test_the_seed_decides_the_order_of_the_rounds() -> None:
    def orders(seed: int) -> list[list[int]]:
        machine = DriftingMachine()
        timer = engine.ProcessTimer([machine.timed("fake"), machine.timed("kernel")],
                                    Settings(values=6, loops=10, samples=0, schedule="interleaved", seed=seed))
        timer.run()
        return [r.positions for r in timer.records]

    assert orders(7) == orders(7)
    assert orders(7) != orders(8) or orders(7) != orders(9)  # two other seeds cannot both give the same 6 rounds


def run_two_methods(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    out = tmp_path / "run-{method}.json"
    result = cfgbench("run", "-m", "fake", "-m", "kernel", "--offset", "0", "--offset", "8", "-o", str(out),
                      "--processes", "2", "--values", "4", "--min-time", "0.002", *extra, env=FAKE)
    return result, tmp_path / "run-fake.json", tmp_path / "run-kernel.json"


def test_several_methods_are_interleaved_by_default_and_their_files_pair_by_round(tmp_path: Path) -> None:
    result, fake, kernel = run_two_methods(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "interleaved: 2 processes x 4 rounds" in result.stderr
    benches = [b for path in (fake, kernel) for b in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()]
    assert len({run.get_metadata()["cfgbench_session"] for b in benches for run in b.get_runs()}) == 1
    for bench in benches:
        records = runs.run_records(bench)
        assert [r.rounds for r in records] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    # Per round, the four benchmarks took the positions 0-3 in some order.
    positions: dict[int, list[int]] = {}
    for bench in benches:
        for run in bench.get_runs():
            md = run.get_metadata()
            if run.values:
                for round_, position in zip(md["cfgbench_rounds"].split(","), md["cfgbench_round_positions"].split(","), strict=True):
                    positions.setdefault(int(round_), []).append(int(position))
    assert all(sorted(p) == [0, 1, 2, 3] for p in positions.values())
    # One headline per target, with a paired interval.
    headlines = [line for line in result.stdout.splitlines() if line.startswith("00:00.0+0x00")]
    assert len(headlines) == 2 and all("paired rounds" in line and "95% CI" in line for line in headlines)


def test_the_sequential_schedule_records_no_rounds_and_compare_says_so(tmp_path: Path) -> None:
    result, fake, kernel = run_two_methods(tmp_path, "--schedule", "sequential")
    assert result.returncode == 0, result.stderr
    [f] = pyperf.BenchmarkSuite.load(str(fake)).get_benchmarks()[:1]
    md = f.get_metadata()
    assert md["cfgbench_schedule"] == "sequential"
    assert md["cfgbench_settings"].startswith("sequential: 2 processes x 4 values of each benchmark in turn")
    assert all(record.rounds is None for record in runs.run_records(f))
    compared = cfgbench("compare", str(kernel), str(fake))
    assert "timed one after the other (sequential schedule)" in compared.stdout


def test_pyperf_options_after_a_double_dash_are_refused_in_one_line(tmp_path: Path) -> None:
    result, fake, _ = run_two_methods(tmp_path, "--", "--track-memory")
    assert_one_line_error(result, "--track-memory")
    assert not fake.exists()


def test_a_bad_cpu_list_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cfgbench("run", "-m", "fake", "--affinity", "two", env=FAKE), "not a CPU list")


def test_a_cpu_that_is_not_online_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = cfgbench("run", "-m", "fake", "--affinity", "99", "-o", str(out), env=FAKE)
    assert_one_line_error(result, "--affinity 99", "not online", "choose from the CPUs online here")
    assert not out.exists()


def test_one_method_is_timed_sequentially_by_default(tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    result = cfgbench("run", "-m", "fake", "-o", str(out), "--processes", "2", "--values", "2", "--loops", "256",
                      env=FAKE)
    assert result.returncode == 0, result.stderr
    [bench] = pyperf.BenchmarkSuite.load(str(out)).get_benchmarks()
    assert bench.get_metadata()["cfgbench_schedule"] == "sequential"


def test_calibration_is_not_ended_by_one_hiccup() -> None:
    """A value that reaches min_time only because the machine stalled is
    timed again; the doubling goes on when the second look is fast."""
    from cfgbench.engine import calibrate

    seconds_per_read = 1e-6
    stalls = {16: 0.01}  # the first time 16 loops are timed, the machine stalls for 10 ms
    calls: list[int] = []

    def timed(loops: int) -> float:
        calls.append(loops)
        return loops * seconds_per_read + (stalls.pop(loops, 0.0))

    loops, seen = calibrate(timed, min_time=0.004)
    assert loops == 4096  # 4096 reads of 1 us: the first value of at least 4 ms
    assert calls[:6] == [1, 2, 4, 8, 16, 16] and calls[-2:] == [4096, 4096]
    assert [n for n, _ in seen] == calls


def test_a_worker_that_cannot_start_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    """A normal user whose virtualenv's python links into root's home cannot
    start workers: the error says so and names --in-process."""
    from cfgbench.errors import CfgbenchError
    from cfgbench.engine import run_worker_process

    not_executable = tmp_path / "python"
    not_executable.write_text("")
    with pytest.raises(CfgbenchError, match=r"cannot start a worker process .*python: Permission denied") as caught:
        run_worker_process([str(not_executable), "-c", "pass"])
    assert "--in-process" in caught.value.fix
