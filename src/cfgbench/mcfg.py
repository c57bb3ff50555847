"""ECAM windows from the ACPI MCFG table, or from /proc/iomem when it is absent."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cfgbench.address import Bdf, ecam_offset
from cfgbench.errors import CfgbenchError

MCFG_PATH = Path("/sys/firmware/acpi/tables/MCFG")
IOMEM_PATH = Path("/proc/iomem")

ACPI_HEADER = struct.Struct("<4sIBB6s8sI4sI")  # 36 bytes
MCFG_RESERVED = 8
MCFG_ENTRY = struct.Struct("<QHBB4x")  # base, segment, start bus, end bus
MCFG_ENTRIES_START = ACPI_HEADER.size + MCFG_RESERVED
BUS_SHIFT = 20  # each bus owns 1 MiB of ECAM space

_IOMEM_ECAM = re.compile(r"^\s*(?P<start>[0-9a-f]+)-(?P<end>[0-9a-f]+) : PCI (?:ECAM|MMCONFIG) "
                         r"(?P<segment>[0-9a-f]+) \[bus (?P<first>[0-9a-f]{2})-(?P<last>[0-9a-f]{2})\]", re.MULTILINE)


@dataclass(frozen=True)
class EcamWindow:
    """An ECAM region; `base` is bus 0's address, as Linux counts it, even where the window starts at a later bus."""

    segment: int
    start_bus: int
    end_bus: int
    base: int
    source: str = "MCFG"

    def covers(self, bdf: Bdf) -> bool:
        return bdf.domain == self.segment and self.start_bus <= bdf.bus <= self.end_bus

    def function_address(self, bdf: Bdf) -> int:
        return self.base + ecam_offset(bdf, 0)

    def __str__(self) -> str:
        return f"segment {self.segment} buses {self.start_bus:02x}-{self.end_bus:02x} at {self.base:#x} ({self.source})"


def parse_mcfg(table: bytes) -> list[EcamWindow]:
    """Checking signature, length and checksum."""
    if len(table) < MCFG_ENTRIES_START:
        raise CfgbenchError(f"the MCFG table is truncated ({len(table)} bytes, the header alone is {MCFG_ENTRIES_START})",
                            "check the firmware's ACPI tables, or use --method=kernel")
    signature, length, *_ = ACPI_HEADER.unpack_from(table)
    if signature != b"MCFG":
        raise CfgbenchError(f"the table's signature is {signature!r}, not b'MCFG'",
                            "point cfgbench at /sys/firmware/acpi/tables/MCFG")
    if length != len(table):
        raise CfgbenchError(f"the MCFG table says it is {length} bytes but {len(table)} were read",
                            "the table is truncated or corrupt; use --method=kernel")
    if sum(table) & 0xFF:
        raise CfgbenchError("the MCFG table's checksum is wrong", "the firmware's table is corrupt; use --method=kernel")
    body = len(table) - MCFG_ENTRIES_START
    if body % MCFG_ENTRY.size:
        raise CfgbenchError(f"the MCFG table has {body} bytes of entries, not a multiple of {MCFG_ENTRY.size}",
                            "the table is corrupt; use --method=kernel")
    windows = []
    for base, segment, start_bus, end_bus in MCFG_ENTRY.iter_unpack(table[MCFG_ENTRIES_START:]):
        if end_bus < start_bus:
            raise CfgbenchError(f"MCFG entry for segment {segment} ends at bus {end_bus:#x} before it starts at {start_bus:#x}",
                                "the table is corrupt; use --method=kernel")
        windows.append(EcamWindow(segment, start_bus, end_bus, base, "MCFG"))
    return windows


@dataclass(frozen=True)
class IomemEcam:
    """A "PCI ECAM" or "PCI MMCONFIG" line of /proc/iomem: a window the kernel uses (its address 0 unless root)."""

    start: int
    segment: int
    first_bus: int
    last_bus: int


def iomem_ecam_entries(text: str) -> list[IomemEcam]:
    return [IomemEcam(int(m["start"], 16), int(m["segment"], 16), int(m["first"], 16), int(m["last"], 16))
            for m in _IOMEM_ECAM.finditer(text)]


def parse_iomem(text: str) -> list[EcamWindow]:
    """Where this user sees their addresses."""
    return [EcamWindow(e.segment, e.first_bus, e.last_bus, e.start - (e.first_bus << BUS_SHIFT), "/proc/iomem")
            for e in iomem_ecam_entries(text) if e.start != 0]


def read_ecam_windows(mcfg_path: Path = MCFG_PATH, iomem_path: Path = IOMEM_PATH) -> list[EcamWindow]:
    """MCFG first, /proc/iomem as the fallback."""
    try:
        table = mcfg_path.read_bytes()
    except FileNotFoundError:
        table = None
    except PermissionError:
        raise CfgbenchError(f"cannot read {mcfg_path} (permission denied)", "run as root (sudo)") from None
    if table is not None:
        return parse_mcfg(table)
    try:
        windows = parse_iomem(iomem_path.read_text())
    except OSError:
        windows = []
    if not windows:
        raise CfgbenchError("this machine has no ACPI MCFG table and /proc/iomem shows no PCI ECAM window",
                            "ECAM is not available here; use --method=pio or --method=kernel")
    return windows


def ecam_window_for(bdf: Bdf, windows: list[EcamWindow]) -> EcamWindow:
    for window in windows:
        if window.covers(bdf):
            return window
    listed = "; ".join(str(w) for w in windows) or "none"
    raise CfgbenchError(f"{bdf} is outside every ECAM window (windows: {listed})",
                        "pick a device on a covered bus, or use --method=kernel")
