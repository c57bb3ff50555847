"""The unlocked 0xCF8 hazard: with more than one CPU online, `cfgbench run`
with pio says so once, names the safe alternatives, and times anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfgbench import access, platform
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import PioAccessor, pio_hazard_warning
from cfgbench.plan import PlanRequest, Target
from cfgbench.planner import build_plan
from cfgbench.platform import online_cpus
from cfgbench.address import Bdf


def cpus(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "online"
    path.write_text(text + "\n")
    return path


@pytest.mark.parametrize(("text", "cpus_online"), [("0", {0}), ("0-1", {0, 1}), ("0-3,6", {0, 1, 2, 3, 6}),
                                                  ("0,2-3", {0, 2, 3}), ("0-63", set(range(64))), ("", None),
                                                  ("x", None), ("3-1", None)])
def test_the_online_list_is_read_as_the_kernel_writes_it(tmp_path: Path, text: str, cpus_online: set[int] | None) -> None:
    assert online_cpus(cpus(tmp_path, text)) == cpus_online


def test_one_cpu_online_needs_no_warning(tmp_path: Path) -> None:
    assert pio_hazard_warning(cpus(tmp_path, "0")) is None


def test_two_cpus_online_get_one_line_naming_the_hazard_and_the_ways_out(tmp_path: Path) -> None:
    line = pio_hazard_warning(cpus(tmp_path, "0-1"))
    assert line is not None and "\n" not in line
    for needle in ("pci_config_lock", "2 CPUs online", "wrong register", "--method=mmio", "--method=kernel", "one CPU online", "idle machine", "docs/safety.md"):
        assert needle in line, needle


def test_an_unreadable_list_falls_back_to_the_cpu_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform.os, "cpu_count", lambda: 4)
    line = pio_hazard_warning(tmp_path / "missing")
    assert line is not None and "4 CPUs online" in line


class PioStandIn(FakeAccessor):
    """The fake backend registered as `pio`: plan_run sees a pio measurement, no port is touched."""

    name = "pio"
    run_warning = PioAccessor.run_warning


@pytest.mark.usefixtures("fake_dump")
@pytest.mark.parametrize(("online", "warned"), [("0-1", True), ("0", False)])
def test_plan_run_passes_the_warning_to_progress_before_timing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                online: str, warned: bool) -> None:
    monkeypatch.setitem(access.METHODS, "pio", PioStandIn)
    monkeypatch.setattr(platform, "CPUS_ONLINE", cpus(tmp_path, online))
    lines: list[str] = []
    plan = build_plan(PlanRequest(["pio"], [Target(Bdf(0, 0, 0, 0), 0, 4)]), lines.append)
    assert [m.method for m in plan.benches] == ["pio"]
    assert [line for line in lines if "pci_config_lock" in line] == ([pio_hazard_warning()] if warned else [])


@pytest.mark.usefixtures("fake_dump")
def test_other_methods_get_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "CPUS_ONLINE", cpus(tmp_path, "0-7"))
    lines: list[str] = []
    build_plan(PlanRequest(["fake", "kernel"], [Target(Bdf(0, 0, 0, 0), 0, 4)]), lines.append)
    assert not [line for line in lines if "pci_config_lock" in line]
