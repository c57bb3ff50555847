from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfgbench.address import (
    Bdf,
    check_access,
    ecam_offset,
    format_target,
    parse_bdf,
    type1_address,
    type1_data_port,
)
from cfgbench.errors import CfgbenchError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000:00:00.0", Bdf(0, 0, 0, 0)),
        ("00:1f.3", Bdf(0, 0, 0x1F, 3)),
        ("0001:3a:00.7", Bdf(1, 0x3A, 0, 7)),
        ("FFFF:FF:1F.7", Bdf(0xFFFF, 0xFF, 0x1F, 7)),
        (" 00:02.0 ", Bdf(0, 0, 2, 0)),
    ],
)
def test_parse_bdf_accepts_lspci_forms(text: str, expected: Bdf) -> None:
    assert parse_bdf(text) == expected


@pytest.mark.parametrize("text", ["", "00:00", "0:0.0.0", "00:20.0", "00:00.8", "g0:00.0", "100000000:00:00.0", "00:000.0", "00.00.0"])
def test_parse_bdf_rejects_malformed_and_out_of_range(text: str) -> None:
    with pytest.raises(CfgbenchError):
        parse_bdf(text)


@given(st.one_of(st.none(), st.integers(0, 0x7FFF_FFFF)), st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7),
       st.booleans(), st.sampled_from(["", " ", "\t", " \n"]))
def test_lspci_forms_parse_to_the_numbers_they_spell(domain: int | None, bus: int, device: int, function: int,
                                                    upper: bool, space: str) -> None:
    """Written here as lspci -D (or lspci) prints them, upper or lower case, spaces around."""
    text = (f"{domain:04x}:" if domain is not None else "") + f"{bus:02x}:{device:02x}.{function}"
    assert parse_bdf(space + (text.upper() if upper else text) + space) == Bdf(domain or 0, bus, device, function)


LIMITS = (0x7FFF_FFFF, 0xFF, 0x1F, 0x7)  # domain (Linux's int), bus, device, function


@given(st.one_of(st.text(max_size=20),
                 st.from_regex(r"\A\s?([0-9a-fA-F]{1,9}:)?[0-9a-fA-F]{1,3}:[0-9a-fA-F]{1,2}\.[0-9a-fA-F]\s?\Z")))
def test_any_text_is_the_address_it_spells_or_one_clear_refusal(text: str) -> None:
    """No other exception escapes; a text that parses spells exactly the
    numbers returned; one refused as out of range has a field beyond its
    limit; anything else is not a PCI address."""
    fields = re.split(r"[:.]", text.strip())
    try:
        bdf = parse_bdf(text)
    except CfgbenchError as exc:
        line = exc.one_line()
        if "is out of range" in line:
            numbers = [int(f, 16) for f in fields]
            assert any(n > limit for n, limit in zip(numbers, LIMITS[-len(numbers):], strict=True)), line
        else:
            assert "is not a PCI address" in line, line
        return
    numbers = [int(f, 16) for f in fields]
    assert numbers == [bdf.domain, bdf.bus, bdf.device, bdf.function][-len(numbers):]
    assert len(numbers) == 4 or bdf.domain == 0


def test_type1_address_layout() -> None:
    # Enable bit, bus 0x12, device 0x1f, function 3, dword of offset 0x2e.
    assert type1_address(Bdf(0, 0x12, 0x1F, 3), 0x2E) == 0x8012FB2C
    assert type1_data_port(0x2E) == 0xCFE
    assert type1_data_port(0x2C) == 0xCFC


@given(st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7), st.integers(0, 0xFF))
def test_type1_address_fields_decode(bus: int, device: int, function: int, offset: int) -> None:
    value = type1_address(Bdf(0, bus, device, function), offset)
    assert value >> 31 == 1
    assert (value >> 16) & 0xFF == bus
    assert (value >> 11) & 0x1F == device
    assert (value >> 8) & 0x7 == function
    assert value & 0xFF == offset & 0xFC
    assert (value >> 24) & 0x7F == 0  # reserved bits stay clear


def test_type1_refuses_other_domains_and_extended_space() -> None:
    with pytest.raises(CfgbenchError, match="domain 0 only"):
        type1_address(Bdf(1, 0, 0, 0), 0)
    with pytest.raises(CfgbenchError, match="256-byte"):
        type1_address(Bdf(0, 0, 0, 0), 0x100)


@given(st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7), st.integers(0, 0xFFF))
def test_ecam_offset_is_bus_device_function_page(bus: int, device: int, function: int, offset: int) -> None:
    value = ecam_offset(Bdf(0, bus, device, function), offset)
    assert value == (bus << 20) + (device << 15) + (function << 12) + offset
    assert value >> 12 == (bus << 8) | (device << 3) | function


@pytest.mark.parametrize(("offset", "width"), [(0, 4), (2, 2), (3, 1), (0xFFC, 4), (0xFFE, 2), (0xFFF, 1)])
def test_check_access_accepts_aligned_in_range(offset: int, width: int) -> None:
    check_access(offset, width)


@pytest.mark.parametrize(
    ("offset", "width", "message"),
    [(1, 4, "aligned"), (2, 4, "aligned"), (1, 2, "aligned"), (0x1000, 1, "outside"), (-4, 4, "outside"), (0, 3, "width"), (0, 8, "width")],
)
def test_check_access_rejects(offset: int, width: int, message: str) -> None:
    with pytest.raises(CfgbenchError, match=message):
        check_access(offset, width)


def test_check_access_legacy_limit() -> None:
    check_access(0xFC, 4, 256)
    with pytest.raises(CfgbenchError):
        check_access(0x100, 4, 256)


def test_a_target_is_named_as_the_files_name_it() -> None:
    assert format_target(Bdf(0, 1, 0, 0), 0x100, 4) == "0000:01:00.0+0x100/4"
