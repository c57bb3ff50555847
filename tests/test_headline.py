"""The end of `cfgbench lab` and of a multi-method run: one line per target, then one line per caveat."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyperf

from cfgbench.compare.headline import Headline, HeadlineContext
from cfgbench.compare.headline import summarize as summarize_report
from cfgbench.compare.model import report_of, short_target
from cfgbench.results import load_suite
from resultfiles import HOST_BRIDGE, make_benchmark, metadata_for, read_histograms


def suite(method: str, values: list[float], session: str = "lab", **extra: object) -> pyperf.BenchmarkSuite:
    md = metadata_for(method, HOST_BRIDGE, {}) | dict(extra)
    return pyperf.BenchmarkSuite([make_benchmark(values, md, values_per_run=len(values), session=session)])


def summarize(suites: dict[str, pyperf.BenchmarkSuite], context: HeadlineContext) -> Headline:
    return summarize_report(report_of(suites), context)


def headline(suites: dict[str, pyperf.BenchmarkSuite], context: HeadlineContext) -> list[str]:
    found = summarize(suites, context)
    return found.answers + found.caveats


def steady(mean: float, n: int = 24, seed: int = 0) -> list[float]:
    return list(mean * (1 + 0.01 * np.random.default_rng(seed).standard_normal(n)))


def test_one_line_per_target_with_the_paired_interval() -> None:
    lines = headline({"pio": suite("pio", steady(300e-9)), "mmio": suite("mmio", steady(160e-9, seed=1))},
                     HeadlineContext(unit="boot", between_units_note="boots differ"))
    assert re.match(r"00:00\.0\+0x000: mmio 1\.8\dx faster than pio \(95% CI 1\.8\d-1\.8\d, 24 paired rounds\)$", lines[0])
    assert lines[1] == "one boot: the intervals above are within it; boots differ"


def test_tcg_says_what_the_figures_are() -> None:
    lines = headline({"pio": suite("pio", steady(300e-9)), "mmio": suite("mmio", steady(160e-9, seed=1))},
                     HeadlineContext(accel="tcg"))
    assert any("QEMU's emulation costs, not VM exits" in line for line in lines)


def test_a_loop_mean_the_per_read_median_contradicts_is_named() -> None:
    """The new user's case: pio's loop mean 543 ns, its per-read p50 264 ns."""
    # read_histograms: the timestamp pair costs 40 cycles at 2 GHz (20 ns), subtracted from the p50.
    pio = suite("pio", steady(543e-9), **read_histograms(264 + 20, tsc_hz=2_000_000_000))
    mmio = suite("mmio", steady(264e-9, seed=1), **read_histograms(264 + 20, tsc_hz=2_000_000_000))
    lines = headline({"pio": pio, "mmio": mmio}, HeadlineContext())
    flagged = [line for line in lines if "disagree by more than their spread" in line]
    assert len(flagged) == 1
    assert re.match(r"pio 00:00\.0\+0x000: the loop mean 54\d\.\d ns and the per-read median 26\d\.\d ns disagree "
                    r"by more than their spread; the ratios use the loop values$", flagged[0])


def test_unstable_figures_are_one_line_each_with_advice_that_works_here() -> None:
    noisy = list(300e-9 * (1 + 0.3 * np.random.default_rng(3).standard_normal(24)))
    lines = headline({"pio": suite("pio", noisy), "mmio": suite("mmio", steady(160e-9))},
                     HeadlineContext(values_advice="record more rounds (cfgbench lab --values N)"))
    unstable = [line for line in lines if "unstable" in line]
    assert len(unstable) == 1 and unstable[0].startswith("pio 00:00.0+0x000: std dev is ")
    assert unstable[0].endswith("record more rounds (cfgbench lab --values N)")


def test_values_in_two_clusters_are_said() -> None:
    switched = steady(300e-9, n=14) + steady(560e-9, n=10, seed=2)
    lines = headline({"pio": suite("pio", switched), "mmio": suite("mmio", steady(160e-9, seed=1))},
                     HeadlineContext())
    assert any(line.startswith("pio 00:00.0+0x000: values fall into two clusters") for line in lines)


def test_several_boots_show_each_boots_ratio_and_no_one_boot_note() -> None:
    pio = suite("pio", steady(300e-9), session="boot-1")
    mmio = suite("mmio", steady(150e-9, seed=1), session="boot-1")
    for k, ratio in ((2, 1.8), (3, 2.2)):
        pio.get_benchmarks()[0].add_runs(suite("pio", steady(300e-9, seed=k), session=f"boot-{k}").get_benchmarks()[0])
        mmio.get_benchmarks()[0].add_runs(
            suite("mmio", steady(300e-9 / ratio, seed=10 + k), session=f"boot-{k}").get_benchmarks()[0])
    lines = headline({"pio": pio, "mmio": mmio}, HeadlineContext(unit="boot", between_units_note="boots differ"))
    assert re.search(r"per run 2\.0\d, 1\.\d\d, 2\.\d\d\)", lines[0]) and "3 runs of 72 paired rounds in all" in lines[0]
    assert not any(line.startswith("one boot") for line in lines)


def test_short_target_names() -> None:
    assert short_target("read 0000:01:00.0+0x100/4") == "01:00.0+0x100"
    assert short_target("read 0000:01:00.0+0x100/2") == "01:00.0+0x100/2"
    assert short_target("scan 0000:00-01") == "scan 00-01"


def test_a_machine_wide_switch_is_one_line_not_one_per_figure() -> None:
    """When the whole machine changes speed, every figure is unstable and in two clusters."""
    suites = {}
    for method, base in (("pio", 300e-9), ("mmio", 160e-9), ("kernel", 5e-6)):
        values = steady(base, n=14, seed=1) + steady(base * 1.8, n=10, seed=2)
        md = metadata_for(method, HOST_BRIDGE, {})
        benches = [make_benchmark(values, md | {"name": name}, values_per_run=24, session="lab")
                   for name in (HOST_BRIDGE, "read 0000:01:00.0+0x000/4")]
        suites[method] = pyperf.BenchmarkSuite(benches)
    found = summarize(suites, HeadlineContext(values_advice="record more rounds"))
    lines = found.answers + found.caveats
    assert len([line for line in lines if "unstable" in line]) == 1
    assert len([line for line in lines if "two clusters" in line]) == 1
    clusters = next(line for line in lines if "two clusters" in line)
    assert clusters.startswith("6 figures fall into two clusters 1.7") and clusters.endswith("which the paired ratios above cancel")
    # The answer is ECAM against type 1; the kernel's gross time against pio is a detail (-v).
    assert lines[0].startswith("00:00.0+0x000: mmio 1.88x faster than pio") and "kernel" not in lines[0]
    assert any(d.startswith("kernel 00:00.0+0x000: 16.7x slower than pio") for d in found.details)


def _switching_suites(session: str | None) -> dict[str, pyperf.BenchmarkSuite]:
    suites = {}
    for method, base in (("pio", 300e-9), ("mmio", 160e-9), ("kernel", 5e-6)):
        values = steady(base, n=14, seed=1) + steady(base * 1.8, n=10, seed=2)
        md = metadata_for(method, HOST_BRIDGE, {})
        benches = [make_benchmark(values, md | {"name": name}, values_per_run=24, session=session)
                   for name in (HOST_BRIDGE, "read 0000:01:00.0+0x000/4")]
        suites[method] = pyperf.BenchmarkSuite(benches)
    return suites


def test_under_tcg_a_machine_that_changes_speed_is_said_once_and_each_figure_is_a_detail() -> None:
    found = summarize(_switching_suites("lab"), HeadlineContext(accel="tcg", details_hint="`cfgbench lab -v` lists each"))
    [speed] = [line for line in found.caveats if "changes speed" in line]
    assert speed.startswith("this machine changes speed during a run (6 figures vary by over 10% of their mean, 6 fall "
                            "into two clusters up to 1.7")
    assert "the paired ratios above cancel it" in speed and speed.endswith("`cfgbench lab -v` lists each")
    assert not [line for line in found.caveats if "unstable" in line or "two clusters," in line]
    figures = [d for d in found.details if "std dev is" in d or "two clusters" in d]
    assert len(figures) == 12 and found.details[:12] == figures  # each figure's caveats, then the kernel against pio
    assert [d.split(" (")[0] for d in found.details[12:]] == [
        "kernel 00:00.0+0x000: 16.7x slower than pio", "kernel 01:00.0+0x000: 16.7x slower than pio"]


def test_under_tcg_without_paired_rounds_nothing_cancels_the_speed_so_each_figure_is_said() -> None:
    found = summarize(_switching_suites(None), HeadlineContext(accel="tcg"))
    assert not [line for line in found.caveats if "changes speed" in line]
    assert any(line.startswith("6 figures are unstable") for line in found.caveats)


def test_the_labs_answer_is_eight_lines_and_three_caveats() -> None:
    """A lab whose figures moved with the machine (11 unstable, one in two clusters,
    results/redesign/before/lab-1): said in one line, each figure behind -v."""
    suites = {m: load_suite(Path(__file__).parents[1] / "results" / "redesign" / "before" / "lab-1" / f"lab-{m}.json")
              for m in ("pio", "mmio", "kernel")}
    found = summarize(suites, HeadlineContext(unit="boot", accel="tcg", between_units_note="boots differ"))
    # six targets pio and mmio both reach, and the kernel's two paths to the e1000e; the kernel's gross times are details
    assert len(found.answers) == 6 + 1 and found.answers[-1].startswith("01:00.0 through the kernel: ECAM (+0x100) ")
    assert len(found.caveats) == 3 and len(found.details) == 11 + 1 + 7
    assert [c.split(" ")[0] for c in found.caveats] == ["one", "under", "this"]


def test_a_scan_says_what_a_pass_and_a_function_cost_each_way() -> None:
    """Issue 17, real machines: the scan's pass is the kernel's enumeration reads of the
    functions found, in the kernel's order (pio) and in ECAM only (mmio)."""
    scan = "scan 0000:00-01"

    def scan_suite(method: str, per_read_s: float, seed: int) -> pyperf.BenchmarkSuite:
        md = metadata_for(method, scan, {}, cfgbench_reads_per_pass=77, cfgbench_scan_functions=8)
        md.pop("cfgbench_value")
        values = [per_read_s * (1 + 0.001 * k) for k in (-1, 0, 1)] * 8  # median: per_read_s
        return pyperf.BenchmarkSuite([make_benchmark(values, md, values_per_run=len(values), session="lab")])

    [line] = summarize({"pio": scan_suite("pio", 210e-9, 0), "mmio": scan_suite("mmio", 100e-9, 1)},
                       HeadlineContext()).answers
    # By hand: 77 reads x 210 ns = 16.17 us a pass, / 8 functions = 2.02 us; mmio 7.70 us, 962.5 ns.
    assert line.startswith("scan 00-01: mmio 2.10x faster than pio (95% CI ")
    assert line.endswith("; a pass of 77 reads finds 8 functions: pio 16.2 us (2.02 us per function), "
                         "mmio 7.70 us (962.5 ns per function))"), line
