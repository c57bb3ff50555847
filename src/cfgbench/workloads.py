"""Which reads each workload makes: one register (read), the kernel's
enumeration of a bus range (scan), every dword of a function (sweep), one
register and each of its accesses alone (split)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cfgbench.access.base import ConfigAccessor
from cfgbench.address import LEGACY_CONFIG_SIZE, Bdf, format_target
from cfgbench.errors import CfgbenchError
from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.measure import Measurement, ReadSpec, disagreement

WORKLOADS = ("read", "scan", "sweep", "split")
SPLIT = "split"
VENDOR_DWORD = 0x00
HEADER_DWORD = 0x0C  # the header type is byte 0x0E
MULTI_FUNCTION = 0x80
ABSENT = 0xFFFF_FFFF
HEADER_END = 0x40
ALL_BUSES = range(0x100)

# Allowed(bdf, offset) -> bool: where a sweep may read (see capabilities.py).
OffsetFilter = Callable[[Bdf, int], bool]


@dataclass(frozen=True)
class SweepRegion:
    name: str
    start: int
    end: int  # exclusive


SWEEP_REGIONS = (
    SweepRegion("header", 0x000, HEADER_END),
    SweepRegion("capabilities", HEADER_END, LEGACY_CONFIG_SIZE),
    SweepRegion("extended", LEGACY_CONFIG_SIZE, 0x1000),
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


def scan_reads(accessor: ConfigAccessor, domain: int, buses: Iterable[int]) -> list[ReadSpec]:
    """The reads of the kernel's pci_scan_slot over each bus: the vendor/device
    dword of function 0 of every device; for a present device the header type,
    and the other seven functions when it is multi-function."""
    reads: list[ReadSpec] = []

    def read(bdf: Bdf, offset: int) -> int:
        value = accessor.read(bdf, offset, 4)
        reads.append(ReadSpec(str(bdf), offset, 4, value))
        return value

    for bus in buses:
        for device in range(32):
            bdf = Bdf(domain, bus, device, 0)
            if read(bdf, VENDOR_DWORD) in (ABSENT, 0):
                continue
            if read(bdf, HEADER_DWORD) >> 16 & MULTI_FUNCTION:
                for function in range(1, 8):
                    read(Bdf(domain, bus, device, function), VENDOR_DWORD)
    return reads


def scan_measurement(method: str, accessor: ConfigAccessor, reference: ConfigAccessor | None, domain: int, buses: range) -> Measurement:
    reads = scan_reads(accessor, domain, buses)
    if reference is not None:
        _check_present_against(reference, reads, accessor.name)
    label = f"{domain:04x}:{buses.start:02x}-{buses.stop - 1:02x}"
    present = sum(1 for r in reads if r.offset == VENDOR_DWORD and r.expected not in (ABSENT, 0))
    metadata = {"cfgbench_scan_functions": present, **accessor.target_metadata(Bdf(domain, buses.start, 0, 0))}
    return Measurement(method, "scan", label, reads, metadata)


def split_measurements(method: str, accessor: ConfigAccessor, bdf: Bdf, offset: int, width: int, value: int,
                       metadata: dict[str, str], note: Callable[[str], None]) -> list[Measurement]:
    """The whole read of one register, and each access it is made of timed
    alone (the method's split_parts): one benchmark per access, named by the
    read's target and the access, or by the function alone for an access that
    does not depend on the offset (the kernel floor). Each access is checked
    first with one untimed read; one that does not return what it must is not
    timed, and `note` says why."""
    read = Measurement.single_read(method, bdf, offset, width, value, metadata)
    planned = [read]
    for part in accessor.split_parts(bdf, offset, width, value):
        got = accessor.read(bdf, part.offset, part.width, part.access)
        if got != part.expected:
            why = part.unverified or f"it read {got:#x} where {part.expected:#x} was expected: not timed"
            note(f"{method} {part.access} of {read.label}: {why}")
            continue
        label = str(bdf) if part.per_device else format_target(bdf, offset, width)
        spec = ReadSpec(str(bdf), part.offset, part.width, part.expected, part.access)
        planned.append(Measurement(method, SPLIT, label, [spec], {**metadata, **part.describe()},
                                   register=not part.per_device))
    return planned


def _check_present_against(reference: ConfigAccessor, reads: list[ReadSpec], method: str) -> None:
    """Functions the kernel enumerated must read the same through the method."""
    enumerated = reference.functions() if isinstance(reference, SysfsAccessor) else set()
    for spec in reads:
        if spec.bdf not in enumerated:
            continue
        kernel_value = reference.read(spec.bdf, spec.offset, spec.width)
        if kernel_value != spec.expected:
            raise disagreement(method, spec.expected, kernel_value, spec.bdf, spec.offset, spec.width)


def sweep_measurements(method: str, accessor: ConfigAccessor, reference: ConfigAccessor | None, bdf: Bdf, allowed: OffsetFilter) -> list[Measurement]:
    """One benchmark per region of the function's config space that the
    method reaches, over the dwords the offset filter allows."""
    size = accessor.space_size(bdf)
    measurements = []
    for region in SWEEP_REGIONS:
        offsets = [o for o in range(region.start, min(region.end, size), 4) if allowed(bdf, o)]
        if not offsets:
            continue
        reads = [ReadSpec(str(bdf), o, 4, _checked_value(accessor, reference, bdf, o)) for o in offsets]
        label = f"{bdf} {region.name} {offsets[0]:#05x}-{offsets[-1] + 3:#05x}"
        metadata = {"cfgbench_sweep_region": region.name, **accessor.target_metadata(bdf)}
        measurements.append(Measurement(method, "sweep", label, reads, metadata))
    if not measurements:
        raise CfgbenchError(f"{accessor.name} may read no dword of {bdf}", "add --allow-any-offset, or pick another device")
    return measurements


def _checked_value(accessor: ConfigAccessor, reference: ConfigAccessor | None, bdf: Bdf, offset: int) -> int:
    """The method's value, refused only if it stays different from the kernel's
    over a second look (a status or counter register may change between reads:
    those are timed, and their changes show as mismatches)."""
    value = accessor.read(bdf, offset, 4)
    if reference is None or reference.read(bdf, offset, 4) == value:
        return value
    again, kernel_again = accessor.read(bdf, offset, 4), reference.read(bdf, offset, 4)
    if again == value and kernel_again != value:
        raise disagreement(accessor.name, value, kernel_again, bdf, offset, 4)
    return again
