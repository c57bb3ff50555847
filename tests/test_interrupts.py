"""Killing real runs ("nothing lost"): the kernel method times sysfs reads of
the host bridge on this machine while a test sends Ctrl-C or SIGTERM.

Each run gets its own TMPDIR. A run is interrupted on an event, not after a
sleep: once its first worker process has written its file there (so the
second worker is timing), the signal goes out. What the finished process
timed, and the rounds the interrupted one finished, must be saved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyperf
import pytest
from cli_helpers import start_cfgbench

from cfgbench import results, runs
from cfgbench.errors import RunInterrupted
from cfgbench.pci import list_functions
from cfgbench.schema import method_of

pytestmark = pytest.mark.skipif(not list_functions(), reason="no PCI functions in sysfs on this machine")

# Four worker processes of three values each: seconds of timing to interrupt.
SLOW_RUN = ("run", "--method=kernel", "--processes", "4", "--values", "3", "--min-time", "0.02")
# Short runs for the race: two worker processes of three values each.
QUICK_RUN = ("run", "--method=kernel", "--processes", "2", "--loops", "256", "--values", "3", "-q")
RUNS_PER_QUICK_RUN = 2
FIRST = "read 0000:00:00.0+0x000/4"
SECOND = "read 0000:00:00.0+0x004/4"
EVENT_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0
REAP_TIMEOUT_S = 5.0
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a job stopped by Ctrl-C


@dataclass
class RunDirs:
    """Where a run writes (work) and where its temporary files go (temp)."""

    work: Path
    temp: Path

    @property
    def env(self) -> dict[str, str]:
        return {"TMPDIR": str(self.temp)}

    def start(self, *args: str) -> subprocess.Popen[str]:
        return start_cfgbench(*args, cwd=self.work, env=self.env)


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line contains marker."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile
        if marker.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Polls a condition (an event: a file or a process that appears) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[RunDirs]:
    run_dirs = RunDirs(tmp_path / "work", tmp_path / "tmp")
    run_dirs.work.mkdir()
    run_dirs.temp.mkdir()
    yield run_dirs
    # Whatever a failed test left running (only descendants of its own runs).
    for pid in processes_mentioning(str(run_dirs.temp)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def interrupt_after_first_process(dirs: RunDirs, process: subprocess.Popen[str], sig: signal.Signals, *,
                                  whole_group: bool) -> subprocess.CompletedProcess[str]:
    """Send sig once the first worker's file exists: the second worker is timing."""
    def first_done() -> bool:
        return any(dirs.temp.glob("cfgbench-run-*/process-000.json"))

    if not wait_until(first_done, EVENT_TIMEOUT_S):
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the first worker never finished; stdout={out!r} stderr={err!r}")
    if whole_group:
        os.killpg(process.pid, sig)  # what a terminal's Ctrl-C does
    else:
        process.send_signal(sig)  # what `kill PID` does
    return _finish(process, EXIT_TIMEOUT_S)


def assert_interrupted_cleanly(result: subprocess.CompletedProcess[str], dirs: RunDirs) -> str:
    """Exit code 130, a last line saying so without a traceback, nothing left over; the line."""
    assert result.returncode == EXIT_INTERRUPTED, result
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cfgbench: error: interrupted"), last
    assert sorted(p.name for p in dirs.work.glob(".cfgbench-*")) == []
    assert wait_until(lambda: not processes_mentioning(str(dirs.temp)), REAP_TIMEOUT_S)
    assert sorted(p.name for p in dirs.temp.iterdir()) == []
    return last


