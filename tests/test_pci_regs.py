"""pci_regs.py holds the one capability table: its setpci names are registers.py's."""

from __future__ import annotations

from cfgbench import pci_regs, registers


def test_the_capability_table_names_what_setpci_names() -> None:
    assert pci_regs.capability_ids(extended=False) == registers.CAPABILITIES
    assert pci_regs.capability_ids(extended=True) == registers.EXTENDED_CAPABILITIES
