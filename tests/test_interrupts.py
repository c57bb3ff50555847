"""Killing real runs (issue 6, "nothing lost"): the kernel method times sysfs
reads of the host bridge on this machine while a test sends Ctrl-C or SIGTERM.

Each run gets its own TMPDIR, so its pyperf workers can be found (their
command lines name the plan file inside it) and its temporary files counted.
A run is interrupted once a pyperf worker process exists, i.e. while values
are being timed, not while Python starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import start_cfgbench

from cfgbench import results
from cfgbench.pci import list_functions

pytestmark = pytest.mark.skipif(not list_functions(), reason="no PCI functions in sysfs on this machine")

# Four worker processes of three values each: several seconds of timing to interrupt.
SLOW_RUN = ("run", "--method=kernel", "--processes", "4", "--values", "3")
# Short runs for the race: in one process, two runs of three values each.
QUICK_RUN = ("run", "--method=kernel", "--in-process", "--processes", "2", "--loops", "256", "--values", "3", "-q")
RUNS_PER_QUICK_RUN = 2
MIDWAY_S = 0.5  # after a worker appears: inside its timed values
START_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 30.0
REAP_TIMEOUT_S = 5.0
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a job stopped by Ctrl-C  # the runner gives its pyperf group this long after SIGTERM


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
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


def interrupt_midway(dirs: RunDirs, process: subprocess.Popen[str], sig: signal.Signals, *,
                     whole_group: bool, worker_task: int = 0) -> subprocess.CompletedProcess[str]:
    """Send sig once a pyperf worker of benchmark number worker_task is timing."""
    worker = f"--worker-task={worker_task}"
    started = wait_until(
        lambda: any(worker in _cmdline(pid) for pid in processes_mentioning(str(dirs.temp))), START_TIMEOUT_S
    )
    if not started:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"no pyperf worker ({worker}) appeared; stdout={out!r} stderr={err!r}")
    time.sleep(MIDWAY_S)
    if whole_group:
        os.killpg(process.pid, sig)  # what a terminal's Ctrl-C does
    else:
        process.send_signal(sig)  # what `kill PID` does
    return _finish(process, EXIT_TIMEOUT_S)


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def assert_interrupted_cleanly(result: subprocess.CompletedProcess[str], dirs: RunDirs) -> None:
    """Exit code 130, a last line saying so without a traceback, nothing left over."""
    assert result.returncode >= 0, f"killed by signal {-result.returncode}, no message: {result.stderr!r}"
    assert result.returncode == EXIT_INTERRUPTED, result
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cfgbench:") and "interrupt" in last.lower(), last
    assert sorted(p.name for p in dirs.work.glob(".cfgbench-*.tmp")) == []
    assert wait_until(lambda: not processes_mentioning(str(dirs.temp)), REAP_TIMEOUT_S), [
        _cmdline(pid) for pid in processes_mentioning(str(dirs.temp))
    ]
    assert sorted(p.name for p in dirs.temp.iterdir()) == []


def benchmarks_if_present(path: Path) -> list[str]:
    """Asserts the result file is absent or a whole kernel result; its benchmark names."""
    if not path.exists():
        return []
    suite = results.load_suite(path)
    names = [bench.get_name() for bench in suite.get_benchmarks()]
    assert all(results.method_of(bench) == "kernel" for bench in suite.get_benchmarks())
    return names


def _finish(process: subprocess.Popen[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def write_quick_result(dirs: RunDirs, out: Path) -> None:
    """A result file written by a real run: pyperf merges only runs of the same host and Python."""
    result = _finish(dirs.start(*QUICK_RUN, "--offset", "0", "-o", out.name))
    assert result.returncode == 0, result.stderr


def _runs_in(path: Path) -> int:
    return sum(len(bench["runs"]) for bench in json.loads(path.read_text())["benchmarks"])


@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [pytest.param(signal.SIGINT, True, id="ctrl-c"), pytest.param(signal.SIGTERM, False, id="sigterm")],
)
def test_a_killed_run_leaves_no_half_written_file_and_no_workers(
    dirs: RunDirs, sig: signal.Signals, whole_group: bool
) -> None:
    out = dirs.work / "out.json"
    result = interrupt_midway(dirs, dirs.start(*SLOW_RUN, "--offset", "0", "-o", out.name), sig, whole_group=whole_group)
    assert_interrupted_cleanly(result, dirs)
    assert benchmarks_if_present(out) in ([], ["read 0000:00:00.0+0x000/4"])


def test_benchmarks_finished_before_ctrl_c_are_kept(dirs: RunDirs) -> None:
    out = dirs.work / "out.json"
    process = dirs.start(*SLOW_RUN, "--offset", "0", "--offset", "4", "-o", out.name)
    result = interrupt_midway(dirs, process, signal.SIGINT, whole_group=True, worker_task=1)
    assert_interrupted_cleanly(result, dirs)
    assert benchmarks_if_present(out) == ["read 0000:00:00.0+0x000/4"]


def test_an_interrupted_append_leaves_the_old_file_byte_identical(dirs: RunDirs) -> None:
    out = dirs.work / "old.json"
    write_quick_result(dirs, out)
    before = out.read_bytes()
    process = dirs.start(*SLOW_RUN, "--offset", "0", "--append", "-o", out.name)
    result = interrupt_midway(dirs, process, signal.SIGINT, whole_group=True)
    assert_interrupted_cleanly(result, dirs)
    assert out.read_bytes() == before


@pytest.mark.parametrize("existing", [True, False], ids=["into-an-existing-file", "into-a-new-file"])
def test_two_runs_appending_at_once_both_land_or_one_is_refused(dirs: RunDirs, existing: bool) -> None:
    out = dirs.work / "shared.json"
    if existing:
        write_quick_result(dirs, out)
    runs_before = _runs_in(out) if existing else 0
    processes = [dirs.start(*QUICK_RUN, "--offset", "0", "--append", "-o", out.name) for _ in range(2)]
    finished = [_finish(p) for p in processes]
    landed = 0
    for result in finished:
        if result.returncode == 0:
            landed += 1
            continue
        # A refusal must be the usual one clear line.
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result
    assert landed >= 1, finished
    assert benchmarks_if_present(out) == ["read 0000:00:00.0+0x000/4"]
    assert _runs_in(out) == runs_before + landed * RUNS_PER_QUICK_RUN
    assert sorted(p.name for p in dirs.work.iterdir()) == ["shared.json"]


def test_an_interrupted_run_names_resume_and_resume_measures_only_the_rest(dirs: RunDirs) -> None:
    out = dirs.work / "out.json"
    first, second = "read 0000:00:00.0+0x000/4", "read 0000:00:00.0+0x004/4"
    process = dirs.start(*SLOW_RUN, "--offset", "0", "--offset", "4", "-o", out.name)
    result = interrupt_midway(dirs, process, signal.SIGINT, whole_group=True, worker_task=1)
    assert_interrupted_cleanly(result, dirs)
    assert "same command plus --resume" in result.stderr.strip().splitlines()[-1]
    assert benchmarks_if_present(out) == [first]
    runs_of_first = len(results.load_suite(out).get_benchmark(first).get_runs())
    resumed = _finish(dirs.start(*QUICK_RUN, "--offset", "0", "--offset", "4", "-o", out.name, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"already has {first}: not measured again" in resumed.stderr
    assert benchmarks_if_present(out) == [first, second]
    assert len(results.load_suite(out).get_benchmark(first).get_runs()) == runs_of_first
