"""Where a run happens: bare metal or guest, which hypervisor, kernel, CPU, privileges."""

from __future__ import annotations

import os
import platform as _py_platform
from dataclasses import dataclass
from pathlib import Path

from cfgbench._native import ffi, lib

DMI_DIR = Path("/sys/class/dmi/id")
LOCKDOWN_PATH = Path("/sys/kernel/security/lockdown")
CAP_SYS_RAWIO = 17
HYPERVISOR_LEAF = 0x4000_0000


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def is_x86() -> bool:
    return bool(lib.cfg_have_x86())


def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
    regs = ffi.new("uint32_t[4]")
    lib.cfg_cpuid(leaf, subleaf, regs)
    return regs[0], regs[1], regs[2], regs[3]


def hypervisor_vendor() -> str | None:
    """CPUID's view: None on bare metal, else the leaf 0x40000000 signature."""
    if not is_x86():
        return None
    _, _, ecx, _ = cpuid(1)
    if not ecx >> 31 & 1:  # CPUID.1:ECX bit 31, "hypervisor present"
        return None
    _, ebx, ecx, edx = cpuid(HYPERVISOR_LEAF)
    raw = b"".join(r.to_bytes(4, "little") for r in (ebx, ecx, edx))
    return raw.rstrip(b"\0").decode("ascii", "replace") or "unknown"


def cpu_model() -> str:
    for line in _read_text(Path("/proc/cpuinfo")).splitlines():
        if line.startswith(("model name", "Model")):
            return line.split(":", 1)[1].strip()
    return _py_platform.processor() or "unknown"


def effective_capabilities() -> int:
    for line in _read_text(Path("/proc/self/status")).splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_rawio() -> bool:
    return bool(effective_capabilities() >> CAP_SYS_RAWIO & 1)


def lockdown_mode() -> str:
    """'none', 'integrity', 'confidentiality', or '' when the kernel does not say."""
    text = _read_text(LOCKDOWN_PATH)
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return ""


SUDO_FIX = 'run as root: sudo "$(command -v cfgbench)" ...'
BLOCKING_LOCKDOWN = ("integrity", "confidentiality")
RAWIO_FIX = "run as root with CAP_SYS_RAWIO, or use --method=kernel"


def raw_access_blocker(what: str) -> tuple[str, str] | None:
    """(cause, fix) when this process may not do raw hardware access (ports,
    /dev/mem) here, else None. Only what can be known without trying."""
    if os.geteuid() != 0 and not has_rawio():
        return f"{what} needs root", SUDO_FIX
    mode = lockdown_mode()
    if mode in BLOCKING_LOCKDOWN:
        return f"kernel lockdown ({mode}) forbids {what}", f"kernel lockdown ({mode}) forbids it: boot with lockdown=none, or use --method=kernel"
    if not has_rawio():
        return f"{what} needs CAP_SYS_RAWIO", RAWIO_FIX
    return None


def kernel_cmdline() -> str:
    return _read_text(Path("/proc/cmdline"))


@dataclass(frozen=True)
class Fingerprint:
    arch: str
    environment: str  # "bare-metal" or "guest"
    hypervisor: str
    dmi_vendor: str
    dmi_product: str
    kernel_release: str
    cpu_model: str
    lockdown: str
    euid: int

    def as_metadata(self) -> dict[str, str]:
        keys = ("environment", "hypervisor", "dmi_vendor", "dmi_product", "kernel_release", "cpu_model")
        return {f"cfgbench_{k}": getattr(self, k) or "unknown" for k in keys}


def fingerprint() -> Fingerprint:
    vendor = hypervisor_vendor()
    return Fingerprint(
        arch=_py_platform.machine(),
        environment="guest" if vendor is not None else "bare-metal",
        hypervisor=vendor if vendor is not None else "none",
        dmi_vendor=_read_text(DMI_DIR / "sys_vendor"),
        dmi_product=_read_text(DMI_DIR / "product_name"),
        kernel_release=os.uname().release,
        cpu_model=cpu_model(),
        lockdown=lockdown_mode(),
        euid=os.geteuid(),
    )
