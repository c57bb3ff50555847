"""Access methods: one module each, registered here once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cfgbench.access.base import ConfigAccessor, Detection
from cfgbench.access.ecam import EcamAccessor
from cfgbench.access.fake import FakeAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.access.sysfs import SysfsAccessor
from cfgbench.errors import CfgbenchError

# In the order every table, headline and figure shows them; a new method is one module and one line here.
METHODS: dict[str, type[ConfigAccessor]] = {
    "pio": PioAccessor,
    "mmio": EcamAccessor,
    "kernel": SysfsAccessor,
    "fake": FakeAccessor,
}
ALIASES = {"ecam": "mmio", "sysfs": "kernel"}
MECHANISMS = ("pio", "mmio")  # what the project compares
REFERENCE_READER = "kernel"  # the safe reader: raw methods are checked against it, names are resolved through it


def canonical_method(name: str) -> str:
    name = ALIASES.get(name.lower(), name.lower())
    if name not in METHODS:
        raise CfgbenchError(f"unknown method {name!r}", f"use one of: {', '.join(offered_methods())}")
    if not METHODS[name].offered():
        detection = METHODS[name]().detect()
        raise CfgbenchError(f"the {name} method is not enabled ({detection.reason})", detection.fix)
    return name


def user_methods() -> list[str]:
    """The methods a run, the lab or the CI job times by default."""
    return [name for name, cls in METHODS.items() if not cls.hidden]


def offered_methods() -> list[str]:
    """The methods that may be named here: the users', and a hidden one that is enabled (the fake, with its dump)."""
    return [name for name, cls in METHODS.items() if cls.offered()]


def methods_help() -> str:
    """The users' methods for a help text, each with its aliases and its one-line help."""
    names = {name: [name] for name in user_methods()}
    for alias, name in ALIASES.items():
        names[name].append(alias)
    return "; ".join(f"{' or '.join(names[name])}: {METHODS[name].help}" for name in names)


def create(name: str) -> ConfigAccessor:
    return METHODS[canonical_method(name)]()


def rank(method: str) -> tuple[int, str]:
    """Sort key: registry order, then unknown names (a file from elsewhere) by name."""
    order = list(METHODS)
    return (order.index(method) if method in order else len(order), method)


def ordered(methods: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(methods), key=rank)


def color_of(method: str) -> str:
    """The method's colour in every figure; an unknown method takes one by its rank."""
    cls = METHODS.get(method)
    return cls.color if cls is not None and cls.color else f"C{rank(method)[0] % 10}"


def mismatch_note(method: str, mismatches: int, reads: int) -> str:
    cls = METHODS.get(method, ConfigAccessor)
    return cls.mismatch_note(mismatches, reads)


def reader_method(methods: Sequence[str]) -> str:
    """The kernel's, unless a test backend stands in for the machine."""
    hidden = [m for m in map(canonical_method, methods) if METHODS[m].hidden]
    return hidden[0] if hidden else REFERENCE_READER


def register(cls: type[ConfigAccessor]) -> None:
    METHODS[cls.name] = cls


__all__ = ["ALIASES", "MECHANISMS", "METHODS", "REFERENCE_READER", "ConfigAccessor", "Detection", "canonical_method",
           "color_of", "create", "methods_help", "mismatch_note", "offered_methods", "ordered", "rank", "reader_method",
           "register", "user_methods"]
