"""Find the guest kernel, its 9p modules and the lab's config-order module built for it."""

from __future__ import annotations

import gzip
import lzma
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cfgbench.errors import SETUP_FIX, LabError

# What the guest loads to mount the host over 9p; modules.dep adds the rest, and built-in ones have no .ko.
NINEP_MODULES = ("virtio_pci", "9pnet_virtio", "9p")

# The lab's config-order module (lab/kmod, docs/safety.md), built by scripts/setup-lab.sh.
PCI_ORDER_MODULE = "cfgbench_pci_order"

_IMAGE_NAME = re.compile(r"^vmlinu[xz]-(?P<release>.+)$")


@dataclass(frozen=True)
class GuestKernel:
    image: Path
    release: str  # from the file name; "" when the name does not say
    modules_dir: Path | None  # lib/modules/<release>, None when there is none


def cache_dir() -> Path:
    """Where scripts/setup-lab.sh puts the kernel, by the same rule."""
    if override := os.environ.get("CFGBENCH_LAB_CACHE"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "cfgbench"


def _version_key(path: Path) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _modules_dir_for(image: Path, release: str) -> Path | None:
    if not release:
        return None
    # An unpacked package tree (<root>/boot/vmlinux-R, <root>/lib/modules/R), else the host's.
    return next((candidate for candidate in (image.parent.parent / "lib/modules" / release, Path("/lib/modules") / release)
                 if (candidate / "modules.dep").is_file()), None)


def kernel_from_path(image: Path) -> GuestKernel:
    if not image.is_file():
        raise LabError(f"guest kernel {image} does not exist", f"pass an existing --kernel or {SETUP_FIX}")
    match = _IMAGE_NAME.match(image.name)
    release = match["release"] if match else ""
    return GuestKernel(image, release, _modules_dir_for(image, release))


def find_kernel(image: Path | None = None) -> GuestKernel:
    """The given kernel, else the newest in the cache, vmlinux first: PVH boots it with no decompression under TCG."""
    if image is not None:
        return kernel_from_path(image)
    boot = cache_dir() / "kernel/boot"
    for pattern in ("vmlinux-*", "vmlinuz-*"):
        found = sorted(boot.glob(pattern), key=_version_key)
        if found:
            return kernel_from_path(found[-1])
    raise LabError(f"no guest kernel in {boot}", SETUP_FIX)


def _parse_modules_dep(modules_dir: Path) -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        module, _, rest = line.partition(":")
        deps[module] = rest.split()
    return deps


def module_name(path: str | Path) -> str:
    return Path(path).name.split(".ko")[0]


def module_load_order(modules_dir: Path | None, wanted: tuple[str, ...] = NINEP_MODULES) -> list[Path]:
    """The .ko files to insmod, dependencies first (modules.dep lists them last)."""
    if modules_dir is None:
        return []
    deps = _parse_modules_dep(modules_dir)
    by_name = {module_name(module): module for module in deps}
    order: list[str] = []
    for name in wanted:
        module = by_name.get(name)
        if module is None:
            continue  # built in, or not built at all: the 9p mount will tell
        for needed in [*reversed(deps[module]), module]:
            if needed not in order:
                order.append(needed)
    return [modules_dir / module for module in order]


def read_module(path: Path) -> bytes:
    """Decompressed: busybox insmod may not understand .ko.xz or .ko.gz."""
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        raise LabError(f"module {path} is zstd-compressed", "use a kernel with .ko or .ko.xz modules")
    return data


def pci_order_module(kernel: GuestKernel) -> Path:
    """Built for exactly this kernel's release, so a kernel that does not name its release has none."""
    if not kernel.release:
        raise LabError(f"guest kernel {kernel.image.name} does not name its release, so no {PCI_ORDER_MODULE}.ko "
                       "can match it", f"use a kernel named vmlinux-<release> and {SETUP_FIX}")
    path = cache_dir() / "kmod" / kernel.release / f"{PCI_ORDER_MODULE}.ko"
    if not path.is_file():
        raise LabError(f"the lab's config-order module is not built for kernel {kernel.release} ({path} is missing)",
                       SETUP_FIX)
    return path
