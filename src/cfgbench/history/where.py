"""Where a run ran, in words: bare metal, or a guest of which hypervisor, on which CPU."""

from __future__ import annotations

# CPUID leaf 0x40000000 vendor strings, as platform.py records them, to the names people use.
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


def describe_where(environment: str | None, hypervisor: str | None, cpu: str | None) -> str:
    """`bare metal · Intel Xeon ...`, `guest (KVM) · AMD EPYC ...` from cfgbench's metadata values."""
    if environment == "bare-metal":
        where = "bare metal"
    elif environment == "guest":
        name = HYPERVISORS.get((hypervisor or "").strip(), hypervisor)
        where = f"guest ({name})" if name and name not in ("unknown", "none") else "guest"
    else:
        where = "environment unknown"
    return f"{where} · {cpu}" if cpu else where
