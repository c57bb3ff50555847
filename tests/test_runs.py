"""Files that gather several runs lose nothing: counts, distributions and floors are added up per run."""

from __future__ import annotations

import json
from pathlib import Path

from cfgbench import runs
from cfgbench.results import load_suite

from cli_helpers import HOST_DUMP, QUICK_IN_PROCESS, cfgbench
from resultfiles import HOST_BRIDGE, make_benchmark, metadata_for, read_histograms, write_suite

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}


def test_append_keeps_every_runs_counts_distribution_and_floor(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert cfgbench("run", "-m", "fake", "-o", str(out), *QUICK_IN_PROCESS, env=FAKE).returncode == 0
    [alone] = load_suite(out).get_benchmarks()
    once = runs.totals(alone)
    assert cfgbench("run", "-m", "fake", "-o", str(out), "--append", *QUICK_IN_PROCESS, env=FAKE).returncode == 0
    [bench] = load_suite(out).get_benchmarks()
    twice = runs.totals(bench)
    assert len(twice.sessions) == 2
    assert twice.reads > once.reads  # the second run's reads are added, not dropped
    assert once.histogram is not None and twice.histogram is not None
    assert twice.histogram.total > once.histogram.total
    assert twice.tsc_hz and len(twice.null_loops_ns) >= 2
    shown = cfgbench("show", str(out)).stdout
    assert "null loop not recorded" not in shown and "per read (" in shown and "2 runs" in shown
    assert f"in {twice.reads} reads" in shown


def test_a_later_runs_mismatches_are_never_hidden(tmp_path: Path) -> None:
    """Two sessions: a clean one, then one whose reads mismatched."""
    md = metadata_for("pio", HOST_BRIDGE, {})
    clean = make_benchmark([170e-9] * 3, md | {"cfgbench_mismatches": 0}, session="monday")
    dirty = make_benchmark([171e-9] * 3, md | {"cfgbench_mismatches": 7}, session="tuesday")
    clean.add_runs(dirty)
    path = write_suite(tmp_path / "two.json", [clean])
    [bench] = load_suite(path).get_benchmarks()
    assert runs.totals(bench).mismatches == 7
    shown = cfgbench("show", str(path)).stdout
    assert "7 mismatches" in shown and "misdirected" in shown


def test_histograms_of_every_run_are_merged(tmp_path: Path) -> None:
    md = metadata_for("pio", HOST_BRIDGE, {})
    first = make_benchmark([170e-9] * 3, md | read_histograms(170, n=1000, seed=1), session="a")
    second = make_benchmark([340e-9] * 3, md | read_histograms(340, n=1000, seed=2), session="b")
    first.add_runs(second)
    path = write_suite(tmp_path / "h.json", [first])
    [bench] = load_suite(path).get_benchmarks()
    dist = runs.totals(bench).distribution()
    assert dist is not None and dist.samples == 2000
    assert dist.raw_ns[90] > 300  # the slower run's reads are in the tail


def test_files_from_before_sessions_are_read_once_not_summed(tmp_path: Path) -> None:
    md = metadata_for("pio", HOST_BRIDGE, {}) | {"cfgbench_reads": 6144, "cfgbench_mismatches": 2}
    path = write_suite(tmp_path / "old.json", [make_benchmark([170e-9] * 6, md)])  # two runs, same totals on each
    data = json.loads(path.read_text())
    assert len(data["benchmarks"][0]["runs"]) == 2
    totals = runs.totals(load_suite(path).get_benchmarks()[0])
    assert (totals.reads, totals.mismatches) == (6144, 2)
