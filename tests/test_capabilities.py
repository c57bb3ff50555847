"""The capability walk that decides which offsets raw methods may read.

Config spaces are served by the fake backend from `lspci -xxxx` dumps: the
recorded Firecracker host, and synthetic spaces built here with capability
chains that are well formed, looped, or pointing where they must not."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from cli_helpers import HOST_DUMP
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cfgbench.access.fake import FakeAccessor
from cfgbench.address import Bdf, parse_bdf
from cfgbench.capabilities import (
    ANY_OFFSET_FLAG,
    ReadFn,
    Region,
    SpaceMap,
    check_offset_allowed,
    extended_capabilities,
    map_config_space,
    standard_capabilities,
)
from cfgbench.errors import CfgbenchError
from cfgbench.pci import list_functions

BDF = parse_bdf("0000:00:00.0")


# --------------------------------------------------------------------------- synthetic config spaces


class Space:
    """A config space to build byte by byte: header, then capability chains."""

    def __init__(self, size: int = 4096, header_type: int = 0, vendor: int = 0x1AF4) -> None:
        self.data = bytearray(size)
        self.put(0x00, vendor, 2)
        self.put(0x02, 0x1234, 2)
        self.put(0x0E, header_type, 1)

    def put(self, offset: int, value: int, width: int) -> Space:
        self.data[offset:offset + width] = value.to_bytes(width, "little")
        return self

    def chain(self, *caps: tuple[int, int, int], pointer_at: int = 0x34) -> Space:
        """Standard capabilities (offset, ID, next), listed from the pointer register."""
        self.put(0x06, 1 << 4, 2)  # status: capability list present
        self.put(pointer_at, caps[0][0] if caps else 0, 1)
        for offset, cap_id, next_offset in caps:
            self.put(offset, cap_id | next_offset << 8, 2)
        return self

    def ext_chain(self, *caps: tuple[int, int, int]) -> Space:
        """Extended capabilities (offset, ID, next), version 1, the first at 0x100."""
        for offset, cap_id, next_offset in caps:
            self.put(offset, cap_id | 1 << 16 | next_offset << 20, 4)
        return self


def lspci_text(spaces: dict[Bdf, bytes]) -> str:
    """The dump format of `lspci -D -xxxx`, which the fake backend reads."""
    lines = []
    for bdf, data in spaces.items():
        lines.append(f"{bdf} Unclassified device: synthetic")
        for row in range(0, len(data), 16):
            lines.append(f"{row:02x}: " + " ".join(f"{b:02x}" for b in data[row:row + 16]))
        lines.append("")
    return "\n".join(lines)


def fake_serving(directory: Path, data: bytes, bdf: Bdf = BDF) -> FakeAccessor:
    """An opened fake accessor over one function; close it when done."""
    dump = directory / "synthetic.lspci"
    dump.write_text(lspci_text({bdf: data}))
    accessor = FakeAccessor(dump)
    accessor.open()
    return accessor


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Space], FakeAccessor]]:
    opened: list[FakeAccessor] = []

    def _serve(space: Space) -> FakeAccessor:
        opened.append(fake_serving(tmp_path, bytes(space.data)))
        return opened[-1]

    yield _serve
    for accessor in opened:
        accessor.close()


def spans(regions: Sequence[Region]) -> list[tuple[int, int]]:
    return [(r.start, r.end) for r in regions]


def space_map(accessor: FakeAccessor, space_size: int | None = None) -> SpaceMap:
    return map_config_space(accessor.read, BDF, space_size or accessor.space_size(BDF))


# A PCIe endpoint with one of each kind of structure. The extended list is
# deliberately not in address order: lengths must follow addresses, not links.
def pcie_endpoint() -> Space:
    space = Space().chain(
        (0x40, 0x01, 0x48),  # power management: 8 bytes
        (0x48, 0x05, 0x60),  # MSI, 64-bit with per-vector masking: 24 bytes
        (0x60, 0x10, 0xA0),  # PCI Express version 2: 0x3C bytes
        (0xA0, 0x11, 0xB0),  # MSI-X: 12 bytes
        (0xB0, 0x09, 0xC0),  # vendor-specific, 16 bytes by its length byte
        (0xC0, 0x3F, 0xC8),  # an ID nobody defines: header only
        (0xC8, 0x08, 0x00),  # HyperTransport, variable: up to the end of the list
    )
    space.put(0x4A, 0x0180, 2).put(0x62, 0x0002, 2).put(0xB2, 0x10, 1)
    space.ext_chain(
        (0x100, 0x0001, 0x400),  # AER: 0x48 bytes
        (0x400, 0x0040, 0x148),  # undefined ID: header only
        (0x148, 0x0002, 0x300),  # VC, variable: up to the next structure (0x180)
        (0x300, 0x0015, 0x180),  # resizable BAR, variable and last: 0x100 at most
        (0x180, 0x0003, 0x200),  # device serial number: 12 bytes
        (0x200, 0x000B, 0x000),  # VSEC, 0x18 bytes by its own header
    )
    space.put(0x204, 0x1234 | 1 << 16 | 0x18 << 20, 4)
    return space


ENDPOINT_ALLOWED = [
    (0x000, 0x040), (0x040, 0x048), (0x048, 0x060), (0x060, 0x09C), (0x0A0, 0x0AC), (0x0B0, 0x0B3),
    (0x0C0, 0x0C4), (0x0C8, 0x100), (0x100, 0x104), (0x100, 0x148), (0x148, 0x180), (0x180, 0x18C),
    (0x200, 0x208), (0x300, 0x400), (0x400, 0x404),
]
ENDPOINT_REFUSED = [(0x0B3, 0x0C0), (0x208, 0x218)]


# --------------------------------------------------------------------------- well-formed devices


def test_an_endpoint_maps_to_its_header_and_advertised_structures(serve: Callable[[Space], FakeAccessor]) -> None:
    space = space_map(serve(pcie_endpoint()))
    assert spans(space.allowed) == ENDPOINT_ALLOWED
    assert spans(space.refused) == ENDPOINT_REFUSED
    names = {r.start: r.name for r in space.allowed if r.end - r.start > 4}
    assert "power management" in names[0x40] and "MSI" in names[0x48] and "PCI Express" in names[0x60]
    assert "advanced error reporting" in names[0x100] and "virtual channel" in names[0x148]
    assert all("vendor-specific" in r.name for r in space.refused)


@pytest.mark.parametrize(
    ("offset", "width"),
    [(0x00, 4), (0x3C, 4), (0x44, 2), (0x5C, 4), (0x98, 4), (0xB0, 2), (0xB2, 1), (0x100, 4), (0x144, 4),
     (0x17C, 4), (0x188, 4), (0x204, 4), (0x3FC, 4), (0x400, 4)],
)
def test_reads_inside_allowed_regions_pass(serve: Callable[[Space], FakeAccessor], offset: int, width: int) -> None:
    accessor = serve(pcie_endpoint())
    check_offset_allowed(accessor.read, BDF, offset, width, 4096)


@pytest.mark.parametrize(
    ("offset", "width", "why"),
    [
        (0x9C, 4, "neither"),  # between PCI Express and MSI-X
        (0xB0, 4, "vendor-specific"),  # the dword holds the first vendor-defined byte
        (0xB4, 4, "vendor-specific"),
        (0xC4, 4, "neither"),  # past the header of the unknown capability
        (0x18C, 4, "neither"),
        (0x208, 4, "vendor-specific"),
        (0x214, 2, "vendor-specific"),
        (0x404, 4, "neither"),
        (0xFFC, 4, "neither"),
    ],
)
def test_reads_outside_them_are_refused_with_the_flag_named(
    serve: Callable[[Space], FakeAccessor], offset: int, width: int, why: str
) -> None:
    accessor = serve(pcie_endpoint())
    with pytest.raises(CfgbenchError) as raised:
        check_offset_allowed(accessor.read, BDF, offset, width, 4096)
    line = raised.value.one_line()
    assert why in line and f"{offset:#x}" in line and ANY_OFFSET_FLAG in raised.value.fix
    assert "\n" not in line


def test_bad_width_or_alignment_is_the_usual_access_error(serve: Callable[[Space], FakeAccessor]) -> None:
    accessor = serve(pcie_endpoint())
    for offset, width, needle in ((0x2, 4, "aligned"), (0x0, 3, "width"), (0x1000, 4, "outside")):
        with pytest.raises(CfgbenchError, match=needle):
            check_offset_allowed(accessor.read, BDF, offset, width, 4096)


def test_the_walk_reads_only_what_it_then_allows(serve: Callable[[Space], FakeAccessor]) -> None:
    """The walk is itself a series of reads: each must be one the map allows."""
    accessor = serve(pcie_endpoint())
    reads: list[tuple[int, int]] = []

    def recording(bdf: Bdf, offset: int, width: int) -> int:
        reads.append((offset, width))
        return accessor.read(bdf, offset, width)

    space = map_config_space(recording, BDF, 4096)
    assert reads
    assert [r for r in reads if space.why_refused(*r)] == []


@pytest.mark.parametrize(("control", "size"), [(0x0000, 10), (0x0080, 14), (0x0100, 20), (0x0180, 24)])
def test_msi_length_follows_its_control_flags(serve: Callable[[Space], FakeAccessor], control: int, size: int) -> None:
    space = Space(256).chain((0x50, 0x05, 0x80), (0x80, 0x01, 0x00)).put(0x52, control, 2)
    assert (0x50, 0x50 + size) in spans(space_map(serve(space)).allowed)


def test_pcie_version_1_is_shorter(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256).chain((0x40, 0x10, 0x00)).put(0x42, 0x0041, 2)  # root port, version 1
    assert (0x40, 0x64) in spans(space_map(serve(space)).allowed)


def test_known_lengths_stop_at_the_next_structure(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256).chain((0x40, 0x10, 0x50), (0x50, 0x01, 0x00)).put(0x42, 0x0002, 2)
    assert spans(space_map(serve(space)).allowed)[1:] == [(0x40, 0x50), (0x50, 0x58)]


def test_a_vendor_capability_overlapping_another_wins(serve: Callable[[Space], FakeAccessor]) -> None:
    """Malformed overlap: refusal takes precedence over any allowed claim."""
    space = Space(256).chain((0x40, 0x09, 0x48), (0x48, 0x01, 0x00)).put(0x42, 0x20, 1)
    accessor = serve(space)
    with pytest.raises(CfgbenchError, match="vendor-specific"):
        check_offset_allowed(accessor.read, BDF, 0x4C, 4, 256)


# --------------------------------------------------------------------------- header layouts


def test_bridge_header_uses_0x34(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256, header_type=0x81).chain((0x40, 0x0D, 0x00))  # multi-function type 1
    assert spans(space_map(serve(space)).allowed) == [(0x00, 0x40), (0x40, 0x48)]


def test_cardbus_header_is_longer_and_points_from_0x14(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256, header_type=0x02).chain((0x80, 0x01, 0x00), pointer_at=0x14)
    assert spans(space_map(serve(space)).allowed) == [(0x00, 0x48), (0x80, 0x88)]


def test_unknown_header_type_allows_only_the_common_header(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256, header_type=0x05).chain((0x40, 0x01, 0x00))
    accessor = serve(space)
    assert spans(map_config_space(accessor.read, BDF, 256).allowed) == [(0x00, 0x10)]
    assert standard_capabilities(accessor.read, BDF, 256) == []


def test_no_capability_list_bit_means_no_capabilities(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256).chain((0x40, 0x01, 0x00)).put(0x06, 0x0000, 2)
    assert standard_capabilities(serve(space).read, BDF, 256) == []


def test_an_absent_function_is_a_clear_error(serve: Callable[[Space], FakeAccessor]) -> None:
    accessor = serve(Space(256, vendor=0xFFFF))
    with pytest.raises(CfgbenchError, match="no device answers"):
        map_config_space(accessor.read, BDF, 256)


# --------------------------------------------------------------------------- broken chains


def _std_offsets(space: Space, serve: Callable[[Space], FakeAccessor], size: int = 256) -> list[int]:
    return [c.offset for c in standard_capabilities(serve(space).read, BDF, size)]


def _ext_offsets(space: Space, serve: Callable[[Space], FakeAccessor]) -> list[int]:
    return [c.offset for c in extended_capabilities(serve(space).read, BDF, 4096)]


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ([(0x40, 0x01, 0x40)], [0x40]),  # points at itself
        ([(0x40, 0x01, 0x50), (0x50, 0x05, 0x40)], [0x40, 0x50]),  # a two-step loop
        ([(0x40, 0x01, 0x3C)], [0x40]),  # next below 0x40: into the header
        ([(0x40, 0x01, 0x53), (0x50, 0x05, 0x00)], [0x40, 0x50]),  # reserved low bits are masked
        ([(0x40, 0xFF, 0x50), (0x50, 0x05, 0x00)], []),  # ID 0xFF: the device is gone
    ],
)
def test_standard_chain_guards(serve: Callable[[Space], FakeAccessor], caps: list[tuple[int, int, int]],
                               expected: list[int]) -> None:
    assert _std_offsets(Space(256).chain(*caps), serve) == expected


def test_a_pointer_into_the_header_ends_the_list_at_once(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256).chain((0x40, 0x01, 0x00)).put(0x34, 0x20, 1)
    assert _std_offsets(space, serve) == []


def test_a_capability_in_the_last_dword_stays_inside_the_space(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space(256).chain((0xFC, 0x10, 0x00)).put(0x34, 0xFF, 1)  # 0xFF masks to 0xFC
    regions = spans(space_map(serve(space)).allowed)
    assert regions[-1] == (0xFC, 0x100)


def test_the_longest_standard_chain_visits_each_dword_once(serve: Callable[[Space], FakeAccessor]) -> None:
    offsets = list(range(0x40, 0x100, 4))
    caps = [(o, 0x04, offsets[(i + 1) % len(offsets)]) for i, o in enumerate(offsets)]  # ends in a loop
    assert _std_offsets(Space(256).chain(*caps), serve) == offsets


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ([(0x100, 0x0001, 0x100)], [0x100]),
        ([(0x100, 0x0001, 0x200), (0x200, 0x0003, 0x100)], [0x100, 0x200]),
        ([(0x100, 0x0001, 0x0F0)], [0x100]),  # next below 0x100
        ([(0x100, 0x0001, 0xFFF), (0xFFC, 0x0003, 0x000)], [0x100, 0xFFC]),  # reserved low bits masked
        ([(0x100, 0x0000, 0x140), (0x140, 0x0003, 0x000)], [0x100, 0x140]),  # a null capability links on
    ],
)
def test_extended_chain_guards(serve: Callable[[Space], FakeAccessor], caps: list[tuple[int, int, int]],
                               expected: list[int]) -> None:
    assert _ext_offsets(Space().ext_chain(*caps), serve) == expected


@pytest.mark.parametrize("header", [0x0000_0000, 0xFFFF_FFFF])
def test_an_empty_or_all_ones_extended_list_has_only_its_head(serve: Callable[[Space], FakeAccessor],
                                                             header: int) -> None:
    space = Space().put(0x100, header, 4)
    assert _ext_offsets(space, serve) == []
    assert spans(space_map(serve(space)).allowed) == [(0x00, 0x40), (0x100, 0x104)]


def test_an_extended_space_aliasing_the_header_is_ignored(serve: Callable[[Space], FakeAccessor]) -> None:
    space = Space()
    space.data[0x100:0x200] = space.data[0x00:0x100]
    assert _ext_offsets(space, serve) == []


def test_the_extended_walk_is_bounded(serve: Callable[[Space], FakeAccessor]) -> None:
    offsets = list(range(0x100, 0x1000, 4))
    caps = [(o, 0x0003, offsets[i + 1] if i + 1 < len(offsets) else 0) for i, o in enumerate(offsets)]
    assert len(_ext_offsets(Space().ext_chain(*caps), serve)) == (4096 - 256) // 8


def test_a_legacy_reach_ignores_the_extended_space(serve: Callable[[Space], FakeAccessor]) -> None:
    """pio reaches 256 bytes: nothing past 0x100 is walked or allowed."""
    space = space_map(serve(pcie_endpoint()), space_size=256)
    assert all(r.end <= 0x100 for r in space.allowed + space.refused)


def test_an_unprivileged_reach_walks_nothing(serve: Callable[[Space], FakeAccessor]) -> None:
    """sysfs shows normal users 64 bytes: capabilities live beyond them."""
    assert spans(space_map(serve(pcie_endpoint()), space_size=64).allowed) == [(0x00, 0x40)]


# --------------------------------------------------------------------------- the recorded Firecracker host


@pytest.fixture
def host() -> Iterator[FakeAccessor]:
    accessor = FakeAccessor(HOST_DUMP)
    accessor.open()
    yield accessor
    accessor.close()


def test_host_bridge_allows_its_header_and_the_extended_head(host: FakeAccessor) -> None:
    bdf = parse_bdf("00:00.0")
    space = map_config_space(host.read, bdf, host.space_size(bdf))
    assert spans(space.allowed) == [(0x00, 0x40), (0x100, 0x104)]
    assert [o for o in range(0, 0x1000, 4) if not space.why_refused(o, 4)] == [*range(0, 0x40, 4), 0x100]


def test_virtio_vendor_capabilities_are_refused_but_msix_is_not(host: FakeAccessor) -> None:
    """Virtio's vendor capabilities include the PCI configuration access
    window (cfg_type 5 at 0x84): a read of its data dword at 0x94 makes the
    device read its own BAR (virtio 1.x, 4.1.4.7)."""
    bdf = parse_bdf("00:01.0")
    assert host.read(bdf, 0x84, 4) == 0x05_14_98_09  # ID 09, next 98, length 14, cfg_type 5
    space = map_config_space(host.read, bdf, host.space_size(bdf))
    assert (0x98, 0xA4) in spans(space.allowed)
    assert spans(space.refused) == [(0x43, 0x50), (0x53, 0x60), (0x63, 0x70), (0x73, 0x84), (0x87, 0x98)]
    with pytest.raises(CfgbenchError, match="vendor-specific"):
        check_offset_allowed(host.read, bdf, 0x94, 4, 256)


# --------------------------------------------------------------------------- the kernel's view, unprivileged


def _a_function_with_capabilities() -> Bdf | None:
    for function in list_functions():
        config = Path(f"/sys/bus/pci/devices/{function.bdf}/config").read_bytes()
        if len(config) > 0x34 and config[0x06] & 0x10 and config[0x34] >= 0x40:
            return function.bdf
    return None


SETPRIV = shutil.which("setpriv")
AS_A_NORMAL_USER = """
import json, sys
from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.address import parse_bdf
from cfgbench.capabilities import check_offset_allowed, map_config_space
from cfgbench.errors import CfgbenchError
bdf = parse_bdf(sys.argv[1])
with SysfsAccessor() as kernel:
    size = kernel.space_size(bdf)
    check_offset_allowed(kernel.read, bdf, 0, 4, size)
    allowed = [[r.start, r.end] for r in map_config_space(kernel.read, bdf, size).allowed]
    try:
        check_offset_allowed(kernel.read, bdf, int(sys.argv[2]), 4, size)
        beyond = ""
    except CfgbenchError as exc:
        beyond = exc.one_line()
    print(json.dumps({"size": size, "id": kernel.read(bdf, 0, 4), "pointer": kernel.read(bdf, 0x34, 1),
                      "allowed": allowed, "beyond": beyond}))
