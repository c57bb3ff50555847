from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import example, given
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


def acpi_says_valid(table: bytes) -> list[tuple[int, int, int, int]] | None:
    """The entries of a well-formed MCFG, or None, by the ACPI layout alone:
    a 36-byte header ('MCFG', its length, a checksum that makes every byte
    sum to 0), 8 reserved bytes, then 16-byte entries whose end bus is not
    before their start bus."""
    if len(table) < 44 or table[:4] != b"MCFG" or int.from_bytes(table[4:8], "little") != len(table):
        return None
    if sum(table) % 256 or (len(table) - 44) % 16:
        return None
    entries = [(int.from_bytes(table[i:i + 8], "little"), int.from_bytes(table[i + 8:i + 10], "little"), table[i + 10],
                table[i + 11]) for i in range(44, len(table), 16)]
    return entries if all(start <= end for _, _, start, end in entries) else None


@st.composite
def tables_with_one_fault(draw: st.DrawFn) -> bytes:
    """A well-formed table with at most one byte changed, its checksum fixed
    again or not, or cut short: most such tables are corrupt, some valid.
    End buses fall near their start bus, on either side."""
    starts = draw(st.lists(st.integers(0, 0xFF), max_size=3))
    entries = [(draw(st.integers(0, 2**64 - 1)), draw(st.integers(0, 0xFFFF)), start,
                min(0xFF, max(0, start + draw(st.integers(-2, 2))))) for start in starts]
    table = bytearray(build_mcfg(entries))
    fault = draw(st.sampled_from(["none", "byte", "byte, checksum fixed", "cut", "ragged"]))
    if fault.startswith("byte"):
        # The length field's bytes as often as any other byte of the table.
        where = draw(st.one_of(st.integers(4, 7), st.integers(0, len(table) - 1)))
        table[where] = draw(st.integers(0, 0xFF))
    elif fault == "cut":
        del table[draw(st.integers(0, len(table) - 1)):]
    elif fault == "ragged":  # bytes that are no whole entry, the length saying so
        table += bytes(draw(st.integers(1, 15)))
        table[4:8] = len(table).to_bytes(4, "little")
    if fault in ("byte, checksum fixed", "ragged"):
        table[9] = (table[9] - sum(table)) & 0xFF
    return bytes(table)


@given(st.one_of(st.binary(max_size=200), tables_with_one_fault()))
@example(build_mcfg([(0xB000_0000, 0, 0x10, 0x0F)]))  # ends one bus before it starts
@example(build_mcfg([(0xB000_0000, 0, 0, 0xFF)], length=36))  # says it is shorter than it is
def test_arbitrary_bytes_give_the_table_acpi_describes_or_a_clear_error(data: bytes) -> None:
    expected = acpi_says_valid(data)
    if expected is None:
        with pytest.raises(CfgbenchError):
            parse_mcfg(data)
        return
    assert [(w.base, w.segment, w.start_bus, w.end_bus) for w in parse_mcfg(data)] == expected


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
