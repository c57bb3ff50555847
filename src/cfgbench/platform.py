"""Where a run happens: bare metal or guest, which hypervisor, kernel, CPU, privileges."""

from __future__ import annotations

import json
import os
import platform as _py_platform
import socket
from dataclasses import dataclass
from pathlib import Path

from cfgbench import limits, schema
from cfgbench._native import ffi, lib
from cfgbench.errors import CfgbenchError

DMI_DIR = Path("/sys/class/dmi/id")
LOCKDOWN_PATH = Path("/sys/kernel/security/lockdown")
CPUS_ONLINE = Path("/sys/devices/system/cpu/online")
CAP_SYS_RAWIO = 17
HYPERVISOR_LEAF = 0x4000_0000

# CPUID leaf 0x40000000 vendor strings, as recorded, to the names people use.
HYPERVISORS = {
    "KVMKVMKVM": "KVM",
    "Microsoft Hv": "Hyper-V",
    "VMwareVMware": "VMware",
    "XenVMMXenVMM": "Xen",
    "TCGTCGTCGTCG": "QEMU TCG",
    "ACRNACRNACRN": "ACRN",
    "bhyve bhyve": "bhyve",
    "lrpepyh vr": "Parallels",
}


def hypervisor_name(vendor: str | None) -> str | None:
    """The name people use for a recorded CPUID vendor string (`KVMKVMKVM` -> `KVM`), else the string as recorded."""
    return HYPERVISORS.get((vendor or "").strip(), vendor)


def describe_where(environment: str | None, hypervisor: str | None, cpu: str | None) -> str:
    """`bare metal · Intel Xeon ...`, `guest (KVM) · AMD EPYC ...` from cfgbench's metadata values."""
    if environment == "bare-metal":
        where = "bare metal"
    elif environment == "guest":
        name = hypervisor_name(hypervisor)
        where = f"guest ({name})" if name and name not in ("unknown", "none") else "guest"
    else:
        where = "environment unknown"
    return f"{where} · {cpu}" if cpu else where


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


def parse_cpu_list(text: str, what: str = "--affinity") -> set[int]:
    """'2', '0-3', '1,3-5': as the kernel, taskset and pyperf write CPU lists."""
    cpus: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.strip().split(","))):
            first, _, last = part.partition("-")
            if int(first) > int(last or first):
                raise ValueError(part)
            limits.check("--affinity", int(last or first), text)  # before the set is built
            cpus.update(range(int(first), int(last or first) + 1))
    except ValueError:
        cpus.clear()
    if not cpus:
        raise CfgbenchError(f"{what} {text!r} is not a CPU list", "write it as taskset does, e.g. 2 or 2-3 or 1,3")
    return cpus


def online_cpus(path: Path | None = None) -> set[int] | None:
    """The CPUs online, from the kernel's list; None when it cannot be read."""
    try:
        return parse_cpu_list((path or CPUS_ONLINE).read_text(), "the online CPU list")
    except (OSError, CfgbenchError):
        return None


def online_cpu_count(path: Path | None = None) -> int:
    """How many CPUs are online; os.cpu_count() where the list cannot be read."""
    online = online_cpus(path)
    return len(online) if online is not None else (os.cpu_count() or 1)


def has_rawio() -> bool:
    return bool(next((int(line.split()[1], 16) for line in _read_text(Path("/proc/self/status")).splitlines()
                      if line.startswith("CapEff:")), 0) >> CAP_SYS_RAWIO & 1)


def lockdown_mode() -> str:
    """'none', 'integrity', 'confidentiality', or '' when the kernel does not say."""
    return next((word.strip("[]") for word in _read_text(LOCKDOWN_PATH).split() if word.startswith("[")), "")


SUDO_FIX = 'run as root: sudo "$(command -v cfgbench)" ...'
BLOCKING_LOCKDOWN = ("integrity", "confidentiality")
RAWIO_FIX = "run as root with CAP_SYS_RAWIO, or use --method=kernel"


def raw_access_blocker(what: str) -> tuple[str, str] | None:
    """(cause, fix) when this process may not do raw access (ports, /dev/mem) here, as far as known without trying."""
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
        keys = {schema.ENVIRONMENT: self.environment, schema.HYPERVISOR: self.hypervisor,
                schema.DMI_VENDOR: self.dmi_vendor, schema.DMI_PRODUCT: self.dmi_product,
                schema.KERNEL_RELEASE: self.kernel_release, schema.CPU_MODEL: self.cpu_model}
        return {key: value or "unknown" for key, value in keys.items()}


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


LAB_VAR = "CFGBENCH_LAB"  # the lab's record for the guest's files: JSON, keyed by schema.py's own keys
LAB_OUT_VAR = "CFGBENCH_LAB_OUT"  # the results share, as the guest sees it
LAB_HOST_OUT_VAR = "CFGBENCH_LAB_HOST_OUT"  # the same directory, as the host sees it


def lab_host_record() -> dict[str, str]:
    """Runs on the host: who runs QEMU (a guest is as fast as its host: two hosts are not "the same environment")."""
    return {schema.LAB_HOST: socket.gethostname(), schema.LAB_HOST_CPU: cpu_model(), schema.LAB_HOST_KERNEL: os.uname().release}


def in_lab_guest() -> bool:
    return LAB_VAR in os.environ


def lab_metadata() -> dict[str, str]:
    """Runs in the guest: the lab's record and the guest kernel, for every result; {} outside a lab."""
    if not in_lab_guest():
        return {}
    record = {str(key): str(value) for key, value in json.loads(os.environ[LAB_VAR]).items()}
    return {**record, schema.LAB_KERNEL: os.uname().release, schema.LAB_CMDLINE: kernel_cmdline() or "unknown"}


def host_path(path: Path) -> Path:
    """The host's name for a file the guest wrote under the results share."""
    guest_out, host_out = os.environ.get(LAB_OUT_VAR), os.environ.get(LAB_HOST_OUT_VAR)
    if not guest_out or not host_out:
        return path
    try:
        return Path(host_out) / Path(os.path.abspath(path)).relative_to(guest_out)
    except ValueError:
        return path
