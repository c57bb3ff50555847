"""The PCI functions the kernel shows in sysfs (for `cfgbench list` and the lab)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cfgbench.address import Bdf, parse_bdf
from cfgbench.pci_regs import EXTENDED_CONFIG_SIZE

SYSFS_DEVICES = Path("/sys/bus/pci/devices")
# Tests only: a directory of ordinary files laid out as SYSFS_DEVICES (a VMD domain, say); no hardware.
SYSFS_DEVICES_ENV = "CFGBENCH_SYSFS_DEVICES"


def sysfs_devices() -> Path:
    return Path(os.environ.get(SYSFS_DEVICES_ENV) or SYSFS_DEVICES)


@dataclass(frozen=True)
class PciFunction:
    bdf: Bdf
    vendor: int
    device: int
    class_code: int  # 24 bits: class, subclass, prog-if
    config_size: int


def _hex_attr(path: Path) -> int:
    return int(path.read_text().strip(), 16)


def list_functions(root: Path | None = None) -> list[PciFunction]:
    functions: list[PciFunction] = []
    root = root or sysfs_devices()
    if not root.is_dir():
        return functions
    for entry in sorted(root.iterdir()):
        try:
            functions.append(PciFunction(parse_bdf(entry.name), _hex_attr(entry / "vendor"), _hex_attr(entry / "device"),
                                         _hex_attr(entry / "class"), (entry / "config").stat().st_size))
        except (OSError, ValueError):
            continue  # a function removed while listing
    return functions


def config_size(bdf: Bdf) -> int | None:
    """256 or 4096 bytes as sysfs shows it, None where it does not."""
    try:
        return (sysfs_devices() / str(bdf) / "config").stat().st_size
    except OSError:
        return None


def no_paths_note(bdf: Bdf) -> str:
    """Why the kernel's two paths cannot be compared on this function, and one where they can."""
    other = next((f.bdf for f in list_functions() if f.config_size >= EXTENDED_CONFIG_SIZE), None)
    where = (f"a function that has: {other} (cfgbench run -m kernel -d {other})" if other else
             "no function here shows extended space (cfgbench list)")
    return (f"no verdict on the kernel's two paths for {bdf}: it has no extended config space, so the kernel reads "
            f"all of it through type 1; {where}")


def listing_lines(functions: list[PciFunction]) -> list[str]:
    """`cfgbench list`: columns as wide as the widest address (a VMD domain has five digits or more)."""
    width = max((len(str(f.bdf)) for f in functions), default=12)
    return [f"{'device':{width}}  vendor:device  class   config",
            *(f"{str(f.bdf):{width}}  {f.vendor:04x}:{f.device:04x}      {f.class_code:06x}  {f.config_size} bytes"
              for f in functions)]
