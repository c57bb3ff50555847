"""Which reads each workload makes (docs/design.md, "Result files", names each); checks.py checks their values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cfgbench.address import Bdf
from cfgbench.capabilities import ReadFn
from cfgbench.errors import CfgbenchError
from cfgbench.pci_regs import (ALL_ONES, EXTENDED_CONFIG_SIZE, HEADER_DWORD, HEADER_END, HEADER_MULTI_FUNCTION,
                               LEGACY_CONFIG_SIZE, VENDOR_ID)
from cfgbench.schema import READ_WORKLOAD, SPLIT_WORKLOAD

SCAN, SWEEP, PROBE, PEER_PROBE, SEQUENCE, HOT = "scan", "sweep", "probe", "peer-probe", "sequence", "hot"
WORKLOADS = (READ_WORKLOAD, SCAN, SWEEP, SPLIT_WORKLOAD, PROBE, PEER_PROBE, SEQUENCE)
# devfn steps: every function; arch/x86/pci/legacy.c pcibios_scan_specific_bus() probes every 8th.
PROBE_STRIDES = {PROBE: 1, PEER_PROBE: 8}
# Paired by round with a partner (a split with its read, a pass with its hot register): `auto` interleaves them.
PAIRED_WORKLOADS = (SPLIT_WORKLOAD, PROBE, PEER_PROBE, SEQUENCE)
ABSENT = ALL_ONES[4]
ALL_BUSES = range(0x100)

# Allowed(offset) -> bool: where a sweep may read (capabilities.SpaceMap).
OffsetFilter = Callable[[int], bool]


@dataclass(frozen=True)
class SweepRegion:
    name: str
    start: int
    end: int  # exclusive


SWEEP_REGIONS = (
    SweepRegion("header", 0x000, HEADER_END),
    SweepRegion("capabilities", HEADER_END, LEGACY_CONFIG_SIZE),
    SweepRegion("extended", LEGACY_CONFIG_SIZE, EXTENDED_CONFIG_SIZE),
)


def parse_bus_range(text: str) -> range:
    """'00-ff', '0-3' or '1a' (hex, as lspci prints buses)."""
    first, _, last = text.partition("-")
    try:
        start, end = int(first, 16), int(last or first, 16)
    except ValueError:
        raise CfgbenchError(f"{text!r} is not a bus range", "write it as 00-ff (hex)") from None
    if not 0 <= start <= end <= 0xFF:
        raise CfgbenchError(f"bus range {text!r} is outside 00-ff or reversed", "write it as 00-ff (hex)")
    return range(start, end + 1)


def scan_label(domain: int, buses: range) -> str:
    return f"{domain:04x}:{buses.start:02x}-{buses.stop - 1:02x}"


def scan_reads(read: ReadFn, domain: int, buses: Iterable[int]) -> Iterator[tuple[Bdf, int, int]]:
    """pci_scan_slot's reads of each bus as (function, offset, value): vendor, header type, the other functions."""
    for bus in buses:
        for device in range(32):
            bdf = Bdf(domain, bus, device, 0)
            vendor = read(bdf, VENDOR_ID, 4)
            yield bdf, VENDOR_ID, vendor
            if vendor in (ABSENT, 0):
                continue
            header = read(bdf, HEADER_DWORD, 4)
            yield bdf, HEADER_DWORD, header
            if header >> 16 & HEADER_MULTI_FUNCTION:
                for function in range(1, 8):
                    other = Bdf(domain, bus, device, function)
                    yield other, VENDOR_ID, read(other, VENDOR_ID, 4)


def probe_functions(domain: int, buses: Iterable[int], stride: int) -> Iterator[Bdf]:
    """Every stride-th devfn of each bus: each function is its own 4 KiB of ECAM, a page untouched since the last pass."""
    for bus in buses:
        for devfn in range(0, 256, stride):
            yield Bdf(domain, bus, devfn >> 3, devfn & 7)


def present(value: int) -> bool:
    """A vendor/device dword of a function that answers."""
    return value not in (ABSENT, 0)


def sweep_offsets(region: SweepRegion, space_size: int, allowed: OffsetFilter) -> list[int]:
    """The dwords of one region that the method reaches and may read."""
    return [o for o in range(region.start, min(region.end, space_size), 4) if allowed(o)]


def sweep_label(bdf: Bdf, region: SweepRegion, offsets: list[int]) -> str:
    return f"{bdf} {region.name} {offsets[0]:#05x}-{offsets[-1] + 3:#05x}"