"""


def test_a_normal_user_can_still_check_the_header() -> None:
    """As a real normal user (nobody, through setpriv, when the suite runs as
    root): the kernel shows 64 bytes, the header check passes on them, and the
    first capability, past them, is out of reach."""
    bdf = _a_function_with_capabilities()
    if bdf is None:
        pytest.skip("no PCI function with a capability list in sysfs here")
    config = Path(f"/sys/bus/pci/devices/{bdf}/config").read_bytes()
    if os.geteuid() == 0:
        if SETPRIV is None:
            pytest.skip("root without setpriv cannot become a normal user here")
        become = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        become = []
    capability = config[0x34] & 0xFC
    done = subprocess.run([*become, sys.executable, "-c", AS_A_NORMAL_USER, str(bdf), str(capability)],
                          capture_output=True, text=True, timeout=120, cwd="/", check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["size"] == 64
    assert seen["id"] == int.from_bytes(config[:4], "little") and seen["pointer"] == config[0x34]
    assert seen["allowed"] == [[0x00, 0x40]]  # the header; its capabilities are beyond what it may read
    assert "outside the 64-byte config space" in seen["beyond"]


# --------------------------------------------------------------------------- arbitrary bytes


class CountingRead:
    """Counts reads, so a property can show the walk ends."""

    def __init__(self, read: ReadFn) -> None:
        self.read = read
        self.count = 0

    def __call__(self, bdf: Bdf, offset: int, width: int) -> int:
        self.count += 1
        return self.read(bdf, offset, width)


# Header, alias check, 48 standard and 480 extended capabilities, two reads each at most.
MAX_WALK_READS = 8 + 2 * 48 * 2 + 2 * 480 * 2


def _map_arbitrary(directory: Path, data: bytes) -> tuple[SpaceMap | None, str, CountingRead]:
    accessor = fake_serving(directory, data)
    counting = CountingRead(accessor.read)
    try:
        return map_config_space(counting, BDF, len(data)), "", counting
    except CfgbenchError as exc:
        return None, exc.one_line(), counting
    finally:
        accessor.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(min_size=256, max_size=256), st.binary(min_size=4096, max_size=4096)))
@example(data=b"\xff\xff" + bytes(254))  # absent: random bytes seldom start so
@example(data=b"\xff\xfe" + bytes(254))
def test_arbitrary_bytes_give_a_map_or_a_clear_error_and_the_walk_ends(tmp_path: Path, data: bytes) -> None:
    """The one refusal is an absent function (vendor ID all ones, as hardware
    reads one); any other bytes map, inside the space, with the offsets the
    project exists to measure open."""
    space, refusal, counting = _map_arbitrary(tmp_path, data)
    assert counting.count <= MAX_WALK_READS
    if data[0:2] == b"\xff\xff":
        assert space is None and "no device answers" in refusal
        return
    assert space is not None, refusal
    for region in space.allowed + space.refused:
        assert 0 <= region.start < region.end <= len(data), region
    assert space.why_refused(0x00, 4) == ""
    if len(data) == 4096:
        assert space.why_refused(0x100, 4) == ""


def hand_walk(space: bytes) -> list[int]:
    """The standard list as the PCI spec links it, walked here by hand: from
    the pointer at 0x34, low two bits reserved, ending below 0x40, at a
    position seen before, at ID 0xFF or past the 256 bytes."""
    found: list[int] = []
    position = space[0x34] & 0xFC
    while position >= 0x40 and position not in found and position + 2 <= 256 and space[position] != 0xFF:
        found.append(position)
        position = space[position + 1] & 0xFC
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=256, max_size=256),
    pointers=st.lists(st.integers(0, 0xFF), min_size=1, max_size=8),
    offset=st.integers(-8, 0x110),
    width=st.sampled_from([1, 2, 4, 3]),
)
def test_arbitrary_chains_and_offsets_are_judged_by_the_header_and_the_chain(
    tmp_path: Path, data: bytes, pointers: list[int], offset: int, width: int
) -> None:
    """Random bytes with a capability list switched on and random links
    planted. A read the access rules forbid (width, alignment, range) is that
    error; one inside the type 0 header is allowed; one past it is allowed
    only at or after a capability of the chain, walked by hand here;
    everything refused says why and how to allow it."""
    space = bytearray(data)
    space[0:2] = b"\xf4\x1a"
    space[0x06] |= 1 << 4
    space[0x0E] = 0
    space[0x34] = pointers[0]
    for here, there in itertools.pairwise(pointers):
        space[(here & 0xFC) + 1] = there
    accessor = fake_serving(tmp_path, bytes(space))
    try:
        check_offset_allowed(accessor.read, BDF, offset, width, 256)
        refusal = ""
    except CfgbenchError as exc:
        refusal = exc.one_line()
    finally:
        accessor.close()
    if width == 3:
        assert "is not a config access width" in refusal
    elif offset < 0 or offset + width > 256:
        assert "outside the 256-byte config space" in refusal
    elif offset % width:
        assert "is not aligned" in refusal
    elif offset + width <= 0x40:
        assert refusal == ""
    elif refusal:
        assert "where a read may have side effects" in refusal and ANY_OFFSET_FLAG in refusal
    else:
        assert any(start <= offset for start in hand_walk(bytes(space))), hand_walk(bytes(space))
