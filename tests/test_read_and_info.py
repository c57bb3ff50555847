"""`cfgbench read` names a method's own reach as `run` does; `cfgbench info`
says when raw methods are forbidden here, and why, and lists the fake when it is enabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cfgbench import access
from cfgbench.checks import read_once
from cfgbench.plan import PlanRequest, Target
from cfgbench.planner import build_plan
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.address import Bdf
from cfgbench.cli import main
from cfgbench.errors import CfgbenchError
from cfgbench.results import load_suite

from cli_helpers import HOST_DUMP, cfgbench

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


VIRTIO_NET = "0000:00:01.0"
# Inside its first vendor-specific capability (0x40-0x4f, its body from 0x43):
# the dump's row "40: 09 50 10 01 00 00 00 00 00 00 00 00 38 00 00 00".
IN_A_VENDOR_CAPABILITY, ITS_VALUE = "0x4c", 0x00000038


@pytest.mark.usefixtures("fake_dump")
@pytest.mark.parametrize("command", ["read", "run"])
def test_allow_any_offset_reads_what_is_refused_without_it(tmp_path: Path, command: str) -> None:
    out = tmp_path / "any.json"
    args = ["read", "-m", "fake", VIRTIO_NET, IN_A_VENDOR_CAPABILITY] if command == "read" else \
        ["run", "-m", "fake", "-d", VIRTIO_NET, "--offset", IN_A_VENDOR_CAPABILITY, "-o", str(out), "--in-process",
         "--loops", "64", "--values", "2", "--warmups", "0", "--samples", "0", "-q"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "vendor-specific" in refused.stderr and "--allow-any-offset" in refused.stderr
    assert not out.exists()
    allowed = CliRunner().invoke(main, [*args, "--allow-any-offset"])
    assert allowed.exit_code == 0, allowed.stderr
    if command == "read":
        assert allowed.stdout == f"{ITS_VALUE:08x}\n"
    else:
        [bench] = load_suite(out).get_benchmarks()
        assert bench.get_metadata()["cfgbench_value"] == f"{ITS_VALUE:#010x}"


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


def test_info_lists_the_fake_only_when_it_is_enabled() -> None:
    """Enabled by CFGBENCH_FAKE_DUMP, the fake is a method `info` lists, with its help; without it, it is not listed."""
    def fake_line(env: dict[str, str]) -> list[str]:
        result = cfgbench("info", env=env)
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if line.split()[:1] == ["fake"]]

    [line] = fake_line({"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)})
    assert line.split()[1] == "yes" and str(HOST_DUMP) in line
    assert fake_line({"CFGBENCH_FAKE_DUMP": ""}) == []


def test_info_says_which_path_the_kernel_takes() -> None:
    result = cfgbench("info")
    [line] = [line for line in result.stdout.splitlines() if line.startswith("kernel path:")]
    assert "below 0x100 " in line and "from 0x100 " in line
