"""Figures as a person reads them: the answer figure of the lab's files in
results/ is one screen, no panel of any figure is empty, and the forest plot
carries the intervals the headline prints (the numbers, not the pixels)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib.image
import pytest
from click.testing import CliRunner
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

from cfgbench import access, plot, runs
from cfgbench.cli import main
from cfgbench.compare import load_result_files
from cfgbench.compare.headline import HeadlineContext, summarize
from cfgbench.compare.model import report_of, short_target
from cfgbench.errors import CfgbenchError
from cfgbench.plot import answer, panels
from cfgbench.results import load_suite
from cfgbench.schema import FORMAT, SCHEDULE, method_of, workload_of
from resultfiles import BARE_METAL, HOST_BRIDGE, HOST_BRIDGE_EXT, LAB_KVM, read_histograms, write_result

RESULTS = Path(__file__).resolve().parents[1] / "results"
LAB_MAIN = RESULTS / "lab-main"
LAB_BOOTS = RESULTS / "lab-boots" / "lab-1"  # three boots: each boot's own ratio is drawn
METHODS = ("pio", "mmio", "kernel")


def lab_paths(directory: Path) -> list[str]:
    return [str(directory / f"lab-{method}.json") for method in METHODS]


def has_data(ax: Axes) -> bool:
    """Something drawn from data: a line in data coordinates (not a reference line
    such as 1.0's), points, segments, violins or bars. Text alone is no data."""
    lines = any(len(line.get_xdata()) >= 2 and line.get_transform() == ax.transData for line in ax.get_lines())
    collections = any(len(c.get_offsets()) if isinstance(c, PathCollection) else len(c.get_paths())
                      for c in ax.collections)
    return lines or collections or bool(ax.patches)


def empty_panels(figure: Figure) -> list[str]:
    return [ax.get_title() or ax.get_title(loc="left") or "(untitled)" for ax in figure.axes if not has_data(ax)]


def rendered_shape(figure: Figure) -> tuple[int, ...]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return matplotlib.image.imread(buffer).shape


def by_gid(figure: Figure, suffix: str) -> dict[tuple[str, str], object]:
    """answer|<target>|<method>|<suffix> -> the artist."""
    found = {}
    for ax in figure.axes:
        for artist in ax.collections:
            gid = artist.get_gid() or ""
            if gid.startswith(f"{plot.ANSWER_GID}|") and gid.endswith(f"|{suffix}"):
                _, target, method, _ = gid.split("|")
                found[(target, method)] = artist
    return found


# ----------------------------------------------------------------- the lab's figure, as the README shows it


@pytest.mark.parametrize("directory", [LAB_MAIN, LAB_BOOTS], ids=["lab-main", "lab-boots"])
def test_the_labs_figure_is_one_screen_of_three_parts_none_empty(directory: Path) -> None:
    drawing = plot.draw(load_result_files(lab_paths(directory)))
    assert drawing.left_out == ()
    height, width, _ = rendered_shape(drawing.figure)
    assert (width, height) == (answer.WIDTH_PX, answer.HEIGHT_PX) and height <= 2 * width
    assert empty_panels(drawing.figure) == []
    parts = [ax.get_title(loc="left").split(":")[0] for ax in drawing.figure.axes]
    assert [p for p in parts if p] == ["The answer", "The tail", "Where the time goes"]


LABEL = r"(?:\w+|type 1)(?: \(\+0x[0-9a-f]+\))?"  # mmio, or the kernel's path: ECAM (+0x100)
HEADLINE_RATIO = re.compile(rf"({LABEL}) ([\d.]+)x (faster|slower) than ({LABEL}) \(95% CI ([\d.]+)-([\d.]+)"
                            r"(?:, [^;)]*)?(?:; per run ([\d., ]+))?")


def _oriented(ratio: float, low: float, high: float) -> tuple[float, str, float, float]:
    return (1 / ratio, "faster", 1 / high, 1 / low) if ratio < 1 else (ratio, "slower", low, high)


def _digits(value: float) -> int:
    return 2 if value < 10 else 1 if value < 100 else 0


@pytest.mark.parametrize("directory", [LAB_MAIN, LAB_BOOTS], ids=["lab-main", "lab-boots"])
def test_the_forest_carries_the_ratios_and_intervals_the_headline_prints(directory: Path) -> None:
    paths = lab_paths(directory)
    suites = {method: load_suite(path) for method, path in zip(METHODS, paths, strict=True)}
    printed = {}
    for line in summarize(report_of(suites), HeadlineContext()).answers:
        target, _, rest = line.partition(": ")
        for m in HEADLINE_RATIO.finditer(rest):
            method, factor, word, reference, low, high, per_run = m.groups()
            printed[(target, method)] = (factor, word, low, high, per_run)
            # ECAM against type 1 only: mmio against pio, the kernel's ECAM path against its type 1 path
            assert (method, reference) in (("mmio", "pio"), ("ECAM (+0x100)", "type 1 (+0x000)")), line
    figure = plot.draw(load_result_files(paths)).figure
    points, intervals, runs = by_gid(figure, "ratio"), by_gid(figure, "interval"), by_gid(figure, "runs")
    drawn = {}
    for (target, method), point in points.items():
        assert isinstance(point, PathCollection)
        segment = intervals[(target, method)]
        assert isinstance(segment, LineCollection)
        [[(low, _), (high, _)]] = segment.get_segments()
        factor, word, low, high = _oriented(float(point.get_offsets()[0][0]), low, high)
        d = _digits(factor)
        per_run = None
        if (target, method) in runs:
            dots = runs[(target, method)]
            assert isinstance(dots, PathCollection)
            per_run = ", ".join(f"{(1 / x if word == 'faster' else x):.2f}" for x in dots.get_offsets()[:, 0])
        where = short_target(target) if " " in target else f"{target.removeprefix('0000:')} through the kernel"
        drawn[(where, method)] = (f"{factor:.{d}f}", word, f"{low:.{d}f}", f"{high:.{d}f}", per_run)
    assert any(method == "mmio" for _, method in printed) and any(m.startswith("ECAM") for _, m in printed)
    assert drawn == printed
    if directory == LAB_BOOTS:
        assert all(per_run is not None and per_run.count(",") == 2 for *_, per_run in drawn.values())  # 3 boots
    # And the words beside each row are the headline's, as a reader sees them.
    texts = {label.get_text() for ax in figure.axes for right in ax.child_axes for label in right.get_yticklabels()}
    for (_, method), (factor, word, low, high, _) in printed.items():
        assert any(t.startswith(f"{method} {factor}x {word} than ") and f"(95% CI {low}-{high}" in t for t in texts)


# ----------------------------------------------------------------- every result directory, every panel


def result_sets() -> list[list[Path]]:
    """The files of each result directory that `plot` takes together (lab-*.json,
    the lab's rescan pair, run-*.json, or files named after a method: {method}.json), and every result
    file alone (those plot refuses, not being cfgbench results, are one-line errors)."""
    sets = []
    for directory in sorted({path.parent for path in RESULTS.rglob("*.json")}):
        rescans = sorted(directory.glob("lab-rescan-*.json"))  # the lab's A/B: one pair, its own set
        for found in ([p for p in directory.glob("lab-*.json") if p not in rescans], rescans,
                      list(directory.glob("run-*.json"))):
            if found:
                sets.append(sorted(found, key=lambda p: (access.rank(p.stem.removeprefix("lab-")), p)))
        if found := [directory / f"{m}.json" for m in access.METHODS if (directory / f"{m}.json").exists()]:
            sets.append(found)
    for path in sorted(RESULTS.rglob("*.json")):
        try:
            load_result_files([str(path)])
        except CfgbenchError:
            continue
        sets.append([path])
    return sets


def kind_of(paths: list[Path]) -> tuple[object, ...]:
    """What makes a set draw differently: the files' name, methods, workloads,
    several sessions, the file format, the schedule, per-read histograms."""
    benches = [b for f in load_result_files([str(p) for p in paths]) for b in f.benchmarks.values()]
    return (len(paths) == 1, paths[0].name.split("-")[0], tuple(sorted({method_of(b) for b in benches})),
            tuple(sorted({workload_of(b) for b in benches})), any(len(runs.sessions(b)) > 1 for b in benches),
            tuple(sorted(runs.metadata_values(benches, FORMAT))), any(runs.is_legacy(b) for b in benches),
            tuple(sorted(runs.metadata_values(benches, SCHEDULE))),
            any(runs.totals(b).histogram is not None for b in benches))


def one_set_per_kind() -> list[list[Path]]:
    # Every set with every panel takes over a minute here (32 sets, 159 files); one of each kind draws what they all do.
    kinds: dict[tuple[object, ...], list[Path]] = {}
    for paths in RESULT_SETS:
        kinds.setdefault(kind_of(paths), paths)
    return list(kinds.values())


def _set_id(paths: list[Path]) -> str:
    return str((paths[0] if len(paths) == 1 else paths[0].parent).relative_to(RESULTS))


RESULT_SETS = result_sets()
KINDS = one_set_per_kind()


def test_the_sweep_finds_every_kind_of_result_directory() -> None:
    assert {paths[0].name.split("-")[0] for paths in RESULT_SETS if len(paths) > 1} >= {"lab", "run"}
    assert len(RESULT_SETS) >= 30 and len(KINDS) >= 8
    ids = [_set_id(paths) for paths in KINDS]
    assert "lab-boots/lab-1" in ids and "false-alarms" in ids  # three boots in one file; run-*.json
    assert kind_of([Path(p) for p in lab_paths(LAB_MAIN)]) in map(kind_of, KINDS)  # one boot


@pytest.mark.parametrize("paths", KINDS, ids=[_set_id(p) for p in KINDS])
def test_every_panel_of_every_kind_of_result_directory_draws_no_empty_panel(paths: list[Path]) -> None:
    files = load_result_files([str(p) for p in paths])
    for panel_set in [(), *((choice,) for choice in plot.CHOICES), tuple(plot.PANELS)]:
        try:
            drawing = plot.draw(files, panel_set)
        except CfgbenchError as exc:  # nothing at all to draw is an error, never an empty image
            assert exc.cause.startswith("nothing to draw: "), (panel_set, exc.one_line())
            continue
        figure = drawing.figure
        assert empty_panels(figure) == [], panel_set
        width, height = figure.get_size_inches()
        assert height <= 2 * width, panel_set
        titles = " ".join(ax.get_title() for ax in figure.axes)
        assert " split " not in f" {titles}", panel_set  # split parts only in the breakdown's bars
        figure.clear()


# ----------------------------------------------------------------- layouts and what is left out


def test_a_big_set_of_targets_is_a_grid_as_wide_as_a_screen_not_a_column(tmp_path: Path) -> None:
    means = {f"read 0000:00:{device:02x}.0+0x000/4": 300e-9 for device in range(19)}
    path = write_result(tmp_path / "pio.json", "pio", means)
    figure = plot.build_figure(load_result_files([str(path)]))
    rows = {round(ax.get_position().y0, 3) for ax in figure.axes}
    columns = {round(ax.get_position().x0, 3) for ax in figure.axes}
    assert len(figure.axes) == 19 and len(columns) == panels.CELLS_PER_ROW and len(rows) == 7
    width, height = figure.get_size_inches() * figure.dpi
    assert width == panels.CELLS_PER_ROW * panels.CELL_WIDTH_PX and height <= 2 * width
    many = write_result(tmp_path / "many.json", "pio", {f"read 0000:{b:02x}:00.0+0x000/4": 3e-7 for b in range(60)})
    width, height = plot.build_figure(load_result_files([str(many)])).get_size_inches()
    assert height <= panels.MAX_ASPECT * width  # more columns, not a taller column


def test_the_answer_leaves_out_what_the_files_lack_and_says_why(tmp_path: Path) -> None:
    pio = write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 300e-9}, session="s")
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 160e-9, HOST_BRIDGE_EXT: 170e-9}, session="s",
                        **read_histograms(160))
    drawing = plot.draw(load_result_files([str(pio), str(mmio)]))
    assert [ax.get_title(loc="left").split(":")[0] for ax in drawing.figure.axes] == ["The answer", "The tail"]
    assert empty_panels(drawing.figure) == []
    assert drawing.left_out == ("where the time goes (no split benchmarks: cfgbench run --workload split)",)
    alone = plot.draw(load_result_files([str(mmio)]), (plot.ANSWER,))
    assert [ax.get_title(loc="left").split(":")[0] for ax in alone.figure.axes] == ["The tail"]
    assert alone.left_out[0].startswith("the answer (neither pio and mmio on one target nor the kernel's two paths")
    with pytest.raises(CfgbenchError, match="nothing to draw: the answer .*where the time goes .*the tail "):
        plot.draw(load_result_files([str(pio)]), (plot.ANSWER,))


