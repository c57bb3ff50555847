"""Access methods: one module each, registered here once."""

from __future__ import annotations

from cfgbench.access.base import ConfigAccessor, Detection
from cfgbench.access.ecam import EcamAccessor
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.errors import CfgbenchError

METHODS: dict[str, type[ConfigAccessor]] = {
    "pio": PioAccessor,
    "mmio": EcamAccessor,
    "kernel": SysfsAccessor,
    "fake": FakeAccessor,
}
ALIASES = {"ecam": "mmio", "sysfs": "kernel"}


def canonical_method(name: str) -> str:
    name = ALIASES.get(name.lower(), name.lower())
    if name not in METHODS or not METHODS[name].offered():
        offered = ", ".join(user_methods())
        raise CfgbenchError(f"unknown method {name!r}", f"use one of: {offered}")
    return name


def user_methods() -> list[str]:
    return [name for name, cls in METHODS.items() if not cls.hidden]


def create(name: str) -> ConfigAccessor:
    return METHODS[canonical_method(name)]()


__all__ = ["ALIASES", "METHODS", "ConfigAccessor", "Detection", "canonical_method", "create", "user_methods"]
