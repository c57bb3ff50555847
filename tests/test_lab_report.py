"""What `cfgbench lab` prints and leaves in --out, without booting a guest:
the guest is played by a stand-in that prints what a real boot printed and
writes results/lab-main's files. The answer comes first, then where the
figure and the tables are, then the caveats; the rest is behind -v."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.image
import pytest
from click.testing import CliRunner

from cfgbench import plot
from cfgbench.cli import main
from cfgbench.compare.headline import end_of_run, summarize
from cfgbench.compare.model import report_of
from cfgbench.errors import CfgbenchError
from cfgbench.lab import enumeration_job, mainjob
from cfgbench.lab.census import Census
from cfgbench.lab.guest import GuestConfig, GuestResult
from cfgbench.results import load_suite

LAB_MAIN = Path(__file__).resolve().parents[1] / "results" / "lab-main"
METHODS = ("pio", "mmio", "kernel")
# What a real `cfgbench lab` printed before the headline (2026-12-04): QEMU's
# progress on stderr, and the guest's own warning on stdout; the census boot first.
CENSUS_PROGRESS = ("booting q35 guest for the census (tcg, 1 vCPU, kernel 6.1.0-57-amd64)...", "guest up in 2.6 s",
                   "command exited with 0; guest done in 8.0 s")
BOOT_PROGRESS = ("booting q35 guest (tcg, 2 vCPUs, kernel 6.1.0-57-amd64)...", "guest up in 2.2 s")
BOOT_DONE = "command exited with 0; guest done in 15.1 s"
GUEST_LINES = ("cfgbench: warning: pio writes 0xCF8 without the kernel's pci_config_lock; with 2 CPUs online ...",)
LAB = {"accel": "tcg", "qemu": "7.2.22", "machine": "q35", "kernel_release": "6.1.0-57-amd64"}
MAX_DEFAULT_LINES = 25
# A lab whose figures moved with the machine (11 unstable, 1 in two clusters): each its own caveat with -v.
MOVING = Path(__file__).resolve().parents[1] / "results" / "redesign" / "before" / "lab-1"
SOURCE = {"lab": LAB_MAIN}  # where the stand-in's timing boot finds its files


def stand_in_guest(argv: Sequence[str], cfg: GuestConfig, *, outdir: Path, progress: Callable[[str], None],
                   output: Callable[[str], object], **_: object) -> GuestResult:
    """A boot as the lab's last real one printed it, leaving that lab's files."""
    if cfg.census:
        for line in CENSUS_PROGRESS:
            progress(line)
        for name in ("kernel-counts.json", "census-windows.json"):
            shutil.copy(LAB_MAIN / name, outdir / name)
        census = Census.from_json(json.loads((LAB_MAIN / "census.json").read_text()))
        return GuestResult(0, "", dict(LAB), boot_seconds=2.6, wall_seconds=8.0, census=census)
    for line in BOOT_PROGRESS:
        progress(line)
    for line in GUEST_LINES:
        output(f"{line}\n")
    for path in SOURCE["lab"].glob("lab-*.json"):
        shutil.copy(path, outdir / path.name)
    progress(BOOT_DONE)
    return GuestResult(0, "", dict(LAB), boot_seconds=2.2, wall_seconds=15.1)


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, list[str], list[str]]]:
    monkeypatch.setattr(mainjob, "run_in_guest", stand_in_guest)
    monkeypatch.setattr(enumeration_job, "run_in_guest", stand_in_guest)

    def run(*args: str) -> tuple[int, list[str], list[str]]:
        result = CliRunner().invoke(main, ["lab", *args])
        return result.exit_code, result.stdout.splitlines(), result.stderr.splitlines()

    return run


def test_the_default_output_is_the_answer_first_and_at_most_25_lines(lab: Callable[..., tuple[int, list[str], list[str]]],
                                                                       tmp_path: Path) -> None:
    code, out, err = lab("--out", str(tmp_path))
    assert code == 0, err
    assert len(out) + len(err) <= MAX_DEFAULT_LINES
    ours = out[len(GUEST_LINES):]
    # ECAM against type 1: mmio against pio per target, then the kernel's two paths; no kernel-against-pio ratio
    assert [line.split(":")[0] for line in ours[:7]] == [
        "00", "01", "scan 00-01", "sweep 00", "sweep 01", "sweep 01", "01"]
    assert all(" mmio " in line and " than pio " in line and "kernel" not in line for line in ours[:6])
    assert ours[6].startswith("01:00.0 through the kernel: ECAM (+0x100) ") and " than type 1 (+0x000) " in ours[6]
    assert ours[7].startswith("rescan of 00:03.0 (1 function below it): type 1 first took ") and "inside" in ours[7]
    assert re.search(r"paired rounds; medians [\d.]+ ms against [\d.]+ ms\)", ours[7])  # the times are medians, the ratio paired
    assert ours[8].startswith("census (QEMU): the kernel's boot made 25,899 config reads") and "agrees" in ours[8]
    assert ours[9] == f"figure: {tmp_path / 'lab.png'}"
    assert ours[10].startswith("the full tables, each figure's caveats and where the time goes: cfgbench compare ")
    assert [line.split(" ")[0] for line in ours[11:13]] == ["one", "under"]  # one boot, TCG
    # results/lab-main's figures moved with the machine: that is one more caveat, one line
    assert [line.split(" (")[0] for line in ours[13:-1]] == ["this machine changes speed during a run"]
    assert ours[-1].startswith("lab: q35 guest (2 vCPUs) under tcg") and len(ours) == 15
    assert matplotlib.image.imread(tmp_path / "lab.png").shape == (1200, 1600, 4)
    code, out, err = lab("--out", str(tmp_path / "quiet"), "-q")
    assert code == 0 and out == ours[:9] + [f"figure: {tmp_path / 'quiet' / 'lab.png'}"] + \
        [ours[10].replace(str(tmp_path), str(tmp_path / "quiet"))] + ours[11:14] + out[-1:] and not err


def test_verbose_adds_each_figures_caveats_and_where_the_time_goes(lab: Callable[..., tuple[int, list[str], list[str]]],
                                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCE, "lab", MOVING)
    code, out, _ = lab("--out", str(tmp_path), "-q", "-v", "--no-figure")
    assert code == 0
    assert not (tmp_path / "lab.png").exists() and not any(line.startswith("figure") for line in out)
    start = out.index("where the time goes (medians per read; sum/full and net per paired round, with 95% intervals):")
    assert len(out[start + 1:-1]) == 8 and out[-1].startswith("lab: ")  # 8 breakdowns
    assert sum("std dev is" in line for line in out) == 11 and sum("values fall into two clusters" in line for line in out) == 1
    # -v also has the kernel's gross times against pio (mmio where pio cannot reach), one line each
    assert len([line for line in out[:start] if line.startswith("kernel ") and "x slower than " in line]) == 7


def test_a_lab_refuses_an_out_directory_that_holds_a_figure(lab: Callable[..., tuple[int, list[str], list[str]]],
                                                              tmp_path: Path) -> None:
    (tmp_path / "lab.png").write_bytes(b"precious")
    code, out, err = lab("--out", str(tmp_path))
    assert code == 2 and err[-1].endswith("lab.png already exists: choose another --out directory")
    assert (tmp_path / "lab.png").read_bytes() == b"precious" and not list(tmp_path.glob("lab-*.json"))


def test_without_matplotlib_the_lab_says_how_to_get_the_figure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(plot, "matplotlib_available", lambda: False)
    report = report_of({m: load_suite(LAB_MAIN / f"lab-{m}.json") for m in METHODS})
    assert mainjob._figure_line(report, tmp_path / "lab.png") == \
        "figure: none, matplotlib is not installed (pip install 'cfgbench[plot]')"
    assert not (tmp_path / "lab.png").exists()


def test_one_more_answer_per_lab_goes_after_the_targets_and_before_the_rest() -> None:
    report = report_of({m: load_suite(LAB_MAIN / f"lab-{m}.json") for m in METHODS})
    found = summarize(report, mainjob.headline_context("tcg"))
    lines = end_of_run(report, mainjob.headline_context("tcg"), ["figure: x"], ["kernel enumeration: ..."])
    assert lines[:8] == [*found.answers, "kernel enumeration: ..."] and lines[8] == "figure: x"
    assert lines[9:] == found.caveats


def test_a_figure_that_cannot_be_drawn_does_not_fail_the_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise CfgbenchError("nothing to draw: x", "choose a --panel")

    monkeypatch.setattr(plot, "save_answer", refuse)
    report = report_of({m: load_suite(LAB_MAIN / f"lab-{m}.json") for m in METHODS})
    assert mainjob._figure_line(report, tmp_path / "lab.png") == "figure: none, nothing to draw: x: choose a --panel"
