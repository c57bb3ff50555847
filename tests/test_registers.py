"""Every offset the CLI takes is a register in setpci(8)'s syntax: hex, names,
capabilities, +offset, .B/.W/.L, @N (registers.py)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cfgbench.access.fake import FakeAccessor
from cfgbench.address import Bdf
from cfgbench.errors import CfgbenchError
from cfgbench.registers import CAPABILITIES, EXTENDED_CAPABILITIES, NAMED, Register, parse_register, resolve, resolve_all

from cli_helpers import HOST_DUMP, assert_one_line_error, cfgbench

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}
VIRTIO_NET = Bdf(0, 0, 3, 0)  # in the dump: vendor capabilities at 0x40-0x84, MSI-X at 0x98
BRIDGE = Bdf(0, 1, 0, 0)  # built below: type 1 header, PM at 0x40, PCIe at 0x50, AER twice and DSN in extended space


def lspci_text(bdf: Bdf, space: bytes) -> str:
    rows = "\n".join(f"{o:02x}: " + " ".join(f"{b:02x}" for b in space[o:o + 16]) for o in range(0, len(space), 16))
    return f"{bdf} PCI bridge: test\n{rows}\n"


def bridge_space() -> bytes:
    space = bytearray(4096)
    struct.pack_into("<HHHH", space, 0, 0x8086, 0x1234, 0x0007, 0x0010)  # status: capability list
    space[0x0E] = 0x01  # header type 1
    space[0x18:0x1B] = bytes([0x01, 0x02, 0x03])  # primary, secondary, subordinate bus
    space[0x34] = 0x40
    space[0x40:0x44] = bytes([0x01, 0x50, 0x03, 0x00])  # PM, next 0x50
    space[0x50:0x54] = bytes([0x10, 0x00, 0x42, 0x00])  # PCI Express v2, end
    struct.pack_into("<I", space, 0x100, 0x0001 | 1 << 16 | 0x140 << 20)  # AER -> 0x140
    struct.pack_into("<I", space, 0x140, 0x0003 | 1 << 16 | 0x180 << 20)  # DSN -> 0x180
    struct.pack_into("<I", space, 0x180, 0x0001 | 1 << 16)  # a second AER, end
    return bytes(space)


@pytest.fixture
def fake(tmp_path: Path) -> FakeAccessor:
    dump = tmp_path / "dump.lspci"
    dump.write_text(HOST_DUMP.read_text().rstrip("\n") + "\n\n" + lspci_text(BRIDGE, bridge_space()))
    accessor = FakeAccessor(dump)
    accessor.open()
    return accessor


def where(text: str, fake: FakeAccessor, bdf: Bdf = VIRTIO_NET, width: int | None = None) -> tuple[int, int, str]:
    register = resolve(parse_register(text), width, bdf, fake.read, fake.space_size(bdf))
    return register.offset, register.width, register.label


# --------------------------------------------------------------------------- plain addresses


@pytest.mark.parametrize(("text", "offset"), [("40", 0x40), ("0x40", 0x40), ("2c", 0x2C), ("2C", 0x2C), ("0X2c", 0x2C),
                                              ("100", 0x100), ("0", 0), (" fff ", 0xFFF), ("256", 0x256)])
def test_addresses_are_hex_with_or_without_0x(text: str, offset: int) -> None:
    assert resolve(parse_register(text), None, VIRTIO_NET) == Register(offset, 4)


@pytest.mark.parametrize(("text", "register"), [("4.w", Register(4, 2)), ("4.W", Register(4, 2)), ("3.b", Register(3, 1)),
                                                ("0.L", Register(0, 4)), ("40+2.w", Register(0x42, 2))])
def test_width_suffixes_and_plus(text: str, register: Register) -> None:
    assert resolve(parse_register(text), None, VIRTIO_NET) == register


@given(st.integers(0, 0xFFF), st.sampled_from(["", "0x", "0X"]), st.sampled_from(["", ".b", ".w", ".l"]))
def test_any_hex_address_round_trips(offset: int, prefix: str, suffix: str) -> None:
    spec = parse_register(f"{prefix}{offset:x}{suffix}")
    assert spec.address == offset
    assert spec.width == {"": None, ".b": 1, ".w": 2, ".l": 4}[suffix]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(("text", "register"), [
    ("VENDOR_ID", Register(0x00, 2, "VENDOR_ID")), ("device_id", Register(0x02, 2, "DEVICE_ID")),
    ("COMMAND", Register(0x04, 2, "COMMAND")), ("STATUS", Register(0x06, 2, "STATUS")),
    ("REVISION", Register(0x08, 1, "REVISION")), ("CLASS_PROG", Register(0x09, 1, "CLASS_PROG")),
    ("CLASS_DEVICE", Register(0x0A, 2, "CLASS_DEVICE")), ("CACHE_LINE_SIZE", Register(0x0C, 1, "CACHE_LINE_SIZE")),
    ("LATENCY_TIMER", Register(0x0D, 1, "LATENCY_TIMER")), ("HEADER_TYPE", Register(0x0E, 1, "HEADER_TYPE")),
    ("BIST", Register(0x0F, 1, "BIST")), ("BASE_ADDRESS_0", Register(0x10, 4, "BASE_ADDRESS_0")),
    ("BASE_ADDRESS_5", Register(0x24, 4, "BASE_ADDRESS_5")), ("CARDBUS_CIS", Register(0x28, 4, "CARDBUS_CIS")),
    ("SUBSYSTEM_VENDOR_ID", Register(0x2C, 2, "SUBSYSTEM_VENDOR_ID")), ("SUBSYSTEM_ID", Register(0x2E, 2, "SUBSYSTEM_ID")),
    ("ROM_ADDRESS", Register(0x30, 4, "ROM_ADDRESS")), ("CAPABILITY_LIST", Register(0x34, 1, "CAPABILITY_LIST")),
    ("CAPABILITIES", Register(0x34, 1, "CAPABILITIES")), ("INTERRUPT_LINE", Register(0x3C, 1, "INTERRUPT_LINE")),
    ("INTERRUPT_PIN", Register(0x3D, 1, "INTERRUPT_PIN")), ("MIN_GNT", Register(0x3E, 1, "MIN_GNT")),
    ("MAX_LAT", Register(0x3F, 1, "MAX_LAT")),
    # setpci(8)'s examples
    ("COMMAND.l", Register(0x04, 4, "COMMAND")), ("VENDOR_ID+1.b", Register(0x01, 1, "VENDOR_ID+1")),
])
def test_register_names_bring_their_offset_and_width(text: str, register: Register, fake: FakeAccessor) -> None:
    offset, width, label = where(text, fake)
    assert Register(offset, width, label) == register


def test_a_name_gives_way_to_an_explicit_width_and_a_number_defaults_to_4(fake: FakeAccessor) -> None:
    assert where("COMMAND", fake, width=4)[:2] == (0x04, 4)
    assert where("2c", fake, width=2)[:2] == (0x2C, 2)
    assert where("2c", fake)[:2] == (0x2C, 4)
    with pytest.raises(CfgbenchError, match="asks for 1 bytes but -w says 4"):
        where("COMMAND.b", fake, width=4)


def test_header_registers_exist_only_in_their_layout(fake: FakeAccessor) -> None:
    assert where("PRIMARY_BUS", fake, BRIDGE) == (0x18, 1, "PRIMARY_BUS")
    assert where("secondary_bus", fake, BRIDGE)[:2] == (0x19, 1)
    with pytest.raises(CfgbenchError, match="type 1 header, which has no BASE_ADDRESS_2"):
        where("BASE_ADDRESS_2", fake, BRIDGE)
    with pytest.raises(CfgbenchError, match="type 0 header, which has no PRIMARY_BUS"):
        where("PRIMARY_BUS", fake)


# --------------------------------------------------------------------------- capabilities


def test_capability_names_walk_the_lists(fake: FakeAccessor) -> None:
    assert where("CAP_MSIX", fake) == (0x98, 4, "CAP_MSIX")
    assert where("CAP_MSIX+2.w", fake) == (0x9A, 2, "CAP_MSIX+2")
    assert where("cap11+2.w", fake)[:2] == (0x9A, 2)  # by number
    assert where("CAP_VNDR.b", fake)[:2] == (0x40, 1)
    assert where("CAP_VNDR.b@1", fake)[:2] == (0x50, 1)  # the second one, counting from 0
    assert where("CAP_VNDR.b@4", fake)[:2] == (0x84, 1)
    assert where("CAP_PM+4.w", fake, BRIDGE)[:2] == (0x44, 2)
    assert where("CAP_EXP", fake, BRIDGE)[:2] == (0x50, 4)
    assert where("ECAP_AER", fake, BRIDGE)[:2] == (0x100, 4)
    assert where("ECAP_DSN+4", fake, BRIDGE)[:2] == (0x144, 4)
    assert where("ECAP1@1", fake, BRIDGE)[:2] == (0x180, 4)


def test_a_missing_capability_is_one_clear_error(fake: FakeAccessor) -> None:
    with pytest.raises(CfgbenchError, match="has no capability 0x1 number 0 .CAP_PM.*it has none"):
        where("CAP_PM", fake)
    with pytest.raises(CfgbenchError, match="has no capability 0x9 number 5 .*it has 5"):
        where("CAP_VNDR@5", fake)
    with pytest.raises(CfgbenchError, match="has no extended capability 0x1 number 0"):
        where("ECAP_AER", fake)


def test_names_need_no_device_until_they_do() -> None:
    assert not parse_register("COMMAND").needs_device
    assert not parse_register("0x100.w").needs_device
    assert parse_register("CAP_PM").needs_device and parse_register("BASE_ADDRESS_2").needs_device


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("text", "needle"), [
    ("xyz", "neither hex nor a register"), ("0x", "neither hex"), ("-4", "neither hex"), ("", "neither hex"),
    ("1.5", "width suffix '5'"), ("4.q", "width suffix 'q'"), ("4.ww", "width suffix 'ww'"),
    ("COMMAND+zz", "+zz is not a hex offset"), ("COMMAND+1000", "below 0x1000"), ("CAP_PM@x", "capability number"),
    ("40@1", "not a capability"), ("CAP100", "neither hex"), ("ECAP1000", "neither hex"),
    ("1000", "outside the 4096-byte config space"), ("99999999999999999999", "outside"),
])
def test_what_setpci_would_not_take_is_one_clear_error(text: str, needle: str) -> None:
    with pytest.raises(CfgbenchError, match=re.escape(needle)):
        parse_register(text)


def test_a_write_is_refused() -> None:
    with pytest.raises(CfgbenchError, match="only reads"):
        parse_register("COMMAND=0")


@given(st.integers(0, 0xFFF), st.integers(0, 0xFFF), st.sampled_from(["", ".b", ".W", ".l", ".L"]), st.booleans(),
       st.booleans())
def test_hex_forms_parse_to_the_offset_and_width_they_spell(address: int, extra: int, suffix: str, prefix: bool,
                                                             plus: bool) -> None:
    """setpci's numbers are hex, 0x optional; +hex adds; .B/.W/.L is 1, 2 or 4 bytes, any case."""
    text = f"{'0x' if prefix else ''}{address:x}{f'+{extra:x}' if plus else ''}{suffix}"
    total = address + (extra if plus else 0)
    width = {"": None, ".b": 1, ".w": 2, ".l": 4}[suffix.lower()]
    if total >= 0x1000:
        with pytest.raises(CfgbenchError, match="outside the 4096-byte config space"):
            parse_register(text)
        return
    spec = parse_register(f" {text} ")
    assert (spec.address, spec.width, spec.needs_device) == (total, width, False)


HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")
REFUSALS = ("is not a config-space offset", "outside the 4096-byte config space", "writes a value")


@given(st.one_of(st.text(max_size=16), st.from_regex(r"\A[0-9a-fA-FxX_A-Z]{0,8}(\+[0-9a-fA-Fx]{0,4})?(\.[BWLbwlq])?(@[0-9a-f])?\Z")))
def test_any_text_is_a_register_or_one_of_the_refusals(text: str) -> None:
    """No other exception escapes; a write is always refused; a plain hex
    text is the offset it spells; whatever parses stays inside config space."""
    try:
        spec = parse_register(text)
    except CfgbenchError as exc:
        assert any(refusal in exc.one_line() for refusal in REFUSALS), exc.one_line()
        return
    assert "=" not in text  # setpci's REG=VALUE writes: never taken
    assert spec.width in (None, 1, 2, 4)
    base = re.split(r"[@.+]", text.strip())[0]
    if spec.capability is None:
        assert 0 <= spec.address < 0x1000
    if HEX.fullmatch(base) and "@" not in text:
        extra = text.strip().split("@")[0].split(".")[0].partition("+")[2]
        assert spec.address == int(base, 16) + (int(extra, 16) if extra else 0)
        assert spec.name == "" and spec.capability is None


def test_every_text_is_parsed_before_any_device_is_read() -> None:
    """resolve_all refuses a bad register without opening a reader at all."""
    opened: list[bool] = []

    def never_opened() -> FakeAccessor:
        opened.append(True)
        raise AssertionError("a reader was opened before every text was parsed")

    with pytest.raises(CfgbenchError, match="xyz"):
        resolve_all([VIRTIO_NET], ["CAP_PM", "xyz"], None, never_opened)
    assert opened == []


