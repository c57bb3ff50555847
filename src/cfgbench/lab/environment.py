"""What the lab tells its guest about itself, and what the guest's runs record.

The host passes CFGBENCH_LAB_* variables into the guest; any `cfgbench run`
there (the main job, or `cfgbench lab -- cfgbench run ...`) records them, so
every lab file names the physical host that QEMU ran on beside the guest's
own view: two lab runs on hosts 2.5x apart in speed are not "the same
environment". Nothing here imports QEMU or the guest machinery."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from cfgbench.platform import cpu_model

OUT_VAR = "CFGBENCH_LAB_OUT"  # the results share, as the guest sees it
HOST_OUT_VAR = "CFGBENCH_LAB_HOST_OUT"  # the same directory, as the host sees it
ACCEL_VAR = "CFGBENCH_LAB_ACCEL"
# Variable suffix -> metadata key suffix, for what the host knows.
RECORDED = {"ACCEL": "accel", "QEMU": "qemu", "MACHINE": "machine", "HOST": "host",
            "HOST_CPU": "host_cpu", "HOST_KERNEL": "host_kernel"}


def host_variables(outdir: Path) -> dict[str, str]:
    """Runs on the host: who runs QEMU, and where the results share is."""
    return {"CFGBENCH_LAB_HOST": socket.gethostname(), "CFGBENCH_LAB_HOST_CPU": cpu_model(),
            "CFGBENCH_LAB_HOST_KERNEL": os.uname().release, HOST_OUT_VAR: str(outdir.resolve())}


def in_lab_guest() -> bool:
    return ACCEL_VAR in os.environ


def lab_metadata() -> dict[str, str]:
    """Runs in the guest: the lab's metadata for every result; {} outside a lab."""
    if not in_lab_guest():
        return {}
    metadata = {f"cfgbench_lab_{key}": os.environ.get(f"CFGBENCH_LAB_{var}", "unknown")
                for var, key in RECORDED.items()}
    metadata["cfgbench_lab_kernel"] = os.uname().release
    try:
        metadata["cfgbench_lab_cmdline"] = Path("/proc/cmdline").read_text().strip()
    except OSError:
        metadata["cfgbench_lab_cmdline"] = "unknown"
    return metadata


def host_path(path: Path) -> Path:
    """The host's name for a file the guest wrote under the results share."""
    guest_out, host_out = os.environ.get(OUT_VAR), os.environ.get(HOST_OUT_VAR)
    if not guest_out or not host_out:
        return path
    try:
        return Path(host_out) / Path(os.path.abspath(path)).relative_to(guest_out)
    except ValueError:
        return path