def test_ratio_ticks_read_as_factors_either_side_of_one() -> None:
    ticks = answer.factor_ticks(0.36, 35)
    assert [answer.factor_label(t).replace("\n", " ") for t in ticks] == [
        "2x faster", "as fast", "2x slower", "5x slower", "10x slower", "20x slower"]
    assert len(answer.factor_ticks(0.8, 1.3)) >= 5  # a narrow span still gets a scale
    assert answer.factor_ticks(0.45, 1.3) == pytest.approx([1 / 2, 1 / 1.5, 1 / 1.2, 1, 1.2])  # both sides of 1
    assert answer.factor_label(1 / 36788) == "36,788x\nfaster"


# ----------------------------------------------------------------- cfgbench run --plot


RUN = ("run", "-m", "fake", "-m", "kernel", "--in-process", "--values", "6", "--loops", "64", "--samples", "200", "-q")


def test_run_writes_the_answer_figure_on_request(tmp_path: Path, fake_dump: Path) -> None:
    figure = tmp_path / "answer.png"
    result = CliRunner().invoke(main, [*RUN, "-o", str(tmp_path / "run-{method}.json"), "--plot", str(figure)])
    assert result.exit_code == 0, result.output
    assert matplotlib.image.imread(figure).shape == (answer.HEIGHT_PX, answer.WIDTH_PX, 4)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("00:00.0+0x000: fake ")  # the answer first, then each figure, then where the figure is
    assert lines[lines.index(f"figure: {figure}") - 1].startswith("saved ")
    # Left out (no split benchmarks in this run): one line on stderr.
    assert [line for line in result.stderr.splitlines() if "left out" in line] == [
        f"cfgbench: left out of {figure}: where the time goes (no split benchmarks: cfgbench run --workload split)"]


