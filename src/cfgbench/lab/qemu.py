"""Find QEMU, pick the accelerator, and spell the command line of the q35 guest."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cfgbench.errors import SETUP_FIX, LabError

QEMU_BINARY = "qemu-system-x86_64"
MACHINE = "q35"  # type 1 at 0xCF8/0xCFC plus an MCFG/ECAM window: the two paths we compare
ACCELS = ("auto", "kvm", "tcg")
PCIE_TARGET_BDF = "0000:01:00.0"  # behind the default tree's root port
BASE_FUNCTIONS = 6  # q35 and the lab's two 9p shares: 00:00.0, 00:01.0, 00:02.0, 00:1f.0, 00:1f.2, 00:1f.3


def find_qemu() -> Path:
    found = shutil.which(QEMU_BINARY)
    if found is None:
        raise LabError(f"{QEMU_BINARY} not found on PATH", SETUP_FIX)
    return Path(found)


@functools.cache
def qemu_version(qemu: Path) -> str:
    try:
        text = subprocess.run([str(qemu), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"cannot run {qemu} --version: {exc}", SETUP_FIX) from exc
    match = re.search(r"version\s+(\S+)", text)
    return match[1] if match else "unknown"


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def kvm_problem() -> str | None:
    """Why kvm cannot work here, or None: without vmx or svm, /dev/kvm is a software hypervisor QEMU hangs on."""
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable by this user"
    if not _cpu_flags() & {"vmx", "svm"}:
        return "the CPU flags have neither vmx nor svm (no hardware virtualisation)"
    return None


def choose_accel(requested: str) -> str:
    if requested not in ACCELS:
        raise LabError(f"unknown accelerator {requested!r}", f"use one of {', '.join(ACCELS)}")
    problem = kvm_problem()
    if requested == "auto":
        return "tcg" if problem else "kvm"
    if requested == "kvm" and problem:
        raise LabError(f"--accel kvm cannot work here: {problem}", "use --accel tcg (or auto)")
    return requested


@dataclass(frozen=True)
class NinePShare:
    tag: str
    path: Path
    readonly: bool


@dataclass(frozen=True)
class Tree:
    """PCI functions added to the guest, and the root port whose subtree the enumeration A/B rescans."""

    name: str
    help: str
    devices: tuple[str, ...]
    rescan_port: str  # as the guest sees it: addresses on bus 0 are pinned below

    @property
    def functions(self) -> int:
        return BASE_FUNCTIONS + len(self.devices)


def _root_port(name: str, slot: int, function: int, chassis: int) -> str:
    # io-reserve=0: SeaBIOS would reserve 4 KiB of I/O per hotplug port, and q35 has room for only a few.
    multifunction = ",multifunction=on" if function == 0 else ""
    return (f"pcie-root-port,id={name},bus=pcie.0,addr={slot:02x}.{function}{multifunction},"
            f"chassis={chassis},io-reserve=0")


def _endpoints(bus: str, count: int, serial: str) -> list[str]:
    """A multi-function NVMe device: no guest driver binds it, and without an I/O BAR no port needs an I/O window."""
    if count == 1:
        return [f"nvme,bus={bus},addr=00.0,serial={serial}0"]
    return [f"nvme,bus={bus},addr=00.{fn}{',multifunction=on' if fn == 0 else ''},serial={serial}{fn}"
            for fn in range(count)]


def _switch(root_port: str, downstream: int, functions_each: int, name: str, chassis: int) -> list[str]:
    """A PCIe switch (TI X3130) below root_port, a multi-function device below each downstream port."""
    devices = [f"x3130-upstream,id={name}_up,bus={root_port}"]
    for port in range(downstream):
        down = f"{name}_down{port}"
        devices.append(f"xio3130-downstream,id={down},bus={name}_up,chassis={chassis},slot={port}")
        devices += _endpoints(down, functions_each, f"{name}d{port}f")
    return devices


def _default_tree() -> tuple[str, ...]:
    return ("pcie-root-port,id=cfgbench_rp0,bus=pcie.0,chassis=1", "e1000e,bus=cfgbench_rp0")


def _switch_tree(downstream: int, functions_each: int) -> tuple[str, ...]:
    """The default tree, a switch at 00:04.0 and an 8-function device at 00:04.1."""
    return (*_default_tree(),
            _root_port("cfgbench_rp1", 4, 0, 2), *_switch("cfgbench_rp1", downstream, functions_each, "cfgbench_sw1", 3),
            _root_port("cfgbench_rp2", 4, 1, 4), *_endpoints("cfgbench_rp2", 8, "cfgbench_rp2f"))


TREES = {
    tree.name: tree for tree in (
        Tree("default", "one root port (00:03.0) with an e1000e at 01:00.0", _default_tree(), "0000:00:03.0"),
        Tree("medium", "default, plus a PCIe switch with two 4-function devices (00:04.0) and an 8-function "
             "device (00:04.1)", _switch_tree(2, 4), "0000:00:04.0"),
        Tree("large", "default, plus a PCIe switch with eight 8-function devices (00:04.0) and an 8-function "
             "device (00:04.1)", _switch_tree(8, 8), "0000:00:04.0"),
    )
}


def find_tree(name: str) -> Tree:
    if name not in TREES:
        raise LabError(f"unknown PCI tree {name!r}", f"use one of {', '.join(TREES)}")
    return TREES[name]


def qemu_command(qemu: Path, *, accel: str, kernel: Path, initrd: Path, cmdline: str, memory_mb: int, smp: int,
                 shares: list[NinePShare], pcie_target: bool, tree: str = "default", extra: Sequence[str] = ()) -> list[str]:
    argv = [
        str(qemu),
        "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
        "-machine", MACHINE, "-accel", accel,
        # TCG's default qemu64 lacks rdtscp and friends; "max" offers what TCG can emulate.
        "-cpu", "host" if accel == "kvm" else "max",
        "-m", str(memory_mb), "-smp", str(smp),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
        "-serial", "stdio",
        "-no-reboot",  # the guest's reboot (panic=-1 too) ends QEMU
    ]
    for share in shares:
        path = str(share.path).replace(",", ",,")  # QEMU's option syntax escapes a comma by doubling it
        options = f"local,id={share.tag},path={path},security_model=none,multidevs=remap"  # unique inodes
        if share.readonly:
            options += ",readonly=on"
        argv += ["-fsdev", options, "-device", f"virtio-9p-pci,fsdev={share.tag},mount_tag={share.tag}"]
    if pcie_target:
        # A driverless function with 4096 bytes of config space off bus 0: 0x100 only ECAM reaches.
        for device in find_tree(tree).devices:
            argv += ["-device", device]
    return [*argv, *extra]
