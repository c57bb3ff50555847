"""The guest lab: raw config-space access happens only in a throwaway QEMU q35 guest that shares the host root."""

from typing import TYPE_CHECKING, Any

from cfgbench.errors import SETUP_FIX, LabError

if TYPE_CHECKING:
    from cfgbench.lab.guest import GuestConfig, GuestResult, run_in_guest

__all__ = ["SETUP_FIX", "GuestConfig", "GuestResult", "LabError", "run_in_guest"]


def __getattr__(name: str) -> Any:
    # Loaded when asked for: the guest runs `python -m cfgbench.lab.<module>`, which imports this package first, and
    # the host's QEMU code (guest.py) would cost it time and be imported before the module it runs.
    if name in ("GuestConfig", "GuestResult", "run_in_guest"):
        from cfgbench.lab import guest

        return getattr(guest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
