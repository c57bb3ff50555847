"""The guest lab: run commands in a throwaway QEMU q35 guest that shares the host root.

Raw config-space access (port I/O, /dev/mem) happens only in such a guest.
"""

from cfgbench.lab.errors import SETUP_FIX, LabError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest

__all__ = ["SETUP_FIX", "GuestConfig", "GuestResult", "LabError", "run_in_guest"]
