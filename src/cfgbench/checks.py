"""The checks before timing: pciutils' sanity check, each value against the kernel's read, the offsets a read may touch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from cfgbench import access, capabilities
from cfgbench.access.base import ConfigAccessor
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError, no_device
from cfgbench.pci_regs import ALL_ONES, CLASS_DEVICE, CLASS_DISPLAY, CLASS_HOST_BRIDGE, VENDOR_ID
from cfgbench.plan import Target

SANITY_VENDORS = (0x8086, 0x0E11)  # Intel, Compaq: what pciutils' intel_sanity_check accepts


def disagreement(method: str, value: int, kernel_value: int, bdf: Bdf, offset: int, width: int) -> CfgbenchError:
    """The one error for a method that reads another value than the kernel."""
    digits = 2 + 2 * width
    return CfgbenchError(f"{method} read {value:#0{digits}x} at {bdf}+{offset:#x} but the kernel read "
                         f"{kernel_value:#0{digits}x}; refusing to time the wrong register",
                         "check the target, the ECAM window (cfgbench info) and that nothing else is using port 0xCF8")


class Reference:
    """The kernel's reads, against which a raw method's values are checked; no reader: values as the method reads them."""

    def __init__(self, reader: ConfigAccessor | None) -> None:
        self.reader = reader
        self._enumerated: set[Bdf] | None = None
        self._listed = False

    def _shows(self, bdf: Bdf) -> bool:
        """Whether the kernel shows this function (a scan also reads absent ones)."""
        if not self._listed and self.reader is not None:
            self._enumerated, self._listed = self.reader.enumerated(), True
        return self._enumerated is None or bdf in self._enumerated

    def checked(self, accessor: ConfigAccessor, bdf: Bdf, offset: int, width: int) -> int:
        """The method's value of the register, refused only when it stays
        different from the kernel's over a second look (a status or counter
        register may change between two reads: such a register is timed, and
        its changes show as mismatches)."""
        value = accessor.read(bdf, offset, width)
        if self.reader is None or not self._shows(bdf) or self.reader.read(bdf, offset, width) == value:
            return value
        again, kernel_again = accessor.read(bdf, offset, width), self.reader.read(bdf, offset, width)
        if again == value and kernel_again != value:
            raise disagreement(accessor.name, value, kernel_again, bdf, offset, width)
        return again


def sanity_check(accessor: ConfigAccessor) -> None:
    """pciutils' test of a raw method: bus 0 holds a host bridge, a display controller or an Intel/Compaq function."""
    for device in range(32):
        bdf = Bdf(0, 0, device, 0)
        if why_unreachable(accessor, Target(bdf, 0, 2)):
            continue  # an ECAM window that does not cover bus 0
        vendor = accessor.read(bdf, VENDOR_ID, 2)  # a refused mapping is the error to report
        if vendor == ALL_ONES[2]:
            continue
        if accessor.read(bdf, CLASS_DEVICE, 2) in (CLASS_HOST_BRIDGE, CLASS_DISPLAY) or vendor in SANITY_VENDORS:
            return
    raise CfgbenchError(f"{accessor.name} finds no host bridge on bus 0: this method does not reach real config space here",
                        "check the platform (cfgbench info) or use --method=kernel")


def why_unreachable(accessor: ConfigAccessor, target: Target) -> str:
    """'' when the method can read the target, else why not."""
    try:
        accessor.check_reach(target.bdf, target.offset, target.width)
    except CfgbenchError as exc:
        return exc.one_line()
    return ""


def _walk_size(accessor: ConfigAccessor, walker: ConfigAccessor, bdf: Bdf) -> int:
    """The reader's size bounds the walk; the kernel's says whether there is extended space at all (ECAM reaches 4096 bytes)."""
    return min(accessor.space_size(bdf), walker.space_size(bdf))


def space_map(accessor: ConfigAccessor, reference: Reference, bdf: Bdf) -> capabilities.SpaceMap:
    """The function's allowed regions, walked through the kernel where it can: the safer path."""
    walker = reference.reader or accessor
    return capabilities.map_config_space(walker.read, bdf, _walk_size(accessor, walker, bdf))


def check_offset_safe(accessor: ConfigAccessor, reference: Reference, target: Target) -> None:
    """Refuse offsets outside the header and advertised capabilities."""
    walker = reference.reader or accessor
    capabilities.check_offset_allowed(walker.read, target.bdf, target.offset, target.width,
                                      _walk_size(accessor, walker, target.bdf))


@contextmanager
def reference_for(methods: Sequence[str]) -> Iterator[Reference]:
    """The opened kernel method when a raw method runs, else no reader."""
    if any(access.METHODS[m].raw for m in methods):
        with access.create(access.REFERENCE_READER) as reader:
            yield Reference(reader)
    else:
        yield Reference(None)


def read_once(method: str, target: Target, allow_any_offset: bool = False) -> int:
    """One untimed read (cfgbench read), under the same safety rules as a run."""
    accessor = access.create(method)
    with reference_for([accessor.name]) as reference, accessor:
        accessor.check_reach(target.bdf, target.offset, target.width)  # the method's own limit first, as run says it
        if accessor.raw:
            sanity_check(accessor)
        if not allow_any_offset:
            check_offset_safe(accessor, reference, target)
        return verified_value(accessor, Reference(None), target)


def verified_value(accessor: ConfigAccessor, reference: Reference, target: Target) -> int:
    """The register's value as the method reads it, checked; a function that reads all ones is not there."""
    value = reference.checked(accessor, target.bdf, target.offset, target.width)
    if value == ALL_ONES[target.width] and accessor.read(target.bdf, VENDOR_ID, 2) == ALL_ONES[2]:
        raise no_device(target.bdf)
    return value
