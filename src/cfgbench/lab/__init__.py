"""The guest lab: run commands in a throwaway QEMU q35 guest that shares the host root.

Raw config-space access (port I/O, /dev/mem) happens only in such a guest::

    from cfgbench.lab import GuestConfig, run_in_guest
    result = run_in_guest(["lspci", "-A", "intel-conf1", "-xxx"], GuestConfig(accel="auto"),
                          outdir=Path("out"), progress=print)
    result.returncode, result.output, result.lab_metadata, result.boot_seconds

Modules: kernel.py (guest kernel and 9p modules in the cache), qemu.py (QEMU, accelerator,
command line), initramfs.py (busybox init and the console protocol), guest.py (boot, run,
timeouts, teardown), mainjob.py (the `cfgbench lab` main job).
"""

from cfgbench.lab.errors import SETUP_FIX, LabError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest

__all__ = ["SETUP_FIX", "GuestConfig", "GuestResult", "LabError", "run_in_guest"]