@pytest.mark.parametrize(("name", "needle"), [("answer.png", "already exists: choose another --plot name"),
                                              ("answer.txt", "unknown image type")])
def test_run_refuses_a_figure_it_could_not_write_before_timing(tmp_path: Path, fake_dump: Path, name: str,
                                                               needle: str) -> None:
    (tmp_path / "answer.png").write_bytes(b"precious")
    result = CliRunner().invoke(main, [*RUN, "-o", str(tmp_path / "run-{method}.json"), "--plot", str(tmp_path / name)])
    assert result.exit_code == 2 and needle in result.stderr and result.stderr.count("\n") == 1
    assert not list(tmp_path.glob("run-*.json"))  # nothing timed
    assert (tmp_path / "answer.png").read_bytes() == b"precious"


def test_an_emulated_answer_says_so_on_its_face(tmp_path: Path) -> None:
    """Issue 24: a figure of TCG emulation is not a hypervisor's price, and says so; a real machine's does not."""
    lab = plot.draw(load_result_files(lab_paths(LAB_MAIN))).figure
    assert "EMULATED (QEMU TCG)" in lab.get_suptitle()
    pio = write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 300e-9}, env=BARE_METAL, session="s")
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 160e-9}, env=BARE_METAL, session="s")
    assert "EMULATED" not in plot.draw(load_result_files([str(pio), str(mmio)])).figure.get_suptitle()


def test_the_figure_names_the_hypervisor_as_people_do(tmp_path: Path) -> None:
    """A guest's figure says `guest · KVM`, not CPUID's `KVMKVMKVM`, as the run's headline does."""
    guest = {key: value for key, value in LAB_KVM.items() if not key.startswith("cfgbench_lab_")}
    pio = write_result(tmp_path / "pio.json", "pio", {HOST_BRIDGE: 300e-9}, env=guest, session="s")
    mmio = write_result(tmp_path / "mmio.json", "mmio", {HOST_BRIDGE: 160e-9}, env=guest, session="s")
    title = plot.draw(load_result_files([str(pio), str(mmio)])).figure.get_suptitle()
    assert "guest · KVM;" in title and "KVMKVMKVM" not in title
