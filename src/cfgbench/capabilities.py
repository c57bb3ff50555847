"""Which config-space offsets a read may touch: the header and the advertised capabilities (docs/safety.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cfgbench.address import Bdf, check_access
from cfgbench.errors import CfgbenchError, no_device
from cfgbench.pci_regs import (ALL_ONES, CAP_FLAGS, CAP_HEADER_BYTES, CAP_KINDS, CAP_POINTER_BY_LAYOUT, CAP_VENDOR,
                               COMMON_HEADER_END, ECAP_DVSEC, ECAP_KINDS, ECAP_VENDOR, EXTENDED_CONFIG_SIZE, EXTENDED_START,
                               FIRST_CAP, HEADER_END_BY_LAYOUT, HEADER_LAYOUT_MASK, HEADER_TYPE, LEGACY_CONFIG_SIZE, STATUS,
                               STATUS_CAP_LIST, VENDOR_ID)

ReadFn = Callable[[Bdf, int, int], int]  # read(bdf, offset, width) -> value: every walk and check reads through one

ANY_OFFSET_FLAG = "--allow-any-offset"
# Linux's bounds on the walks (drivers/pci/pci.c); the visited sets catch loops first.
STANDARD_TTL = 48
EXTENDED_TTL = (EXTENDED_CONFIG_SIZE - EXTENDED_START) // 8
_VARIABLE_BOUND = {False: 0x40, True: 0x100}  # most bytes of a pci_regs.VARIABLE structure, standard / extended


@dataclass(frozen=True, order=True)
class Region:
    """Config-space bytes [start, end) and what they are."""

    start: int
    end: int
    name: str

    def overlaps(self, offset: int, width: int) -> bool:
        return offset < self.end and self.start < offset + width

    def __str__(self) -> str:
        return f"{self.start:#05x}-{self.end - 1:#05x} {self.name}"


@dataclass(frozen=True)
class Capability:
    offset: int
    cap_id: int
    extended: bool

    @property
    def label(self) -> str:
        if self.extended:
            return f"extended capability {self.cap_id:#06x}"
        return f"capability {self.cap_id:#04x}"


@dataclass(frozen=True)
class SpaceMap:
    """The regions a read may touch, and the claimed regions it may not."""

    bdf: Bdf
    allowed: tuple[Region, ...]
    refused: tuple[Region, ...]

    def why_refused(self, offset: int, width: int) -> str:
        """'' when [offset, offset + width) lies in allowed regions only, else why not."""
        for region in self.refused:
            if region.overlaps(offset, width):
                return f"{region.name} ({region.start:#05x}-{region.end - 1:#05x})"
        if not _covered(offset, offset + width, self.allowed):
            return "space that neither the header nor an advertised capability claims"
        return ""


def _covered(start: int, end: int, regions: Iterable[Region]) -> bool:
    """Whether the union of regions covers [start, end)."""
    for region in sorted(regions):
        if region.start <= start < region.end:
            start = region.end
        if start >= end:
            return True
    return start >= end


def _vendor_regions(read: ReadFn, bdf: Bdf, cap: Capability, list_end: int) -> list[tuple[Region, bool]]:
    """Its header (what the walk reads, laid out by the specification) is allowed, its body refused."""
    if cap.extended:
        # VSEC and DVSEC header 1: length in bits 31:20 of the dword after the header.
        header_end, length = cap.offset + 8, read(bdf, cap.offset + 4, 4) >> 20
    else:
        header_end, length = cap.offset + 3, read(bdf, cap.offset + 2, 1)  # ID, next, length
    where = f"{cap.label} at {cap.offset:#x}"
    header_end = min(header_end, list_end)
    body_end = min(max(cap.offset + length, header_end), list_end)
    regions = [(Region(cap.offset, header_end, f"header of vendor-specific {where}"), True)]
    if body_end > header_end:
        regions.append((Region(header_end, body_end, f"body of vendor-specific {where}"), False))
    return regions


def _header_layout(read: ReadFn, bdf: Bdf) -> int:
    if read(bdf, VENDOR_ID, 2) == ALL_ONES[2]:
        raise no_device(bdf)
    return read(bdf, HEADER_TYPE, 1) & HEADER_LAYOUT_MASK


def standard_capabilities(read: ReadFn, bdf: Bdf, space_size: int, layout: int | None = None) -> list[Capability]:
    """The standard list in list order, as Linux walks it; `layout`: the header type, when already read."""
    if layout is None:
        layout = _header_layout(read, bdf)
    limit = min(space_size, LEGACY_CONFIG_SIZE)
    if layout not in CAP_POINTER_BY_LAYOUT or not read(bdf, STATUS, 2) & STATUS_CAP_LIST:
        return []
    found: list[Capability] = []
    seen: set[int] = set()
    pos = read(bdf, CAP_POINTER_BY_LAYOUT[layout], 1)
    while len(found) < STANDARD_TTL:
        pos &= 0xFC
        if pos < FIRST_CAP or pos in seen or pos + CAP_HEADER_BYTES > limit:
            break
        seen.add(pos)
        word = read(bdf, pos, 2)
        if word & 0xFF == 0xFF:  # the device is gone
            break
        found.append(Capability(pos, word & 0xFF, extended=False))
        pos = word >> 8
    return found


def extended_capabilities(read: ReadFn, bdf: Bdf, space_size: int) -> list[Capability]:
    """The extended list from 0x100 in list order."""
    if space_size < EXTENDED_START + CAP_HEADER_BYTES:
        return []
    # Linux's pci_ext_cfg_is_aliased: a device that ignores the upper offset bits shows its header again.
    if read(bdf, EXTENDED_START, 4) == read(bdf, VENDOR_ID, 4):
        return []
    found: list[Capability] = []
    seen: set[int] = set()
    pos = EXTENDED_START
    while len(found) < EXTENDED_TTL:
        if pos < EXTENDED_START or pos in seen or pos + CAP_HEADER_BYTES > space_size:
            break
        seen.add(pos)
        header = read(bdf, pos, 4)
        if header in (0, ALL_ONES[4]):
            break
        found.append(Capability(pos, header & 0xFFFF, extended=True))
        pos = (header >> 20) & 0xFFC
    return found


def _known_region(read: ReadFn, bdf: Bdf, cap: Capability, next_start: int, list_end: int) -> Region:
    kind = (ECAP_KINDS if cap.extended else CAP_KINDS).get(cap.cap_id)
    rule = kind.size if kind else None
    if rule is None:
        size = CAP_HEADER_BYTES
    elif isinstance(rule, int):
        size = rule
    elif callable(rule):
        size = rule(read(bdf, cap.offset + CAP_FLAGS, 2))
    else:
        size = min(next_start - cap.offset, _VARIABLE_BOUND[cap.extended])
    end = min(cap.offset + size, next_start, list_end)
    if kind is None:
        return Region(cap.offset, end, f"unknown {cap.label}, header only")
    return Region(cap.offset, end, f"{kind.description} ({cap.label})" + (", header only" if rule is None else ""))


def _list_regions(read: ReadFn, bdf: Bdf, caps: Sequence[Capability], list_end: int) -> list[tuple[Region, bool]]:
    """Each capability's regions, each with whether reads of it are allowed."""
    regions: list[tuple[Region, bool]] = []
    starts = [c.offset for c in caps]
    for cap in caps:
        vendor_ids = (ECAP_VENDOR, ECAP_DVSEC) if cap.extended else (CAP_VENDOR,)
        if cap.cap_id in vendor_ids:
            regions += _vendor_regions(read, bdf, cap, list_end)
        else:
            next_start = min((s for s in starts if s > cap.offset), default=list_end)
            regions.append((_known_region(read, bdf, cap, next_start, list_end), True))
    return regions


