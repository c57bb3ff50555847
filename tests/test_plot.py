"""cfgbench plot: real images of the expected size, log scale across environments, no silent overwrite."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from click.testing import CliRunner

from cfgbench import plot
from cfgbench.cli import main
from cfgbench.plot import answer, panels
from cfgbench.compare import load_result_files
from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT, LAB_KVM, read_histograms, write_result

BOTH = {HOST_BRIDGE: 170e-9, HOST_BRIDGE_EXT: 175e-9}


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def lab_files(tmp_path: Path) -> list[Path]:
    return [
        write_result(tmp_path / "pio.json", "pio", BOTH, seed=1),
        write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 110e-9, HOST_BRIDGE_EXT: 112e-9}, seed=2),
        write_result(tmp_path / "kernel.json", "kernel", {HOST_BRIDGE: 3.2e-6, HOST_BRIDGE_EXT: 3.0e-6}, seed=3),
    ]


def image_shape(path: Path) -> tuple[int, ...]:
    pixels = matplotlib.image.imread(path)
    assert pixels.dtype == np.float32 and pixels.max() > pixels.min()  # decoded, and not blank
    return pixels.shape


def test_files_of_several_methods_get_the_answer_figure_one_screen(tmp_path: Path, lab_files: list[Path]) -> None:
    out = tmp_path / "out.png"
    code, stdout, err = run_cli("plot", *map(str, lab_files), "-o", str(out))
    assert code == 0, err
    assert str(out) in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image_shape(out) == (answer.HEIGHT_PX, answer.WIDTH_PX, 4)
    # No split benchmarks and no histograms here: the figure says what it left out, in one line.
    assert err.count("\n") == 1 and "where the time goes (no split" in err and "the tail (no per-read" in err


def test_one_methods_files_get_each_targets_distribution(tmp_path: Path, lab_files: list[Path]) -> None:
    out = tmp_path / "out.png"
    code, _, err = run_cli("plot", str(lab_files[0]), "-o", str(out))
    assert code == 0 and not err
    assert image_shape(out) == (panels.CELL_HEIGHT_PX, 2 * panels.CELL_WIDTH_PX, 4)  # two targets, side by side


@pytest.mark.filterwarnings("error")  # a figure too small for its words collapses its layout with only a warning
def test_size_and_panels(tmp_path: Path, lab_files: list[Path]) -> None:
    sized = tmp_path / "sized.png"
    assert run_cli("plot", *map(str, lab_files), "-o", str(sized), "--size", "800x600")[0] == 0
    assert image_shape(sized) == (600, 800, 4)
    both = tmp_path / "both.png"
    assert run_cli("plot", *map(str, lab_files), "-o", str(both), "--panel", "distribution", "--panel", "ecdf")[0] == 0
    # Two targets of two panels each: one row, each target's panels side by side.
    assert image_shape(both) == (panels.CELL_HEIGHT_PX, 4 * panels.CELL_WIDTH_PX, 4)


def test_the_answer_is_a_figure_of_its_own(tmp_path: Path, lab_files: list[Path]) -> None:
    code, _, err = run_cli("plot", *map(str, lab_files), "-o", str(tmp_path / "x.png"), "--panel", "answer",
                           "--panel", "ecdf")
    assert code == 2 and "--panel answer is a figure of its own" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_never_overwrites_without_force(tmp_path: Path, lab_files: list[Path]) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    code, _, err = run_cli("plot", str(lab_files[0]), "-o", str(out))
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_bytes() == b"precious"
    assert run_cli("plot", str(lab_files[0]), "-o", str(out), "--force")[0] == 0
    assert image_shape(out)[2] == 4
    assert not list(tmp_path.glob(".cfgbench-plot-*"))  # no temporary left behind


def test_log_scale_when_files_span_more_than_tenfold(tmp_path: Path) -> None:
    guest = write_result(tmp_path / "guest.json", "pio", {HOST_BRIDGE: 28e-6}, env=LAB_KVM)
    metal = write_result(tmp_path / "metal.json", "pio", {HOST_BRIDGE: 430e-9}, env=BARE_METAL)
    close = write_result(tmp_path / "close.json", "mmio", {HOST_BRIDGE: 400e-9}, env=BARE_METAL)
    wide = plot.build_figure(load_result_files([str(guest), str(metal)]))
    narrow = plot.build_figure(load_result_files([str(metal), str(close)]))
    assert wide.axes[0].get_yscale() == "log"
    assert narrow.axes[0].get_yscale() == "linear"


def test_labels_carry_method_environment_and_units(tmp_path: Path) -> None:
    guest = write_result(tmp_path / "guest.json", "pio", {HOST_BRIDGE: 28e-6}, env=LAB_KVM)
    metal = write_result(tmp_path / "metal.json", "pio", {HOST_BRIDGE: 430e-9}, env=BARE_METAL)
    axes = plot.build_figure(load_result_files([str(guest), str(metal)])).axes[0]
    ticks = [t.get_text() for t in axes.get_xticklabels()]
    assert ticks == ["pio\n(guest)\nguest · kvm", "pio\n(bare-metal)\nbare-metal"]
    assert axes.get_title() == HOST_BRIDGE
    assert axes.get_ylabel() == "time per read (log scale)"
    formatter = axes.yaxis.get_major_formatter()
    assert formatter(430e-9) == "430 ns" and formatter(28e-6) == "28 µs"


def test_ecdf_panel_reaches_one(tmp_path: Path, lab_files: list[Path]) -> None:
    figure = plot.build_figure(load_result_files([str(p) for p in lab_files]), panels=["ecdf"])
    lines = figure.axes[0].get_lines()
    assert len(lines) == 3
    assert all(line.get_ydata()[-1] == pytest.approx(1.0) for line in lines)


def test_single_values_and_targets_missing_from_some_files(tmp_path: Path) -> None:
    one = write_result(tmp_path / "one.json", "pio", {HOST_BRIDGE: 170e-9}, n=1)
    two = write_result(tmp_path / "two.json", "mmio", BOTH)
    out = tmp_path / "out.png"
    assert run_cli("plot", str(one), str(two), "-o", str(out))[0] == 0
    assert image_shape(out)[:2] == (answer.HEIGHT_PX, answer.WIDTH_PX)
    out = tmp_path / "values.png"
    assert run_cli("plot", str(one), str(two), "-o", str(out), "--panel", "distribution")[0] == 0
    assert image_shape(out)[:2] == (panels.CELL_HEIGHT_PX, 2 * panels.CELL_WIDTH_PX)


@pytest.mark.parametrize(("name", "needle"), [("out.txt", "unknown image type"), ("missing/out.png", "does not exist")])
def test_bad_outputs_are_one_line_errors(tmp_path: Path, lab_files: list[Path], name: str, needle: str) -> None:
    code, _, err = run_cli("plot", str(lab_files[0]), "-o", str(tmp_path / name))
    assert code == 2 and needle in err and err.count("\n") == 1


def test_bad_inputs_and_sizes_are_one_line_errors(tmp_path: Path, lab_files: list[Path]) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{")
    code, _, err = run_cli("plot", str(corrupt), "-o", str(tmp_path / "x.png"))
    assert code == 2 and "corrupt.json" in err and "Traceback" not in err
    code, _, err = run_cli("plot", str(lab_files[0]), "-o", str(tmp_path / "x.png"), "--size", "big")
    assert code == 2 and "--size" in err
    assert not (tmp_path / "x.png").exists()


def test_svg_output(tmp_path: Path, lab_files: list[Path]) -> None:
    out = tmp_path / "out.svg"
    assert run_cli("plot", str(lab_files[0]), "-o", str(out))[0] == 0
    assert "<svg" in out.read_text()[:500]


def test_image_permissions_follow_the_umask(tmp_path: Path, lab_files: list[Path]) -> None:
    # A plot made under sudo in CI must stay readable by the runner's user.
    out = tmp_path / "out.png"
    old = os.umask(0o022)
    try:
        assert run_cli("plot", str(lab_files[0]), "-o", str(out))[0] == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_reads_panel_draws_per_read_ecdfs(tmp_path: Path) -> None:
    guest = write_result(tmp_path / "guest.json", "kernel", {HOST_BRIDGE: 16e-6}, env=LAB_KVM,
                         **read_histograms(16_000, exit_every=100))
    metal = write_result(tmp_path / "metal.json", "kernel", {HOST_BRIDGE: 900e-9}, env=BARE_METAL,
                         **read_histograms(900))
    figure = plot.build_figure(load_result_files([str(guest), str(metal)]), panels=["distribution", "reads"])
    reads_axes = figure.axes[1]
    assert reads_axes.get_xscale() == "log"
    lines = reads_axes.get_lines()
    assert len(lines) == 2
    assert all(line.get_ydata()[-1] == pytest.approx(1.0) for line in lines)
    guest_x = lines[0].get_xdata()
    assert guest_x.max() > 9 * 16e-6  # the 1% of reads that took a 10x exit are on the plot
    out = tmp_path / "reads.png"
    assert run_cli("plot", str(guest), str(metal), "-o", str(out), "--panel", "reads")[0] == 0
    assert image_shape(out) == (panels.CELL_HEIGHT_PX, panels.MIN_WIDTH_PX, 4)


def test_a_panel_without_data_is_left_out_and_stderr_says_why(tmp_path: Path, lab_files: list[Path]) -> None:
    files = load_result_files([str(p) for p in lab_files])
    drawing = plot.draw_files(files, ["distribution", "reads"])
    assert [ax.get_title() for ax in drawing.figure.axes] == [HOST_BRIDGE, HOST_BRIDGE_EXT]  # no empty reads panels
    assert drawing.left_out == ("the reads panel of every target: no per-read histograms (cfgbench run records "
                                "them for the read workload, unless --samples 0)",)
    out = tmp_path / "out.png"
    code, _, err = run_cli("plot", *map(str, lab_files), "-o", str(out), "--panel", "distribution", "--panel", "reads")
    assert code == 0 and err == f"cfgbench: left out of {out}: {drawing.left_out[0]}\n"
    code, _, err = run_cli("plot", *map(str, lab_files), "-o", str(tmp_path / "none.png"), "--panel", "reads")
    assert code == 2 and "nothing to draw: the reads panel of every target" in err and err.count("\n") == 1
    assert not (tmp_path / "none.png").exists()


def test_reads_panel_draws_the_reads_of_a_file_of_several_processes(tmp_path: Path, fake_dump: Path) -> None:
    """pyperf keeps at benchmark level only what every run shares: each
    process's histogram is on its own run, and the panel must add them up."""
    out = tmp_path / "two.json"
    code, _, err = run_cli("run", "-m", "fake", "--processes", "2", "--values", "2", "--loops", "256",
                           "--samples", "512", "-q", "-o", str(out))
    assert code == 0, err
    [bench] = load_result_files([str(out)])[0].benchmarks.values()
    assert "cfgbench_dist_cycles" not in bench.get_metadata()  # not common to the runs: only on each run
    figure = plot.build_figure(load_result_files([str(out)]), panels=["reads"])
    [line] = figure.axes[0].get_lines()
    assert line.get_ydata()[-1] == pytest.approx(1.0) and not figure.axes[0].texts
