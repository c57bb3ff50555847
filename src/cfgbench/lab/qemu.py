"""Find QEMU, pick the accelerator, and spell the command line of the q35 guest."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cfgbench.lab.errors import SETUP_FIX, LabError

QEMU_BINARY = "qemu-system-x86_64"
MACHINE = "q35"  # type 1 at 0xCF8/0xCFC plus an MCFG/ECAM window: the two paths we compare
ACCELS = ("auto", "kvm", "tcg")
# The device behind the guest's only root port: that port's secondary bus is 1.
PCIE_TARGET_BDF = "0000:01:00.0"


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
    """Why kvm cannot work here, or None. A /dev/kvm without vmx/svm in the CPU flags is a
    software hypervisor (e.g. KVM-PVM) on which QEMU's kvm mode hangs: treat it as unusable."""
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
    """A host directory exported to the guest over virtio-9p."""

    tag: str
    path: Path
    readonly: bool


def qemu_command(
    qemu: Path,
    *,
    accel: str,
    kernel: Path,
    initrd: Path,
    cmdline: str,
    memory_mb: int,
    smp: int,
    shares: list[NinePShare],
    pcie_target: bool,
) -> list[str]:
    argv = [
        str(qemu),
        # No default NIC, VGA, monitor or config files: less to emulate, faster boot.
        "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
        "-machine", MACHINE, "-accel", accel,
        # TCG's default qemu64 lacks rdtscp and friends; "max" offers what TCG can emulate.
        "-cpu", "host" if accel == "kvm" else "max",
        "-m", str(memory_mb), "-smp", str(smp),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
        "-serial", "stdio",
        # The guest's reboot (also panic=-1 after a panic) ends QEMU instead of looping.
        "-no-reboot",
    ]
    for share in shares:
        # multidevs=remap keeps inode numbers unique across the host's mounts.
        path = str(share.path).replace(",", ",,")  # QEMU's option syntax escapes a comma by doubling it
        options = f"local,id={share.tag},path={path},security_model=none,multidevs=remap"
        if share.readonly:
            options += ",readonly=on"
        argv += ["-fsdev", options, "-device", f"virtio-9p-pci,fsdev={share.tag},mount_tag={share.tag}"]
    if pcie_target:
        # A PCIe function with 4096 bytes of config space on a bus other than 0, with no
        # driver in the guest: the target whose offset 0x100 only ECAM reaches.
        argv += [
            "-device", "pcie-root-port,id=cfgbench_rp0,bus=pcie.0,chassis=1",
            "-device", "e1000e,bus=cfgbench_rp0",
        ]
    return argv
