"""Issue 24: on the user's own machine the kernel's two paths are the verdict (type 1 below 0x100, ECAM above,
net of the floor): `run -m kernel` prints it first, and one file compares, plots and runs in CI on its own."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cfgbench import plot
from cfgbench.compare import load_result_files
from cfgbench.pci import SYSFS_DEVICES_ENV, config_size
from cfgbench.address import parse_bdf

from cli_helpers import QUICK, QUICK_IN_PROCESS, cfgbench

HOST_BRIDGE = parse_bdf("0000:00:00.0")
needs_both_paths = pytest.mark.skipif(os.geteuid() != 0 or (config_size(HOST_BRIDGE) or 0) < 4096,
                                      reason="the kernel's ECAM path needs root and a host bridge with extended space")


@needs_both_paths
def test_the_kernel_alone_answers_with_its_two_paths_and_one_file_compares_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    result = cfgbench("run", "-m", "kernel", "-o", str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    # The machine (a guest of which hypervisor, or bare metal; the CPU) and the registers the verdict rests on.
    assert first.startswith(("this machine (guest", "this machine (bare metal")) and " · " in first.split("): ")[0]
    assert "): 00:00.0 through the kernel: ECAM (+0x100) " in first and " than type 1 (+0x000) (95% CI " in first
    assert "pci_config_lock" in result.stdout  # what differs between the paths besides the mechanism
    compared = cfgbench("compare", str(out))
    assert compared.returncode == 0 and first.split("): ", 1)[1] in compared.stdout, compared.stderr
    image = tmp_path / "k.png"
    assert cfgbench("plot", str(out), "-o", str(image)).returncode == 0 and image.stat().st_size > 0
    figure = plot.draw(load_result_files([str(out)])).figure
    gids = {c.get_gid() for ax in figure.axes for c in ax.collections}
    assert f"{plot.ANSWER_GID}|{HOST_BRIDGE}|ECAM (+0x100)|ratio" in gids  # the answer row, as type 1 against ECAM
    assert not words_on_words(plot.draw(load_result_files([str(out)]), size=(800, 600)).figure)  # a small figure reads


def words_on_words(figure: Figure) -> list[tuple[str, str]]:
    """Titles and x tick labels that overlap once drawn (a layout that fails only warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FigureCanvasAgg(figure).draw()
    texts = [ax._left_title for ax in figure.axes]  # the titles, and the x tick labels inside the axis's limits
    texts += [t for ax in figure.axes for t in ax.get_xticklabels()
              if min(ax.get_xlim()) <= t.get_position()[0] <= max(ax.get_xlim())]
    texts = [t for t in texts if t.get_visible() and t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts]
    return [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:] if box.overlaps(other)]


def stand_in_sysfs(tmp_path: Path) -> Path:
    """A host bridge of 256 bytes (as in a q35 guest) and a PCIe port of 4096."""
    root = tmp_path / "devices"
    for bdf, size in (("0000:00:00.0", 256), ("0000:00:1c.0", 4096)):
        entry = root / bdf
        entry.mkdir(parents=True)
        for name, value in (("vendor", "0x8086"), ("device", "0x29c0"), ("class", "0x060000")):
            (entry / name).write_text(f"{value}\n")
        (entry / "config").write_bytes(bytes.fromhex("8680c029") + bytes(size - 4))
    return root


def test_a_function_without_extended_space_says_so_and_names_one_that_has(tmp_path: Path) -> None:
    result = cfgbench("run", "-m", "kernel", *QUICK_IN_PROCESS, env={SYSFS_DEVICES_ENV: str(stand_in_sysfs(tmp_path))})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "no verdict on the kernel's two paths for 0000:00:00.0: it has no extended config space, so the kernel reads "
        "all of it through type 1; a function that has: 0000:00:1c.0 (cfgbench run -m kernel -d 0000:00:1c.0)")


def test_run_says_what_the_kernel_alone_times_by_default() -> None:
    help_text = " ".join(cfgbench("run", "--help").stdout.split())
    assert "[default: 0; -m kernel alone: 0 and 0x100, its type 1 and ECAM paths]" in help_text


@needs_both_paths
def test_ci_run_times_only_the_methods_named_with_raw_access_forbidden(tmp_path: Path) -> None:
    result = cfgbench("ci", "run", "--method", "kernel", "--results", str(tmp_path), "--settings", "quick",
                      env={"CFGBENCH_FORBID_RAW": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("cfgbench: ci run: cfgbench run -m kernel -d 0000:00:00.0 --offset 0x0 --offset 0x100")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.json"]
    assert " through the kernel: ECAM (+0x100) " in result.stdout.splitlines()[0]
