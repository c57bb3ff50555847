"""The CLI end to end on the fake backend: everything above the accessor, no
hardware. Bad input of every kind is tests/test_bad_input.py's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


from cfgbench import runs
from cfgbench.results import load_suite

from cli_helpers import HOST_DUMP, QUICK, QUICK_IN_PROCESS, cfgbench

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}
# What the kernel says of the CPUID "hypervisor present" bit (the flag in /proc/cpuinfo).
THIS_MACHINE = "guest" if re.search(r"^flags\s*:.*\bhypervisor\b", Path("/proc/cpuinfo").read_text(), re.M) else "bare-metal"


def pyperf_stats(path: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def metadata_of(path: Path) -> list[dict[str, object]]:
    data = json.loads(path.read_text())
    common = data.get("metadata", {})
    return [{**common, **b.get("metadata", {})} for b in data["benchmarks"]]


def test_run_writes_a_pyperf_file_with_cfgbench_metadata(tmp_path: Path) -> None:
    out = tmp_path / "fake.json"
    result = cfgbench("run", "--method", "fake", "--device", "00:00.0", "--offset", "0x0", "-o", str(out), *QUICK, env=FAKE)
    assert result.returncode == 0, result.stderr
    assert "fake   read 0000:00:00.0+0x000/4" in result.stdout
    assert f"saved {out}" in result.stdout
    assert "Mean +- std dev" in pyperf_stats(out)
    [md] = metadata_of(out)
    assert md["cfgbench_method"] == "fake"
    assert md["cfgbench_value"] == "0x0d578086"
    assert md["cfgbench_target"] == "0000:00:00.0+0x000/4"
    assert md["cfgbench_kernel_path"] == "type1"
    assert md["cfgbench_environment"] == THIS_MACHINE
    assert md["cfgbench_schedule"] == "sequential" and md["cfgbench_session"]
    for key in ("cfgbench_version", "cfgbench_hypervisor", "cfgbench_kernel_release", "cfgbench_cpu_model"):
        assert key in md
    [bench] = load_suite(out).get_benchmarks()
    totals = runs.totals(bench)
    assert totals.mismatches == 0 and totals.reads >= 256 * 2
    assert totals.tsc_hz and totals.null_loop_ns is not None and totals.null_loop_ns > 0


def test_names_are_per_target_so_pyperf_compares_methods(tmp_path: Path) -> None:
    out = tmp_path / "run-{method}.json"
    result = cfgbench("run", "-m", "fake", "-m", "kernel", "--offset", "0", "--offset", "0x100", "-o", str(out), *QUICK_IN_PROCESS, env=FAKE)
    assert result.returncode == 0, result.stderr
    fake_file, kernel_file = tmp_path / "run-fake.json", tmp_path / "run-kernel.json"
    names = lambda p: sorted(b["metadata"]["name"] for b in json.loads(p.read_text())["benchmarks"])  # noqa: E731
    # Both of the kernel's paths bring its floor, as a benchmark of its own.
    assert names(fake_file) == names(kernel_file) == ["read 0000:00:00.0+0x000/4", "read 0000:00:00.0+0x100/4",
                                                      "split 0000:00:00.0 floor"]
    compared = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(kernel_file), str(fake_file)], capture_output=True, text=True)
    assert compared.returncode == 0, compared.stderr
    # A load from memory against a system call: thousands of times apart, whatever the machine's state.
    assert re.search(r"\[run-kernel\] .* -> \[run-fake\] .*: \d[\d.]* ?x faster", compared.stdout), compared.stdout


def test_append_adds_runs_and_a_new_target(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert cfgbench("run", "-m", "fake", "-o", str(out), *QUICK_IN_PROCESS, env=FAKE).returncode == 0
    first = json.loads(out.read_text())
    runs_before = len(first["benchmarks"][0]["runs"])
    assert cfgbench("run", "-m", "fake", "-o", str(out), "--append", *QUICK_IN_PROCESS, env=FAKE).returncode == 0
    assert cfgbench("run", "-m", "fake", "--offset", "8", "-o", str(out), "--append", *QUICK_IN_PROCESS, env=FAKE).returncode == 0
    data = json.loads(out.read_text())
    by_name = {b["metadata"]["name"]: b for b in data["benchmarks"]}
    assert len(by_name["read 0000:00:00.0+0x000/4"]["runs"]) == 2 * runs_before
    assert "read 0000:00:00.0+0x008/4" in by_name


def test_read_prints_like_setpci() -> None:
    assert cfgbench("read", "-m", "fake", "00:00.0", "0", env=FAKE).stdout == "0d578086\n"
    assert cfgbench("read", "-m", "fake", "-w", "2", "00:00.0", "0x0a", env=FAKE).stdout == "0600\n"
    assert cfgbench("read", "-m", "fake", "-w", "1", "00:00.0", "0x0b", env=FAKE).stdout == "06\n"


def test_a_run_without_output_says_so_before_timing() -> None:
    result = cfgbench("run", "-m", "fake", "--loops", "64", "--values", "2", "--processes", "1", env=FAKE)
    assert result.returncode == 0, result.stderr
    notice = result.stderr.index("nothing saved")
    assert notice < result.stderr.index("timing 1 benchmark")


def test_quiet_keeps_the_warnings_and_drops_the_progress() -> None:
    """Progress: the line of the run, then a dot per worker process with the
    time left after the first (tests/test_progress.py has the estimate's
    arithmetic); -q drops both."""
    args = ("run", "-m", "fake", "--loops", "64", "--values", "1", "--warmups", "0", "--processes", "2", "--samples", "0")
    loud, quiet = cfgbench(*args, env=FAKE), cfgbench(*args, "-q", env=FAKE)
    assert loud.returncode == quiet.returncode == 0, quiet.stderr
    assert "timing 1 benchmark" in loud.stderr and "timing" not in quiet.stderr
    assert re.search(r"^cfgbench: timing 2 processes \. \(about \d+ s to go\) \.$", loud.stderr, re.MULTILINE), loud.stderr
    assert "nothing saved" in quiet.stderr  # a warning, not progress
    assert "read 0000:00:00.0+0x000/4" in quiet.stdout  # the result itself