# --------------------------------------------------------------------------- the tables are setpci's

SETPCI = shutil.which("setpci")


@pytest.mark.skipif(SETPCI is None, reason="pciutils' setpci is not installed")
def test_the_name_tables_agree_with_setpci_dumpregs() -> None:
    """`setpci --dumpregs` prints setpci's own table (cap, pos, width, name);
    every entry must be ours too (a newer setpci may know more capabilities)."""
    assert SETPCI is not None
    rows = subprocess.run([SETPCI, "--dumpregs"], capture_output=True, text=True, check=True).stdout.splitlines()[1:]
    for row in rows:
        match = re.fullmatch(r"\s*(?P<cap>[0-9a-f]{2,4})?\s+(?P<pos>[0-9a-f]{2}) (?P<w>[-BWL]) (?P<name>\w+)", row)
        assert match, row
        name = match["name"]
        if match["cap"] is None:
            assert (NAMED[name].offset, NAMED[name].width) == (int(match["pos"], 16), {"B": 1, "W": 2, "L": 4}[match["w"]]), name
        elif len(match["cap"]) == 2:
            assert CAPABILITIES[name] == int(match["cap"], 16), name
        else:
            assert EXTENDED_CAPABILITIES.get(name, int(match["cap"], 16)) == int(match["cap"], 16), name


