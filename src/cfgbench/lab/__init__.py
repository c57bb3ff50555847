"""The guest lab: run commands in a throwaway QEMU q35 guest that shares the host root.

Raw config-space access (port I/O, /dev/mem) happens only in such a guest::

    from cfgbench.lab import GuestConfig, run_in_guest
    result = run_in_guest(["lspci", "-A", "intel-conf1", "-xxx"], GuestConfig(accel="auto"),
                          outdir=Path("out"), progress=print)
    result.returncode, result.output, result.lab_metadata, result.boot_seconds

Modules: kernel.py (guest kernel, 9p modules and the config-order module in the cache),
qemu.py (QEMU, accelerator, command line, the trees), initramfs.py (busybox init and the
console protocol), guest.py (boot, run, timeouts, teardown), mainjob.py (the `cfgbench lab`
main job), calltrace.py (ftrace call graphs of the kernel method), census.py and markers.py
(every config access of a boot, counted from QEMU's trace, by phase and window),
enumeration.py (in the guest: rescans in both orders, timed and counted) and
enumeration_job.py (the host side: the census boot, the answer lines); kmod/ is the
config-order module's source.
"""

from cfgbench.lab.errors import SETUP_FIX, LabError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest

__all__ = ["SETUP_FIX", "GuestConfig", "GuestResult", "LabError", "run_in_guest"]
