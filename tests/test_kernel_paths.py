"""The kernel's own two paths to one function, net of the floor and paired by
round (issue 17, "real machines"): what any root user in any VM can measure
with `cfgbench run -m kernel --workload read --workload split --offset 0
--offset 0x100`. Synthetic rounds with known nets; the interval from scipy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from cfgbench.compare.breakdown import kernel_paths
from cfgbench.compare.model import KERNEL_PATHS, compare_paths
from cfgbench.compare.render import answer_line
from cfgbench.results import load_suite
from resultfiles import FLOOR, HOST_BRIDGE, HOST_BRIDGE_EXT, read_benchmark, split_benchmark, write_suite

ROUNDS = 12
FLOOR_S = 0.5e-6
ECAM_NET = [9.0e-6 + 0.1e-6 * (k % 3) for k in range(ROUNDS)]
RATIOS = [1.6 if k % 2 else 1.8 for k in range(ROUNDS)]  # type 1 net / ECAM net, per round


def kernel_file(path: Path, floors: list[float] | None = None) -> Path:
    floors = floors or [FLOOR_S] * ROUNDS
    type1 = [f + e * r for f, e, r in zip(floors, ECAM_NET, RATIOS, strict=True)]
    ecam = [f + e for f, e in zip(floors, ECAM_NET, strict=True)]
    return write_suite(path, [
        read_benchmark("kernel", HOST_BRIDGE.removeprefix("read "), type1, session="s1"),
        read_benchmark("kernel", HOST_BRIDGE_EXT.removeprefix("read "), ecam, session="s1"),
        split_benchmark("kernel", "0000:00:00.0", *FLOOR, floors, session="s1"),
    ])


def test_the_two_paths_are_compared_net_of_the_floor_round_by_round(tmp_path: Path) -> None:
    [paths] = kernel_paths(load_suite(kernel_file(tmp_path / "k.json")).get_benchmarks())
    logs = [math.log(r) for r in RATIOS]
    low, high = scipy_stats.t.interval(0.95, ROUNDS - 1, loc=sum(logs) / ROUNDS, scale=scipy_stats.sem(logs))
    assert paths.ratio.ratio == pytest.approx(math.sqrt(1.6 * 1.8))  # the geometric mean of the per-round ratios
    assert (paths.ratio.low, paths.ratio.high) == pytest.approx((math.exp(low), math.exp(high)))
    assert paths.ratio.units == ROUNDS
    assert paths.ecam_net_s == pytest.approx(9.1e-6)  # nets of 9.0, 9.1 and 9.2 us, a third each
    [row] = compare_paths([str(tmp_path / "k.json")]).rows(KERNEL_PATHS)  # one file is enough: both paths are in it
    assert row.estimate == paths.ratio.inverted()  # ECAM against type 1, as mmio against pio
    line = answer_line(row)
    assert line.startswith(f"00:00.0 through the kernel: ECAM (+0x100) {math.sqrt(1.6 * 1.8):.2f}x faster than type 1 "
                           f"(+0x000) (95% CI ") and f"{ROUNDS} paired rounds" in line
    assert line.endswith("net of the floor: 9.10 us against 15.5 us)")  # medians: (14.72 + 16.2) / 2 for type 1


def test_a_floor_that_moves_with_the_machine_cancels_round_by_round(tmp_path: Path) -> None:
    """A machine that slows down mid-run moves the floor and both reads alike:
    per-round nets keep the ratio, where medians of the separate figures would not."""
    floors = [FLOOR_S * (3 if k >= ROUNDS // 2 else 1) for k in range(ROUNDS)]
    [paths] = kernel_paths(load_suite(kernel_file(tmp_path / "k.json", floors)).get_benchmarks())
    assert paths.ratio.ratio == pytest.approx(math.sqrt(1.6 * 1.8))


def test_without_a_floor_or_one_of_the_paths_there_is_no_comparison(tmp_path: Path) -> None:
    benches = load_suite(kernel_file(tmp_path / "k.json")).get_benchmarks()
    assert kernel_paths([b for b in benches if "floor" not in b.get_name()]) == []
    assert kernel_paths([b for b in benches if "+0x100" not in b.get_name()]) == []


def test_compare_the_run_summary_and_the_json_say_it(tmp_path: Path) -> None:
    """Where a user meets it: compare's text, markdown and JSON, and the summary after a run."""
    from cfgbench.compare.headline import HeadlineContext, end_of_run
    from cfgbench.compare.model import report_of
    from cfgbench.compare.render import render_json, render_markdown, render_text

    kernel = kernel_file(tmp_path / "k.json")
    other = kernel_file(tmp_path / "k2.json")
    report = compare_paths([str(kernel), str(other)])
    line = answer_line(compare_paths([str(kernel)]).rows(KERNEL_PATHS)[0])
    assert f"  {report.files[0].label}: {line}" in render_text(report).splitlines()
    assert line in render_markdown(report)
    first, second = (a for a in json.loads(render_json(report))["answers"] if a["kind"] == KERNEL_PATHS)
    assert (first["file_index"], second["file_index"]) == (0, 1)
    assert first["estimate"]["ratio"] == pytest.approx(1 / math.sqrt(1.6 * 1.8))
    assert end_of_run(report_of({"kernel": load_suite(kernel)}), HeadlineContext())[0] == line  # the run's first line
