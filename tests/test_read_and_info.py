"""`cfgbench read` names a method's own reach as `run` does; `cfgbench info`
says when raw methods are forbidden here, and why."""

from __future__ import annotations

from typing import Any

import pytest

from cfgbench import access
from cfgbench.plan import PlanRequest, Target, build_plan, read_once
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError

from cli_helpers import cfgbench

HOST_BRIDGE = Bdf(0, 0, 0, 0)  # 4096 bytes of config space in the dump


class Type1ReachFake(FakeAccessor):
    """The fake backend with type 1's reach (PioAccessor.check_reach, which
    touches no port): what `read -m pio` meets at 0x100 of a 4096-byte function."""

    def space_size(self, bdf: Bdf) -> int:
        return PioAccessor().space_size(bdf)

    def check_reach(self, bdf: Bdf, offset: int, width: int) -> None:
        PioAccessor().check_reach(bdf, offset, width)


@pytest.mark.usefixtures("fake_dump")
def test_read_reports_the_methods_reach_not_the_offset_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(access.METHODS, "fake", Type1ReachFake)
    with pytest.raises(CfgbenchError) as refused:
        read_once("fake", Target(HOST_BRIDGE, 0x100, 4))
    line = refused.value.one_line()
    assert "type 1 reaches only the first 256 bytes" in line and "--method=mmio or --method=kernel" in line
    assert "outside the 256-byte" not in line
    assert read_once("fake", Target(HOST_BRIDGE, 0x0, 4)) == 0x0D578086  # inside its reach it reads


def test_run_and_read_give_the_same_reason(monkeypatch: pytest.MonkeyPatch, fake_dump: Any) -> None:
    monkeypatch.setitem(access.METHODS, "fake", Type1ReachFake)
    reasons = set()
    for attempt in (lambda: read_once("fake", Target(HOST_BRIDGE, 0x100, 4)),
                    lambda: build_plan(PlanRequest(["fake"], [Target(HOST_BRIDGE, 0x100, 4)]), lambda _: None)):
        with pytest.raises(CfgbenchError) as refused:
            attempt()
        reasons.add(refused.value.one_line())
    assert len(reasons) == 1, reasons


def test_info_says_raw_methods_are_forbidden_here_and_why() -> None:
    """The test suite sets CFGBENCH_FORBID_RAW (conftest); info must not claim pio or mmio can run."""
    result = cfgbench("info")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [note] = [line for line in lines if line.startswith("raw access:")]
    assert "forbidden in this environment" in note and "CFGBENCH_FORBID_RAW is set" in note and "test suite" in note
    for method in ("pio", "mmio"):
        [line] = [line for line in lines if line.split()[:1] == [method]]
        assert line.split()[1] == "no", line


def test_info_is_quiet_about_it_when_not_forbidden() -> None:
    result = cfgbench("info", env={"CFGBENCH_FORBID_RAW": ""})
    assert result.returncode == 0, result.stderr
    assert "forbidden" not in result.stdout


def test_info_says_which_path_the_kernel_takes() -> None:
    result = cfgbench("info")
    [line] = [line for line in result.stdout.splitlines() if line.startswith("kernel path:")]
    assert "below 0x100 " in line and "from 0x100 " in line