def map_config_space(read: ReadFn, bdf: Bdf, space_size: int) -> SpaceMap:
    """Walk both lists once; the map answers any number of offset questions."""
    layout = _header_layout(read, bdf)
    header_end = min(HEADER_END_BY_LAYOUT.get(layout, COMMON_HEADER_END), space_size)
    header_name = (f"standard header (type {layout})" if layout in HEADER_END_BY_LAYOUT
                   else f"common header (unknown type {layout:#x})")
    regions = [(Region(0, header_end, header_name), True)]
    if space_size >= EXTENDED_START + CAP_HEADER_BYTES:
        regions.append((Region(EXTENDED_START, EXTENDED_START + CAP_HEADER_BYTES, "extended capability list head"), True))
    standard = standard_capabilities(read, bdf, space_size, layout)
    regions += _list_regions(read, bdf, standard, min(space_size, LEGACY_CONFIG_SIZE))
    regions += _list_regions(read, bdf, extended_capabilities(read, bdf, space_size), space_size)
    allowed = tuple(sorted(r for r, ok in regions if ok))
    refused = tuple(sorted(r for r, ok in regions if not ok))
    return SpaceMap(bdf, allowed, refused)


def check_offset_allowed(read: ReadFn, bdf: Bdf, offset: int, width: int, space_size: int) -> None:
    check_access(offset, width, space_size)
    space = map_config_space(read, bdf, space_size)
    why = space.why_refused(offset, width)
    if why:
        allowed = ", ".join(str(r) for r in space.allowed)
        raise CfgbenchError(f"offset {offset:#x} (width {width}) of {bdf} is in {why}, where a read may have side effects",
                            f"read the header or an advertised capability ({allowed}), or add {ANY_OFFSET_FLAG} if you know "
                            "this device's registers are safe to read")
