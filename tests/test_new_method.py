"""Adding a method is one module and one registry line: a method defined and
registered only here shows up in run, the headline, compare, plot and the
CI gate, with no other change anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cfgbench import access
from cfgbench.access.fake import FakeAccessor
from cfgbench.cli import main

NAME = "mirror"
COLOR = "tab:olive"


class MirrorAccessor(FakeAccessor):
    """A stand-in for a new method (intel-conf2, an Arm mmio-conf1): the fake
    backend's reads under another name, offered to users like any method."""

    name = NAME
    help = "the fake backend's reads under a new name (tests only)"
    color = COLOR
    hidden = False


@pytest.fixture
def mirror(fake_dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(access.METHODS, NAME, MirrorAccessor)  # what the registry line does


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.usefixtures("mirror")
def test_a_registered_method_runs_and_compares_with_no_other_change(tmp_path: Path) -> None:
    code, out = cli("run", "-m", "kernel", "-m", NAME, "--offset", "0", "--in-process", "--values", "6",
                    "--loops", "64", "--samples", "0", "-q", "-o", str(tmp_path / "run-{method}.json"))
    assert code == 0, out
    # The headline: one line per target, the registry's first method (kernel here) the reference.
    [line] = [line for line in out.splitlines() if line.startswith("00:00.0+0x000: ")]
    assert line.startswith(f"00:00.0+0x000: {NAME} ") and " than kernel (95% CI " in line
    code, out = cli("compare", str(tmp_path / "run-kernel.json"), str(tmp_path / f"run-{NAME}.json"))
    assert code == 0, out
    assert f"[2] {NAME}: " in out and f"\n  {NAME} " in out and " than kernel (95% CI " in out


@pytest.mark.usefixtures("mirror")
def test_a_registered_method_is_drawn_in_its_registry_colour(tmp_path: Path) -> None:
    from matplotlib.colors import same_color

    from cfgbench import plot
    from cfgbench.compare import load_result_files

    assert cli("run", "-m", "kernel", "-m", NAME, "--in-process", "--values", "6", "--loops", "64", "--samples", "0",
               "-q", "-o", str(tmp_path / "run-{method}.json"))[0] == 0
    files = load_result_files([str(tmp_path / "run-kernel.json"), str(tmp_path / f"run-{NAME}.json")])
    figure = plot.build_figure(files)
    colours = [c.get_facecolor() for ax in figure.axes for c in ax.collections]
    assert any(same_color(colour[0][:3], COLOR) for colour in colours if len(colour))


@pytest.mark.usefixtures("mirror")
def test_the_ci_gate_gates_a_registered_method(tmp_path: Path) -> None:
    results, baseline = tmp_path / "ci-results", tmp_path / "baseline"
    results.mkdir()
    assert cli("run", "-m", "kernel", "-m", NAME, "--in-process", "--values", "6", "--loops", "64", "--samples", "0",
               "-q", "-o", str(results / "{method}.json"))[0] == 0
    code, out = cli("ci", "promote", "--results", str(results), "--baseline", str(baseline))
    assert code == 0, out
    code, out = cli("ci", "gate", "--results", str(results), "--baseline", str(baseline), "--summary",
                    str(tmp_path / "summary.md"))
    assert f"{NAME}: " in out and "kernel: " in out
    assert f"| {NAME} | `read 0000:00:00.0+0x000/4`" in (tmp_path / "summary.md").read_text()
