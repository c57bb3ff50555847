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


def test_default_png_has_one_row_per_target(tmp_path: Path, lab_files: list[Path]) -> None:
    out = tmp_path / "out.png"
    code, stdout, err = run_cli("plot", *map(str, lab_files), "-o", str(out))
    assert code == 0, err
    assert str(out) in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image_shape(out) == (2 * plot.HEIGHT_PER_TARGET_PX, plot.DEFAULT_WIDTH_PX, 4)


def test_size_and_panels(tmp_path: Path, lab_files: list[Path]) -> None:
    sized = tmp_path / "sized.png"
    assert run_cli("plot", *map(str, lab_files), "-o", str(sized), "--size", "800x600")[0] == 0
    assert image_shape(sized) == (600, 800, 4)
    both = tmp_path / "both.png"
    assert run_cli("plot", *map(str, lab_files), "-o", str(both), "--panel", "distribution", "--panel", "ecdf")[0] == 0
    assert image_shape(both) == (900, plot.DEFAULT_WIDTH_PX + plot.EXTRA_PANEL_WIDTH_PX, 4)


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
    assert image_shape(out)[:2] == (900, 1200)


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
    assert image_shape(out) == (450, 1200, 4)


def test_reads_panel_says_when_files_have_no_histograms(tmp_path: Path, lab_files: list[Path]) -> None:
    figure = plot.build_figure(load_result_files([str(p) for p in lab_files]), panels=["reads"])
    assert not figure.axes[0].get_lines()
    assert "no per-read histograms" in figure.axes[0].texts[0].get_text()


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
