from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError
from cfgbench.mcfg import EcamWindow, ecam_window_for, parse_iomem, parse_mcfg, read_ecam_windows


def build_mcfg(entries: list[tuple[int, int, int, int]], *, fix_checksum: bool = True, length: int | None = None) -> bytes:
    """An MCFG table as firmware lays it out: ACPI header, 8 reserved bytes, 16-byte entries."""
    body = b"".join(struct.pack("<QHBB4x", base, seg, start, end) for base, seg, start, end in entries)
    total = 36 + 8 + len(body)
    header = struct.pack("<4sIBB6s8sI4sI", b"MCFG", total if length is None else length, 1, 0, b"CFGBEN", b"TESTTABL", 1, b"TEST", 1)
    table = bytearray(header + bytes(8) + body)
    if fix_checksum:
        table[9] = (-sum(table)) & 0xFF
    return bytes(table)


def test_parses_several_entries() -> None:
    table = build_mcfg([(0xB000_0000, 0, 0, 0xFF), (0x3F00_0000_0000, 1, 0x80, 0x8F)])
    windows = parse_mcfg(table)
    assert windows == [
        EcamWindow(0, 0, 0xFF, 0xB000_0000),
        EcamWindow(1, 0x80, 0x8F, 0x3F00_0000_0000),
    ]


def test_start_bus_not_zero_keeps_base_as_bus_zero() -> None:
    # Linux (pci_mmcfg): the table's base is bus 0's, even if the window starts later.
    [window] = parse_mcfg(build_mcfg([(0xE000_0000, 0, 0x10, 0x1F)]))
    assert window.function_address(Bdf(0, 0x10, 0, 0)) == 0xE000_0000 + (0x10 << 20)
    assert window.function_address(Bdf(0, 0x12, 3, 1)) == 0xE000_0000 + (0x12 << 20 | 3 << 15 | 1 << 12)
    assert window.covers(Bdf(0, 0x1F, 0, 0))
    assert not window.covers(Bdf(0, 0x0F, 0, 0))
    with pytest.raises(CfgbenchError, match="outside every ECAM window"):
        ecam_window_for(Bdf(0, 0x20, 0, 0), [window])
    with pytest.raises(CfgbenchError, match="outside every ECAM window"):
        ecam_window_for(Bdf(1, 0x10, 0, 0), [window])


def test_bad_checksum_is_refused() -> None:
    table = bytearray(build_mcfg([(0xB000_0000, 0, 0, 0xFF)]))
    table[50] ^= 0x01
    with pytest.raises(CfgbenchError, match="checksum"):
        parse_mcfg(bytes(table))


def test_truncated_tables_are_refused() -> None:
    table = build_mcfg([(0xB000_0000, 0, 0, 0xFF)])
    with pytest.raises(CfgbenchError, match="truncated"):
        parse_mcfg(table[:20])
    with pytest.raises(CfgbenchError, match="says it is"):
        parse_mcfg(table[:-4])


def test_wrong_signature_and_ragged_entries() -> None:
    table = bytearray(build_mcfg([(0xB000_0000, 0, 0, 0xFF)]))
    table[0:4] = b"APIC"
    with pytest.raises(CfgbenchError, match="signature"):
        parse_mcfg(bytes(table))
    ragged = build_mcfg([], length=36 + 8 + 5, fix_checksum=False)[:44] + bytes(5)
    ragged = bytearray(ragged)
    ragged[9] = (-sum(ragged)) & 0xFF
    with pytest.raises(CfgbenchError, match="multiple"):
        parse_mcfg(bytes(ragged))


def test_end_bus_before_start_bus() -> None:
    with pytest.raises(CfgbenchError, match="before it starts"):
        parse_mcfg(build_mcfg([(0xB000_0000, 0, 0x20, 0x10)]))


@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_table_or_a_clear_error(data: bytes) -> None:
    try:
        windows = parse_mcfg(data)
    except CfgbenchError:
        return
    assert all(w.start_bus <= w.end_bus for w in windows)


@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(0, 0xFF)), max_size=6))
def test_valid_tables_round_trip(entries: list[tuple[int, int, int, int]]) -> None:
    entries = [(b, s, min(a, z), max(a, z)) for b, s, a, z in entries]
    windows = parse_mcfg(build_mcfg(entries))
    assert [(w.base, w.segment, w.start_bus, w.end_bus) for w in windows] == entries


IOMEM = """\
00000000-00000fff : Reserved
b0000000-bfffffff : PCI ECAM 0000 [bus 00-ff]
  b0000000-bfffffff : Reserved
e0100000-e01fffff : PCI MMCONFIG 0001 [bus 01-01]
"""


def test_iomem_fallback_lines() -> None:
    windows = parse_iomem(IOMEM)
    assert windows[0] == EcamWindow(0, 0, 0xFF, 0xB000_0000, "/proc/iomem")
    # The iomem line starts at the first bus; the base is bus 0's.
    assert windows[1] == EcamWindow(1, 1, 1, 0xE010_0000 - (1 << 20), "/proc/iomem")


def test_iomem_hidden_addresses_are_ignored() -> None:
    assert parse_iomem("00000000-00000000 : PCI ECAM 0000 [bus 00-ff]\n") == []


def test_read_prefers_mcfg_then_iomem(tmp_path: Path) -> None:
    mcfg = tmp_path / "MCFG"
    iomem = tmp_path / "iomem"
    iomem.write_text(IOMEM)
    assert read_ecam_windows(mcfg, iomem)[0].source == "/proc/iomem"
    mcfg.write_bytes(build_mcfg([(0xC000_0000, 0, 0, 0x3F)]))
    assert read_ecam_windows(mcfg, iomem) == [EcamWindow(0, 0, 0x3F, 0xC000_0000)]
    mcfg.unlink()
    iomem.write_text("00000000-00000fff : Reserved\n")
    with pytest.raises(CfgbenchError, match="no ACPI MCFG"):
        read_ecam_windows(mcfg, iomem)
