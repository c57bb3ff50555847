"""Where the time goes (issue 12): the read against its accesses, in the
breakdown, `show`, `compare`, `plot` and the headline; synthetic files, exact
values, so every figure is known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cfgbench import plot, schema
from cfgbench.cli import main
from cfgbench.compare import breakdown
from cfgbench.compare.model import report_of
from cfgbench.compare.render import breakdown_line, breakdown_lines
from cfgbench.compare import compare_paths, headline, load_result_files
from cfgbench.errors import CfgbenchError
from cfgbench.results import load_suite
from resultfiles import (
    ADDRESS_READ,
    ADDRESS_WRITE,
    BARE_METAL,
    DATA_READ,
    FLOOR,
    LOAD,
    noisy_values,
    read_benchmark,
    split_benchmark,
    write_suite,
)

T0 = "0000:00:00.0+0x000/4"
T1 = "0000:00:00.0+0x100/4"
OTHER = "0000:01:00.0+0x000/4"
N = 12


def const(seconds: float, n: int = N) -> list[float]:
    return [seconds] * n


def type1_file(path: Path, session: str | None = "s1", full: float = 275e-9, env: dict | None = None) -> Path:
    env = env or {}
    kw = {"session": session, **({"env": env} if env else {})}
    return write_suite(path, [
        read_benchmark("pio", T0, const(full), **kw),
        split_benchmark("pio", T0, *ADDRESS_WRITE, const(100e-9), **kw),
        split_benchmark("pio", T0, *DATA_READ, const(150e-9), **kw),
        split_benchmark("pio", T0, *ADDRESS_READ, const(90e-9), **kw),
    ])


def ecam_file(path: Path, session: str | None = "s1") -> Path:
    return write_suite(path, [
        read_benchmark("mmio", T0, const(130e-9), session=session),
        split_benchmark("mmio", T0, *LOAD, const(128e-9), session=session),
    ])


def kernel_file(path: Path, session: str | None = "s1", gross: float = 3.6e-6, floor: float = 0.6e-6) -> Path:
    return write_suite(path, [
        read_benchmark("kernel", T0, const(gross), session=session),
        read_benchmark("kernel", T1, const(gross * 0.8), session=session),
        read_benchmark("kernel", OTHER, const(gross), session=session),  # no floor for its function
        split_benchmark("kernel", "0000:00:00.0", *FLOOR, const(floor), session=session),
    ])


def found(path: Path) -> list[breakdown.Breakdown]:
    return breakdown.breakdowns(load_suite(path).get_benchmarks())


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout + result.stderr


# --------------------------------------------------------------------------- the breakdown itself


def test_type1_parts_add_up_against_the_full_read_paired_by_round(tmp_path: Path) -> None:
    [b] = found(type1_file(tmp_path / "pio.json"))
    assert (b.target, b.mechanism, b.paired) == (T0, "type 1", N)
    assert [p.label for p in b.parts] == ["address write (0xCF8)", "data read (0xCFC)"]
    assert b.sum_s == pytest.approx(250e-9) and b.full_s == pytest.approx(275e-9)
    assert b.ratio is not None and b.ratio.units == N and b.ratio.unit_name == "paired rounds"
    assert b.sum_ratio == pytest.approx(250 / 275)
    assert [e.label for e in b.extras] == ["address read (0xCF8)"] and b.floor is None
    assert breakdown_line(b) == (
        "00:00.0+0x000: type 1 = address write (0xCF8) 100.0 ns + data read (0xCFC) 150.0 ns "
        "(sum 250.0 ns, full read 275.0 ns; sum/full 0.91x, 95% CI 0.91-0.91, 12 paired rounds); address read (0xCF8) 90.0 ns")


def test_the_sums_interval_comes_from_the_rounds_not_from_the_spread(tmp_path: Path) -> None:
    """Values that move together round by round (the machine's drift) leave
    the per-round ratio steady: the interval is narrow though every value
    spreads by 20%."""
    drift = noisy_values(1.0, N, rel_std=0.2, seed=4)
    path = write_suite(tmp_path / "pio.json", [
        read_benchmark("pio", T0, [250e-9 * d for d in drift], session="s1"),
        split_benchmark("pio", T0, *ADDRESS_WRITE, [100e-9 * d for d in drift], session="s1"),
        split_benchmark("pio", T0, *DATA_READ, [160e-9 * d for d in drift], session="s1"),
    ])
    [b] = found(path)
    assert b.ratio is not None
    assert b.sum_ratio == pytest.approx(1.04)
    assert b.ratio.high - b.ratio.low < 1e-9


def test_without_shared_rounds_the_figures_are_medians_without_interval(tmp_path: Path) -> None:
    [b] = found(type1_file(tmp_path / "pio.json", session=None))
    assert b.paired == 0 and b.ratio is None
    assert b.sum_ratio == pytest.approx(250 / 275)
    assert breakdown_line(b).endswith("(sum 250.0 ns, full read 275.0 ns; sum/full 0.91x, not paired by round); "
                                      "address read (0xCF8) 90.0 ns")


def test_a_descheduled_value_does_not_move_the_breakdown(tmp_path: Path) -> None:
    """On a busy host one loop value in 24 can take ten times the others (the
    guest's vCPU descheduled): the medians and their intervals do not move."""
    full = const(275e-9, 24)
    full[5] *= 10
    data = const(150e-9, 24)
    data[17] *= 10
    path = write_suite(tmp_path / "pio.json", [
        read_benchmark("pio", T0, full, session="s1"),
        split_benchmark("pio", T0, *ADDRESS_WRITE, const(100e-9, 24), session="s1"),
        split_benchmark("pio", T0, *DATA_READ, data, session="s1"),
    ])
    [b] = found(path)
    assert (b.full_s, b.sum_s) == pytest.approx((275e-9, 250e-9))
    assert b.ratio is not None and (b.ratio.low, b.ratio.high) == pytest.approx((250 / 275, 250 / 275))


def test_the_medians_interval_is_the_sign_tests_order_statistics() -> None:
    from cfgbench.compare.stats import median_interval

    assert median_interval(range(1, 25)) == (7, 18)  # 2 P(B(24, 1/2) <= 6) = 0.023; <= 7: 0.064
    assert median_interval(range(1, 13)) == (3, 10)
    assert median_interval(range(1, 7)) == (1, 6)  # 2 / 64 = 0.031
    assert median_interval(range(1, 6)) is None  # 2 / 32 > 0.05


def test_several_runs_make_the_run_the_unit(tmp_path: Path) -> None:
    first = load_suite(type1_file(tmp_path / "a.json", session="s1"))
    second = load_suite(type1_file(tmp_path / "b.json", session="s2", full=300e-9))
    for bench in second.get_benchmarks():
        first.get_benchmark(bench.get_name()).add_runs(bench)
    [b] = breakdown.breakdowns(first.get_benchmarks())
    assert b.ratio is not None and (b.ratio.units, b.ratio.unit_name) == (2, "runs")
    assert b.paired == 2 * N


def test_the_kernel_floor_is_per_function_and_gives_the_net(tmp_path: Path) -> None:
    lines = [breakdown_line(b) for b in found(kernel_file(tmp_path / "kernel.json"))]
    assert lines == [
        "00:00.0+0x000: kernel (type 1) = 3.60 us gross - 600.0 ns floor = 3.00 us net "
        "(95% CI 3.00 us to 3.00 us, 12 paired rounds; the floor is 17% of the read)",
        "00:00.0+0x100: kernel (ECAM) = 2.88 us gross - 600.0 ns floor = 2.28 us net "
        "(95% CI 2.28 us to 2.28 us, 12 paired rounds; the floor is 21% of the read)",
    ]  # 01:00.0 has no floor of its own: no line


def test_ecam_is_one_load(tmp_path: Path) -> None:
    [b] = found(ecam_file(tmp_path / "mmio.json"))
    assert breakdown_line(b) == ("00:00.0+0x000: ECAM = load (ECAM) 128.0 ns (full read 130.0 ns; part/full 0.98x, "
                                 "95% CI 0.98-0.98, 12 paired rounds)")


def test_display_names_say_the_access_as_readers_name_it(tmp_path: Path) -> None:
    suite = load_suite(kernel_file(tmp_path / "kernel.json"))
    names = sorted(schema.display_name(b) for b in suite.get_benchmarks())
    assert "split 0000:00:00.0 kernel floor" in names and f"read {T0}" in names
    pio = load_suite(type1_file(tmp_path / "pio.json"))
    assert schema.display_name(pio.get_benchmark(f"split {T0} address-write")) == \
        f"split {T0} address write (0xCF8)"


def test_files_without_split_benchmarks_have_no_breakdown(tmp_path: Path) -> None:
    path = write_suite(tmp_path / "plain.json", [read_benchmark("pio", T0, const(275e-9), session="s1")])
    assert found(path) == [] and breakdown_lines(report_of({"": load_suite(path)})) == []


# --------------------------------------------------------------------------- show, headline, compare


def test_show_labels_the_accesses_and_prints_the_breakdown(tmp_path: Path) -> None:
    code, out = run_cli("show", str(type1_file(tmp_path / "pio.json")))
    assert code == 0, out
    assert f"pio    split {T0} data read (0xCFC): 150.0 ± 0.0 ns per read" in out
    assert "  where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):" in out
    assert "    pio 00:00.0+0x000: type 1 = address write (0xCF8) 100.0 ns + data read (0xCFC) 150.0 ns" in out


def test_the_headline_leaves_split_benchmarks_to_the_breakdown(tmp_path: Path) -> None:
    suites = {"pio": load_suite(type1_file(tmp_path / "pio.json")), "mmio": load_suite(ecam_file(tmp_path / "m.json"))}
    lines = headline.end_of_run(report_of(suites), headline.HeadlineContext())
    assert lines[0].startswith("00:00.0+0x000: mmio ") and not any("split" in line for line in lines)
    summary = headline.end_of_run(report_of(suites), headline.HeadlineContext(), breakdown=True)[len(lines):]
    assert summary[0] == "where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):"
    assert [line.split(":")[0] for line in summary[1:]] == ["  pio 00", "  mmio 00"]


def test_compare_labels_the_accesses_and_adds_the_breakdown(tmp_path: Path) -> None:
    pio, pio2 = type1_file(tmp_path / "pio.json"), type1_file(tmp_path / "pio2.json", env=BARE_METAL)
    mmio = ecam_file(tmp_path / "mmio.json")
    text = compare_paths([str(pio), str(mmio)])
    assert not [w for w in text.warnings if "split" in w]  # mmio has no address write, as expected
    report = compare_paths([str(pio), str(pio2)])
    assert f"split {T0} address write (0xCF8)" in [t.display for t in report.targets]
    code, out = run_cli("compare", str(pio), str(pio2), str(mmio))
    assert f"\nsplit {T0} address write (0xCF8)\n" in out
    assert "\nWhere the time goes (medians per read; sum/full and net per paired round, with 95% intervals):\n" in out
    assert "  mmio 00:00.0+0x000: ECAM = load (ECAM) 128.0 ns" in out
    code, out = run_cli("compare", str(pio), str(mmio), "--format", "markdown")
    assert "### Where the time goes (" in out and "- mmio 00:00.0+0x000: ECAM = load (ECAM)" in out
    code, out = run_cli("compare", str(pio), str(mmio), "--format", "json")
    found_json = json.loads(out)["breakdowns"]
    assert [(b["file"], b["mechanism"]) for b in found_json] == [(0, "type 1"), (1, "ECAM")]
    assert found_json[0]["sum_s"] == pytest.approx(250e-9)
    assert found_json[0]["sum_over_full"] == pytest.approx(250 / 275)
    assert found_json[0]["ratio"]["units"] == N and found_json[0]["ratio"]["low"] <= found_json[0]["sum_over_full"]


# --------------------------------------------------------------------------- plot


def breakdown_patches(figure) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {p.get_gid(): p for ax in figure.axes for p in ax.patches
            if (p.get_gid() or "").startswith(plot.BREAKDOWN_GID)}


@pytest.fixture
def lab_like(tmp_path: Path) -> list[Path]:
    return [type1_file(tmp_path / "pio.json"), ecam_file(tmp_path / "mmio.json"), kernel_file(tmp_path / "k.json")]


def test_plot_stacks_the_parts_beside_the_read_and_the_floor_under_the_net(lab_like: list[Path]) -> None:
    figure = plot.build_figure(load_result_files(list(map(str, lab_like))), panels=("breakdown",))
    patches = breakdown_patches(figure)
    aw = patches["breakdown:0:type 1:parts:address write (0xCF8)"]
    dr = patches["breakdown:0:type 1:parts:data read (0xCFC)"]
    assert (aw.get_y(), aw.get_height()) == pytest.approx((0, 100e-9))  # type: ignore[attr-defined]
    assert (dr.get_y(), dr.get_height()) == pytest.approx((100e-9, 150e-9))  # type: ignore[attr-defined]
    assert patches["breakdown:0:type 1:full:full read"].get_height() == pytest.approx(275e-9)  # type: ignore[attr-defined]
    assert patches["breakdown:1:ECAM:parts:load (ECAM)"].get_height() == pytest.approx(128e-9)  # type: ignore[attr-defined]
    net = patches["breakdown:2:kernel (type 1):gross:net (the access)"]
    assert (net.get_y(), net.get_height()) == pytest.approx((0.6e-6, 3.0e-6))  # type: ignore[attr-defined]
    # One row per split read; type 1 and ECAM share a linear axis, the kernel (28x slower) has its own.
    rows = {ax.get_title() for ax in figure.axes if ax.get_title()}
    assert rows == {f"read {T0}", f"read {T1}"}
    mechanisms = [{str(p.get_gid()).split(":")[2] for p in ax.patches if p.get_gid()} for ax in figure.axes]
    assert mechanisms.count({"type 1", "ECAM"}) == 1  # the first row: one port access against one load
    assert mechanisms.count({"kernel (type 1)"}) == mechanisms.count({"kernel (ECAM)"}) == 1  # an axis of its own
    assert {ax.get_yscale() for ax in figure.axes} == {"linear"}


def test_plot_breakdown_across_machines_goes_log_without_stacking(tmp_path: Path) -> None:
    """A mechanism whose bars span more than ten times (a guest and bare
    metal): a log axis, where stacked segments would mislead, so each is a
    bar from the axis."""
    files = [kernel_file(tmp_path / "guest.json"), kernel_file(tmp_path / "metal.json", gross=200e-9, floor=50e-9)]
    figure = plot.build_figure(load_result_files(list(map(str, files))), panels=("breakdown",))
    patches = breakdown_patches(figure)
    assert patches and all(p.get_y() == 0 for p in patches.values())  # type: ignore[attr-defined]
    assert {ax.get_yscale() for ax in figure.axes if ax.patches} == {"log"}


def test_plot_breakdown_cli_writes_an_image_and_keeps_other_panels(tmp_path: Path, lab_like: list[Path]) -> None:
    out = tmp_path / "b.png"
    code, text = run_cli("plot", *map(str, lab_like), "-o", str(out), "--panel", "breakdown", "--panel", "distribution")
    assert code == 0, text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain = tmp_path / "plain.png"
    assert run_cli("plot", *map(str, lab_like), "-o", str(plain))[0] == 0  # every target, as before


def test_plot_breakdown_of_files_without_split_draws_no_empty_panel_and_says_why(tmp_path: Path) -> None:
    path = write_suite(tmp_path / "plain.json", [read_benchmark("pio", T0, const(275e-9), session="s1")])
    files = load_result_files([str(path)])
    with pytest.raises(CfgbenchError, match="nothing to draw: the breakdown panel of every target: no split"):
        plot.build_figure(files, panels=("breakdown",))
    drawing = plot.draw_files(files, ("distribution", "breakdown"))
    assert len(drawing.figure.axes) == 1 and not drawing.figure.axes[0].patches
    assert drawing.left_out[0].startswith("the breakdown panel of every target: no split benchmarks")


def test_plot_breakdown_draws_only_split_reads_and_never_a_split_part_as_a_target(lab_like: list[Path]) -> None:
    files = load_result_files(list(map(str, lab_like)))
    titles = {ax.get_title() for ax in plot.build_figure(files, panels=("distribution", "ecdf")).axes}
    assert titles == {f"read {T0}", f"read {T1}", f"read {OTHER}"}  # the accesses timed alone are in the breakdown only
