"""The mmio accessor's mappings, on an ordinary file standing in for /dev/mem
(no test maps /dev/mem): single reads map one function's page, a scan maps its
bus range once."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfgbench.access import ecam
from cfgbench.access.base import FORBID_RAW_ENV
from cfgbench.access.ecam import PAGE_BYTES, EcamAccessor
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import EcamWindow

MIB = 1 << 20
# A window of buses 1-3 whose bus 0 would sit at file offset 0 (Linux's base).
WINDOW = EcamWindow(segment=0, start_bus=1, end_bus=3, base=0, source="test")


def put(path: Path, bdf: Bdf, offset: int, value: int) -> None:
    with path.open("r+b") as f:
        f.seek((bdf.bus << 20) | (bdf.device << 15) | (bdf.function << 12) | offset)
        f.write(struct.pack("<I", value))


@pytest.fixture
def window_file(tmp_path: Path) -> Path:
    path = tmp_path / "ecam"
    with path.open("wb") as f:
        f.truncate(4 * MIB)  # sparse: buses 0-3
    return path


@pytest.fixture
def accessor(window_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EcamAccessor]:
    """The accessor's own open() on the file. The windows come from WINDOW
    instead of this machine's MCFG (mcfg.py's job, tests/test_mcfg.py), and
    CFGBENCH_FORBID_RAW is lifted for this test alone: the accessor is raw by
    kind, but its /dev/mem here is an ordinary file (and conftest's audit hook
    refuses the real /dev/mem and /dev/port in this process whatever happens)."""
    monkeypatch.setattr(ecam, "read_ecam_windows", lambda: [WINDOW])
    monkeypatch.delenv(FORBID_RAW_ENV)
    mmio = EcamAccessor(dev_mem=window_file)
    mmio.open()
    yield mmio
    mmio.close()


def test_open_refuses_while_the_guard_is_set(window_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecam, "read_ecam_windows", lambda: pytest.fail("windows read before the guard refused"))
    with pytest.raises(CfgbenchError, match="forbidden in this environment"):
        EcamAccessor(dev_mem=window_file).open()


def test_open_names_a_missing_device_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecam, "read_ecam_windows", lambda: [WINDOW])
    monkeypatch.delenv(FORBID_RAW_ENV)
    with pytest.raises(CfgbenchError, match=f"{tmp_path / 'no-mem'} does not exist"):
        EcamAccessor(dev_mem=tmp_path / "no-mem").open()


def mapped_lengths(mmio: EcamAccessor) -> list[int]:
    return [length for _, length in mmio._mappings]


def test_a_single_read_maps_one_page(window_file: Path, accessor: EcamAccessor) -> None:
    bdf = Bdf(0, 2, 3, 1)
    put(window_file, bdf, 0x40, 0x1234ABCD)
    assert accessor.read(bdf, 0x40, 4) == 0x1234ABCD
    assert accessor.read(bdf, 0x42, 2) == 0x1234
    assert mapped_lengths(accessor) == [PAGE_BYTES]


def test_a_scan_maps_its_bus_range_once(window_file: Path, accessor: EcamAccessor) -> None:
    scanned = [Bdf(0, bus, device, 0) for bus in (2, 3) for device in range(32)]
    put(window_file, Bdf(0, 3, 31, 0), 0, 0x0D578086)
    put(window_file, Bdf(0, 2, 0, 0), 0, 0x10D38086)
    accessor.prepare_targets(scanned)
    assert mapped_lengths(accessor) == [2 * MIB]  # buses 2-3, one mapping
    targets = [accessor.target(bdf, 0, 4, 0) for bdf in scanned]
    assert len(targets) == 64
    assert accessor.read(Bdf(0, 3, 31, 0), 0, 4) == 0x0D578086
    assert accessor.read(Bdf(0, 2, 0, 0), 0, 4) == 0x10D38086
    assert mapped_lengths(accessor) == [2 * MIB]  # reads inside the range map nothing more
    accessor.read(Bdf(0, 1, 0, 0), 0, 4)  # outside it: its own page
    assert mapped_lengths(accessor) == [2 * MIB, PAGE_BYTES]


def test_one_function_keeps_its_page(accessor: EcamAccessor) -> None:
    accessor.prepare_targets([Bdf(0, 1, 0, 0)] * 3)
    accessor.target(Bdf(0, 1, 0, 0), 0, 4, 0)
    assert mapped_lengths(accessor) == [PAGE_BYTES]


def test_a_scan_outside_the_window_is_refused_before_mapping(accessor: EcamAccessor) -> None:
    with pytest.raises(CfgbenchError, match="outside every ECAM window"):
        accessor.prepare_targets([Bdf(0, 0, 0, 0), Bdf(0, 1, 0, 0)])
    assert mapped_lengths(accessor) == []


def test_close_unmaps_everything(accessor: EcamAccessor) -> None:
    accessor.prepare_targets([Bdf(0, 1, 0, 0), Bdf(0, 3, 0, 0)])
    accessor.target(Bdf(0, 1, 0, 0), 0, 4, 0)
    accessor.close()
    assert mapped_lengths(accessor) == [] and accessor._bus_ranges == [] and accessor._fd == -1



def test_a_probes_planning_maps_its_bus_range_once(accessor: EcamAccessor, monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe reads every function of the window while planning: a page each would be 65,536
    mappings for 256 buses, past what a process may hold (vm.max_map_count, 65,530 by default)."""
    from cfgbench import planner as planning
    from cfgbench.checks import Reference
    from cfgbench.plan import PlanRequest

    monkeypatch.setattr(planning, "_default_scan_buses", lambda: range(1, 4))
    planner = planning._Planner(PlanRequest(["mmio"], [], ["probe"]), accessor, Reference(None), print)
    [cold, _hot] = planner.probes("probe")
    assert len(cold.reads) == 3 * 256 and mapped_lengths(accessor) == [3 * MIB]