@pytest.mark.skipif(SETPCI is None, reason="pciutils' setpci is not installed")
@pytest.mark.parametrize("register", ["0.l", "COMMAND", "status", "VENDOR_ID+1.b", "HEADER_TYPE", "8.l", "e.b"])
def test_cfgbench_read_prints_what_setpci_prints(register: str) -> None:
    """Both through the kernel's sysfs files (setpci -A linux-sysfs: no port
    or /dev/mem access), on this machine's host bridge."""
    assert SETPCI is not None
    theirs = subprocess.run([SETPCI, "-A", "linux-sysfs", "-s", "0000:00:00.0", register], capture_output=True, text=True)
    if theirs.returncode != 0:
        pytest.skip(f"setpci cannot read it here: {theirs.stderr.strip()}")
    ours = cfgbench("read", "-m", "kernel", "0000:00:00.0", register)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


# --------------------------------------------------------------------------- the CLI


def test_read_takes_hex_and_names_and_says_what_it_read_on_stderr() -> None:
    result = cfgbench("read", "-m", "fake", "00:03.0", "2c", env=FAKE)
    assert (result.returncode, result.stdout) == (0, "10411af4\n"), result.stderr
    assert result.stderr == "cfgbench: 0000:00:03.0 register 0x02c (4 bytes) via fake\n"
    result = cfgbench("read", "-m", "fake", "00:03.0", "SUBSYSTEM_ID", env=FAKE)
    assert (result.stdout, result.stderr) == ("1041\n", "cfgbench: 0000:00:03.0 register 0x02e SUBSYSTEM_ID (2 bytes) via fake\n")
    result = cfgbench("read", "-m", "fake", "00:03.0", "CAP_MSIX+2.w", env=FAKE)
    assert (result.stdout, result.stderr) == ("8002\n", "cfgbench: 0000:00:03.0 register 0x09a CAP_MSIX+2 (2 bytes) via fake\n")
    result = cfgbench("read", "-m", "fake", "00:03.0", "40.b", env=FAKE)
    assert result.stdout == "09\n"  # 40 is 0x40, not decimal 40 (0x28)


def test_run_offsets_follow_the_same_rule(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = cfgbench("run", "-m", "fake", "-d", "00:03.0", "--offset", "2c", "--offset", "COMMAND", "--offset", "CAP_MSIX+2.w",
                      "-o", str(out), "--in-process", "--loops", "64", "--values", "1", "--samples", "0", "-q", env=FAKE)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    for name in ("read 0000:00:03.0+0x02c/4", "read 0000:00:03.0+0x004/2", "read 0000:00:03.0+0x09a/2"):
        assert name in text


def test_the_rule_is_stated_in_help() -> None:
    for command in ("read", "run"):
        text = " ".join(cfgbench(command, "--help").stdout.split())
        assert "hex as setpci takes it" in text and "CAP_PM" in text and ".B/.W/.L" in text, command


@pytest.mark.parametrize(("args", "needle"), [(["00:03.0", "xyz"], "not a config-space offset"),
                                              (["-w", "1", "00:03.0", "COMMAND.w"], "-w says 1"),
                                              (["00:03.0", "CAP_PM"], "has no capability")])
def test_read_refusals_are_one_line(args: list[str], needle: str) -> None:
    assert_one_line_error(cfgbench("read", "-m", "fake", *args, env=FAKE), needle)
