"""The guest lab: raw config-space access happens only in a throwaway QEMU q35 guest that shares the host root."""

from cfgbench.errors import SETUP_FIX, LabError
from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest

__all__ = ["SETUP_FIX", "GuestConfig", "GuestResult", "LabError", "run_in_guest"]
