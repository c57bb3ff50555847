from __future__ import annotations

from pathlib import Path

import pytest

from cfgbench import access
from cfgbench.access.fake import FakeAccessor, parse_lspci_dump
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError
from cfgbench.checks import Reference, verified_value
from cfgbench.plan import Target

from cli_helpers import HOST_DUMP



def test_dump_parses_every_function_with_its_size() -> None:
    spaces = parse_lspci_dump(HOST_DUMP.read_text())
    assert len(spaces) == 6
    assert len(spaces[Bdf(0, 0, 0, 0)]) == 4096
    assert len(spaces[Bdf(0, 0, 1, 0)]) == 256
    assert spaces[Bdf(0, 0, 0, 0)][:4] == bytes.fromhex("8680570d")


def test_short_form_dump_without_domain() -> None:
    text = "00:1f.3 Audio device: Intel\n00: 86 80 c8 a3 06 04 10 00 11 00 03 04 10 00 00 00\n10:" + " 00" * 16 + "\n20:" + " 00" * 16 + "\n30:" + " 00" * 16 + "\n"
    spaces = parse_lspci_dump(text)
    assert spaces[Bdf(0, 0, 0x1F, 3)][:2] == b"\x86\x80"
    assert len(spaces[Bdf(0, 0, 0x1F, 3)]) == 256


def test_dump_with_gap_is_refused() -> None:
    with pytest.raises(CfgbenchError, match="row at"):
        parse_lspci_dump("00:00.0 Host bridge\n00: " + "00 " * 16 + "\n20: " + "00 " * 16 + "\n")


def test_fake_reads_widths_little_endian() -> None:
    with FakeAccessor(HOST_DUMP) as fake:
        bdf = Bdf(0, 0, 0, 0)
        assert fake.read(bdf, 0, 4) == 0x0D578086
        assert fake.read(bdf, 2, 2) == 0x0D57
        assert fake.read(bdf, 0x0B, 1) == 0x06
        assert fake.read(Bdf(0, 0, 9, 0), 0, 4) == 0xFFFF_FFFF  # absent: all ones, as on hardware
        with pytest.raises(CfgbenchError, match="outside"):
            fake.read(Bdf(0, 0, 1, 0), 0x100, 4)  # a 256-byte function


def test_fake_is_hidden_from_users() -> None:
    assert "fake" not in access.user_methods()
    assert set(access.user_methods()) == {"pio", "mmio", "kernel"}
    assert access.canonical_method("ecam") == "mmio"
    with pytest.raises(CfgbenchError, match="unknown method"):
        access.canonical_method("conf2")


def test_the_help_texts_come_from_the_registry() -> None:
    """Every method users may name, with its aliases and its one-line help; the fake is not among them."""
    text = access.methods_help()
    for name, cls in access.METHODS.items():
        assert (name in text and cls.help in text) == (not cls.hidden)
    assert "mmio or ecam: " in text and "kernel or sysfs: " in text


def test_verify_refuses_when_method_and_kernel_disagree(tmp_path: Path) -> None:
    other = tmp_path / "other.lspci"
    other.write_text(HOST_DUMP.read_text().replace("00: 86 80 57 0d", "00: 86 80 58 0d", 1))
    with FakeAccessor(other) as method, FakeAccessor(HOST_DUMP) as kernel:
        with pytest.raises(CfgbenchError, match=r"read 0x0d588086 .* kernel read 0x0d578086"):
            verified_value(method, Reference(kernel), Target(Bdf(0, 0, 0, 0), 0, 4))
        assert verified_value(method, Reference(kernel), Target(Bdf(0, 0, 0, 0), 8, 4)) == kernel.read(Bdf(0, 0, 0, 0), 8, 4)


def test_verify_refuses_a_device_that_reads_all_ones(tmp_path: Path) -> None:
    dump = tmp_path / "empty.lspci"
    dump.write_text("00:03.0 Absent\n" + "".join(f"{row:02x}:" + " ff" * 16 + "\n" for row in range(0, 256, 16)))
    with FakeAccessor(dump) as fake:
        with pytest.raises(CfgbenchError, match="no device answers"):
            verified_value(fake, Reference(None), Target(Bdf(0, 0, 3, 0), 0, 4))
