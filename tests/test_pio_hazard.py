"""The unlocked 0xCF8 hazard: with more than one CPU online, `cfgbench run`
with pio says so once, names the safe alternatives, and times anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfgbench import access, runner
from cfgbench.access import pio
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import online_cpu_count, pio_hazard_warning
from cfgbench.address import Bdf


def cpus(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "online"
    path.write_text(text + "\n")
    return path


@pytest.mark.parametrize(("text", "count"), [("0", 1), ("0-1", 2), ("0-3,6", 5), ("0,2-3", 3), ("0-63", 64), ("", 0), ("x", None)])
def test_the_online_list_is_counted_as_the_kernel_writes_it(tmp_path: Path, text: str, count: int | None) -> None:
    assert online_cpu_count(cpus(tmp_path, text)) == count


def test_one_cpu_online_needs_no_warning(tmp_path: Path) -> None:
    assert pio_hazard_warning(cpus(tmp_path, "0")) is None


def test_two_cpus_online_get_one_line_naming_the_hazard_and_the_ways_out(tmp_path: Path) -> None:
    line = pio_hazard_warning(cpus(tmp_path, "0-1"))
    assert line is not None and "\n" not in line
    for needle in ("pci_config_lock", "2 CPUs online", "wrong register", "--method=mmio", "--method=kernel", "one CPU online", "idle machine", "docs/safety.md"):
        assert needle in line, needle


def test_an_unreadable_list_falls_back_to_the_cpu_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pio.os, "cpu_count", lambda: 4)
    line = pio_hazard_warning(tmp_path / "missing")
    assert line is not None and "4 CPUs online" in line


class PioStandIn(FakeAccessor):
    """The fake backend registered as `pio`: plan_run sees a pio measurement, no port is touched."""

    name = "pio"


@pytest.mark.usefixtures("fake_dump")
@pytest.mark.parametrize(("online", "warned"), [("0-1", True), ("0", False)])
def test_plan_run_passes_the_warning_to_progress_before_timing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                online: str, warned: bool) -> None:
    monkeypatch.setitem(access.METHODS, "pio", PioStandIn)
    monkeypatch.setattr(pio, "CPUS_ONLINE", cpus(tmp_path, online))
    lines: list[str] = []
    plan = runner.plan_run(runner.RunOptions(["pio"], [runner.Target(Bdf(0, 0, 0, 0), 0, 4)]), lines.append)
    assert [m.method for m in plan.measurements] == ["pio"]
    assert [line for line in lines if "pci_config_lock" in line] == ([pio_hazard_warning()] if warned else [])


@pytest.mark.usefixtures("fake_dump")
def test_other_methods_get_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pio, "CPUS_ONLINE", cpus(tmp_path, "0-7"))
    lines: list[str] = []
    runner.plan_run(runner.RunOptions(["fake", "kernel"], [runner.Target(Bdf(0, 0, 0, 0), 0, 4)]), lines.append)
    assert not [line for line in lines if "pci_config_lock" in line]