def _finish(process: subprocess.Popen[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def processes_in(path: Path, name: str) -> set[int]:
    """Which worker processes the file holds values of, for one benchmark."""
    bench = results.load_suite(path).get_benchmark(name)
    return {int(r.metadata["cfgbench_process"]) for r in runs.run_records(bench)}


@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [pytest.param(signal.SIGINT, True, id="ctrl-c"), pytest.param(signal.SIGTERM, False, id="sigterm")],
)
def test_an_interrupted_run_keeps_what_was_timed_and_leaves_nothing_behind(
    dirs: RunDirs, sig: signal.Signals, whole_group: bool
) -> None:
    out = dirs.work / "out.json"
    process = dirs.start(*SLOW_RUN, "--offset", "0", "--offset", "4", "-o", out.name)
    result = interrupt_after_first_process(dirs, process, sig, whole_group=whole_group)
    last = assert_interrupted_cleanly(result, dirs)
    assert f"saved in {out.name}" in last and "--append" in last  # every benchmark has values: nothing to resume
    suite = results.load_suite(out)
    assert [b.get_name() for b in suite.get_benchmarks()] == [FIRST, SECOND]
    assert all(method_of(b) == "kernel" for b in suite.get_benchmarks())
    for name in (FIRST, SECOND):
        # The first process whole; the second's finished values too, none of the two after it.
        assert processes_in(out, name) <= {0, 1} and 0 in processes_in(out, name)


def test_an_interrupted_append_keeps_every_old_run(dirs: RunDirs) -> None:
    out = dirs.work / "old.json"
    assert _finish(dirs.start(*QUICK_RUN, "--offset", "0", "-o", out.name)).returncode == 0
    before = run_contents(out)
    process = dirs.start(*SLOW_RUN, "--offset", "0", "--append", "-o", out.name)
    assert_interrupted_cleanly(interrupt_after_first_process(dirs, process, signal.SIGINT, whole_group=True), dirs)
    after = run_contents(out)
    assert after[:len(before)] == before and len(after) > len(before)


def run_contents(path: Path) -> list[tuple[tuple[float, ...], dict[str, object]]]:
    """Each run's values and metadata, as pyperf reads them back."""
    [bench] = results.load_suite(path).get_benchmarks()
    return [(tuple(run.values), run.get_metadata()) for run in bench.get_runs()]


def test_two_runs_appending_at_once_both_land(dirs: RunDirs) -> None:
    """--append re-reads, merges and renames under a lock: neither run is lost."""
    out = dirs.work / "shared.json"
    processes = [dirs.start(*QUICK_RUN, "--offset", "0", "--append", "-o", out.name) for _ in range(2)]
    finished = [_finish(p) for p in processes]
    assert [r.returncode for r in finished] == [0, 0], finished
    assert [b.get_name() for b in results.load_suite(out).get_benchmarks()] == [FIRST]
    assert sum(len(b["runs"]) for b in json.loads(out.read_text())["benchmarks"]) == 2 * RUNS_PER_QUICK_RUN
    assert sorted(p.name for p in dirs.work.iterdir()) == ["shared.json"]


def test_resume_measures_only_what_the_file_lacks(dirs: RunDirs) -> None:
    out = dirs.work / "out.json"
    assert _finish(dirs.start(*QUICK_RUN, "--offset", "0", "-o", out.name)).returncode == 0
    runs_of_first = len(results.load_suite(out).get_benchmark(FIRST).get_runs())
    resumed = _finish(dirs.start(*QUICK_RUN, "--offset", "0", "--offset", "4", "-o", out.name, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"already has {FIRST}: not measured again" in resumed.stderr
    assert [b.get_name() for b in results.load_suite(out).get_benchmarks()] == [FIRST, SECOND]
    assert len(results.load_suite(out).get_benchmark(FIRST).get_runs()) == runs_of_first


def test_an_interruption_before_a_benchmark_was_timed_names_resume(tmp_path: Path, fake_dump: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The sequential schedule stopped during its first benchmark: the second
    has no values, so the way to complete the run is --resume."""
    from cfgbench import engine, session
    from cfgbench.plan import PlanRequest, Target
    from cfgbench.settings import Settings

    time_plan = engine.time_plan

    def stopped_after_one(plan: object, settings: object, workdir: Path) -> pyperf.BenchmarkSuite:
        suite = time_plan(plan, settings, workdir)  # type: ignore[arg-type]
        first = suite.get_benchmarks()[0]
        pyperf.BenchmarkSuite([first]).dump(str(workdir / "process-000.json"), replace=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(session.engine, "time_plan", stopped_after_one)
    from cfgbench.address import Bdf

    request = session.RunRequest(PlanRequest(["fake"], [Target(Bdf(0, 0, 0, 0), 0, 4), Target(Bdf(0, 0, 0, 0), 4, 4)]),
                                 Settings(in_process=True, processes=1, values=2, loops=64, samples=0, quiet=True),
                                 output=tmp_path / "out.json")
    with pytest.raises(RunInterrupted) as stopped:
        session.run(request, lambda _line: None)
    assert "1 benchmark(s) not timed" in stopped.value.cause and "--resume" in stopped.value.fix
    assert [b.get_name() for b in results.load_suite(tmp_path / "out.json").get_benchmarks()] == [FIRST]
