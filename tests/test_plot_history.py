"""cfgbench plot --history: a trend per target, one line per method and machine, change points where planted."""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates
import matplotlib.image
import pytest
from click.testing import CliRunner
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from cfgbench import plot
from cfgbench.plot import history
from cfgbench.history import trend
from cfgbench.cli import main
from cfgbench.history.store import add_to_history
from cli_helpers import assert_one_line_error, cfgbench
from historyfiles import ci_runs, commit_for
from resultfiles import HOST_BRIDGE, HOST_BRIDGE_EXT, LAB_KVM

STEP_AT = 6


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hist(tmp_path: Path) -> Path:
    directory = tmp_path / "history"
    for i, files in enumerate(ci_runs(tmp_path / "metal", 10, step_at=STEP_AT, run_noise=0.02)):
        add_to_history(directory, files, commit_for(i))
    guest = {"pio": {HOST_BRIDGE: 28e-6}, "mmio": {HOST_BRIDGE: 16e-6}}
    for i, files in enumerate(ci_runs(tmp_path / "guest", 10, hostname="vm-1", env=LAB_KVM, means=guest,
                                      run_noise=0.02, seed=1)):
        add_to_history(directory, files, commit_for(i))
    return directory


def change_point_lines(axes: Axes) -> list[Line2D]:
    return [line for line in axes.get_lines() if line.get_gid() == plot.CHANGE_POINT_GID]


def test_the_change_point_is_drawn_at_the_planted_run(hist: Path) -> None:
    report = trend.history_report(hist)
    figure = plot.build_history_figure(report)
    first, second = figure.axes
    assert first.get_title() == HOST_BRIDGE and second.get_title() == HOST_BRIDGE_EXT
    legend = [t.get_text() for t in first.get_legend().get_texts()]
    assert legend == ["pio · bm-1", "pio · vm-1", "mmio · bm-1", "mmio · vm-1", "kernel · bm-1"]
    assert first.get_yscale() == "log"  # a guest at microseconds beside bare metal at hundreds of ns
    [marker] = change_point_lines(first)
    planted = next(t for t in report.trends if t.series.method == "pio" and t.series.machine == "bm-1")
    expected = matplotlib.dates.date2num(planted.series.points[STEP_AT].date)
    assert list(matplotlib.dates.date2num(marker.get_xdata())) == [expected, expected]
    assert marker.get_color() == first.get_lines()[0].get_color()  # drawn in the pio · bm-1 line's colour
    assert change_point_lines(second) == []


def test_cli_writes_a_png_and_never_overwrites(tmp_path: Path, hist: Path) -> None:
    out = tmp_path / "trend.png"
    code, stdout, err = run_cli("plot", "--history", str(hist), "-o", str(out))
    assert code == 0 and str(out) in stdout, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(out)
    assert pixels.shape == (2 * history.HEIGHT_PER_TARGET_PX, history.WIDTH_PX, 4) and pixels.max() > pixels.min()
    code, _, err = run_cli("plot", "--history", str(hist), "-o", str(out))
    assert code == 2 and "already exists" in err and "--force" in err
    assert run_cli("plot", "--history", str(hist), "-o", str(out), "--force")[0] == 0


def test_files_or_history_not_both(tmp_path: Path, hist: Path) -> None:
    some_file = next((hist / "bm-1").iterdir())
    code, _, err = run_cli("plot", "--history", str(hist), str(some_file), "-o", str(tmp_path / "x.png"))
    assert code == 2 and "not both" in err
    code, _, err = run_cli("plot", "-o", str(tmp_path / "x.png"))
    assert code == 2 and "--history" in err


def test_a_corrupt_file_in_the_history_is_one_line(tmp_path: Path, hist: Path) -> None:
    corrupt = hist / "bm-1" / "20260201T031702-00ffc0ffeec0-pio.json"
    corrupt.write_text('{"benchmarks": [')
    assert_one_line_error(cfgbench("plot", "--history", str(hist), "-o", str(tmp_path / "t.png")), str(corrupt))
    assert not (tmp_path / "t.png").exists()
