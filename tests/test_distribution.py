"""Per-read distributions: the histogram's precision, and what runs store and show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfgbench import runs
from cfgbench.schema import DIST_CYCLES
from cfgbench.histogram import LogHistogram, distribution_of
from cfgbench.results import load_suite

from cli_helpers import HOST_DUMP, QUICK, cfgbench

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}


@pytest.mark.parametrize("q", [50, 90, 99, 99.9])
def test_percentiles_within_the_stated_precision(q: float) -> None:
    samples = np.random.default_rng(7).lognormal(6, 0.5, 200_000)
    hist = LogHistogram.from_samples(samples)
    exact = np.percentile(samples, q, method="inverted_cdf")
    assert abs(hist.percentile(q) - exact) / exact <= hist.precision


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=500))
def test_merge_equals_one_histogram_of_everything(values: list[int]) -> None:
    half = len(values) // 2
    left = LogHistogram.from_samples(np.array(values[:half]))
    left.merge(LogHistogram.from_samples(np.array(values[half:])))
    whole = LogHistogram.from_samples(np.array(values))
    assert left.counts == whole.counts
    assert left.max_value == whole.max_value == max(values)
    assert LogHistogram.from_json(whole.to_json()) == whole
    assert whole.percentile(100) <= max(values)


def test_tail_count_and_timestamp_correction() -> None:
    reads = np.array([1000] * 990 + [20_000] * 10)  # 1% of reads cost 20x
    overhead = np.array([40] * 1000)
    dist = distribution_of(LogHistogram.from_samples(reads), LogHistogram.from_samples(overhead), tsc_hz=1_000_000_000)
    assert dist.over_tail == 10
    assert dist.raw_ns[50] == pytest.approx(1000, rel=0.01)
    assert dist.raw_ns[99.9] == pytest.approx(20_000, rel=0.01)
    assert dist.timestamp_ns == pytest.approx(40, rel=0.01)
    assert dist.corrected_ns[50] == pytest.approx(dist.raw_ns[50] - dist.timestamp_ns)


def test_run_stores_a_distribution_pyperf_still_reads(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    result = cfgbench("run", "-m", "fake", "--samples", "2000", "-o", str(out), *QUICK, env=FAKE)
    assert result.returncode == 0, result.stderr
    assert "p99.9" in result.stdout and "timestamp pair" in result.stdout
    [bench] = load_suite(out).get_benchmarks()
    dist = runs.totals(bench).distribution()
    assert dist is not None
    assert dist.samples >= 2 * 2000  # two worker processes (pyperf's calibration process samples too)
    assert dist.raw_ns[50] <= dist.raw_ns[99] <= dist.max_ns * 1.01
    stored = [run.get_metadata()[DIST_CYCLES] for run in bench.get_runs() if DIST_CYCLES in run.get_metadata()]
    assert stored and all(len(text) < 10_000 for text in stored)  # buckets, not raw samples
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(out)], capture_output=True, text=True)
    assert stats.returncode == 0, stats.stderr
    shown = cfgbench("show", str(out))
    assert shown.returncode == 0 and "corrected" in shown.stdout


def test_samples_zero_turns_the_distribution_off(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert cfgbench("run", "-m", "fake", "--samples", "0", "-o", str(out), *QUICK, env=FAKE).returncode == 0
    [bench] = load_suite(out).get_benchmarks()
    assert not any(DIST_CYCLES in run.get_metadata() for run in bench.get_runs())
    assert runs.totals(bench).distribution() is None


def test_scan_and_sweep_on_the_fake(tmp_path: Path) -> None:
    scan = tmp_path / "scan.json"
    result = cfgbench("run", "-m", "fake", "--workload", "scan", "--buses", "00-01", "-o", str(scan), *QUICK, env=FAKE)
    assert result.returncode == 0, result.stderr
    [bench] = load_suite(scan).get_benchmarks()
    md = bench.get_metadata()
    assert md["name"] == "scan 0000:00-01"
    # Bus 0: 32 vendor reads + 6 header-type reads for the 6 functions; bus 1: 32 absent devices.
    assert md["cfgbench_reads_per_pass"] == 32 + 6 + 32
    assert md["cfgbench_scan_functions"] == 6
    assert runs.totals(bench).mismatches == 0 and runs.totals(bench).reads > 0
    sweep = tmp_path / "sweep.json"
    result = cfgbench("run", "-m", "fake", "--workload", "sweep", "--device", "00:01.0", "-o", str(sweep), *QUICK, env=FAKE)
    assert result.returncode == 0, result.stderr
    regions = [b.get_metadata()["cfgbench_sweep_region"] for b in load_suite(sweep).get_benchmarks()]
    assert regions[0] == "header" and "extended" not in regions  # a 256-byte function
