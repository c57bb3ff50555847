"""What a run does before it times a raw method (README, "cfgbench run"): the
method must pass pciutils' sanity check (a host bridge on bus 0), and every
register it reads must equal the kernel's read, or cfgbench refuses to time
the wrong thing and names both values.

The raw method is a double over a dump (tests/rawdouble.py); the kernel is
this machine's real sysfs. The expected values are read here from the sysfs
files themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cfgbench import access
from cfgbench.access.fake import FAKE_DUMP_ENV
from cfgbench.address import Bdf
from cfgbench.cli import main
from cfgbench.checks import sanity_check
from cfgbench.results import load_suite
from rawdouble import DEVICE_ID, RawDump, dump_of_this_machine, lspci_rows

HOST_BRIDGE = Bdf(0, 0, 0, 0)
CONFIG = Path(f"/sys/bus/pci/devices/{HOST_BRIDGE}/config")
TIMED_QUICKLY = ["--in-process", "--loops", "64", "--values", "2", "--warmups", "0", "--samples", "0", "-q"]

pytestmark = pytest.mark.skipif(not CONFIG.exists(), reason=f"no {HOST_BRIDGE} in sysfs here")


def kernels_dword(offset: int) -> int:
    return int.from_bytes(CONFIG.read_bytes()[offset:offset + 4], "little")


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, type[RawDump]], None]:
    """Register a double as a method and point it at a dump."""
    def _serve(dump: Path, double: type[RawDump] = RawDump) -> None:
        monkeypatch.setitem(access.METHODS, double.name, double)
        monkeypatch.setenv(FAKE_DUMP_ENV, str(dump))
    return _serve


def cfgbench(*args: str) -> Result:
    """The command in this process, where the double is registered."""
    return CliRunner().invoke(main, list(args))


def assert_refused(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cfgbench: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# --------------------------------------------------------------------------- the value against the kernel's


def test_a_raw_method_that_reads_the_kernels_values_is_timed(tmp_path: Path, serve: Callable[..., None]) -> None:
    serve(dump_of_this_machine(tmp_path / "same.lspci"))
    out = tmp_path / "same.json"
    result = cfgbench("run", "-m", "rawdump", "-d", str(HOST_BRIDGE), "--offset", "0", "-o", str(out), *TIMED_QUICKLY)
    assert result.exit_code == 0, result.stderr
    [bench] = load_suite(out).get_benchmarks()
    assert bench.get_metadata()["cfgbench_value"] == f"{kernels_dword(0):#010x}"


def test_a_raw_method_that_reads_another_value_is_refused_and_both_values_named(
        tmp_path: Path, serve: Callable[..., None]) -> None:
    serve(dump_of_this_machine(tmp_path / "changed.lspci", changed=(HOST_BRIDGE, DEVICE_ID)))
    out = tmp_path / "changed.json"
    result = cfgbench("run", "-m", "rawdump", "-d", str(HOST_BRIDGE), "--offset", "0", "-o", str(out), *TIMED_QUICKLY)
    kernel = kernels_dword(0)
    assert_refused(result, f"rawdump read {kernel ^ 0x10000:#010x} at {HOST_BRIDGE}+0x0",
                   f"the kernel read {kernel:#010x}", "refusing to time the wrong register")
    assert not out.exists()


class Flickering(RawDump):
    """Its first read of the ID dword returns another device ID, later reads
    the right one: a register that changed between two reads. (The sanity
    check's 2-byte reads of the vendor ID are left alone.)"""

    name = "flickering"
    flickered = False

    def read(self, bdf: Bdf, offset: int, width: int, access: str = "read") -> int:
        value = super().read(bdf, offset, width, access)
        if (offset, width) == (0, 4) and not Flickering.flickered:
            Flickering.flickered = True
            return value ^ 0x10000
        return value


def test_a_value_that_differs_once_is_looked_at_again_and_timed(tmp_path: Path, serve: Callable[..., None],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused only when it stays different over a second look: a status or
    counter register may change between reads, and is timed (its changes show
    as mismatches)."""
    monkeypatch.setattr(Flickering, "flickered", False)
    serve(dump_of_this_machine(tmp_path / "same.lspci"), Flickering)
    out = tmp_path / "flicker.json"
    result = cfgbench("run", "-m", "flickering", "-d", str(HOST_BRIDGE), "--offset", "0", "-o", str(out),
                      *TIMED_QUICKLY)
    assert result.exit_code == 0, result.stderr
    assert Flickering.flickered
    [bench] = load_suite(out).get_benchmarks()
    assert bench.get_metadata()["cfgbench_value"] == f"{kernels_dword(0):#010x}"


# --------------------------------------------------------------------------- pciutils' sanity check


def dump_of(path: Path, spaces: dict[Bdf, bytes]) -> Path:
    path.write_text("\n".join(f"{bdf} Device: test\n{lspci_rows(space)}\n" for bdf, space in spaces.items()))
    return path


def header(vendor: int, device: int, class_code: int) -> bytes:
    """A type 0 header: vendor, device, then the class (base, sub) at 0x0A."""
    space = bytearray(256)
    space[0:4] = (vendor | device << 16).to_bytes(4, "little")
    space[0x0A:0x0C] = class_code.to_bytes(2, "little")
    return bytes(space)


NO_HOST_BRIDGE = {
    # Reads all ones everywhere: the method reaches no config space at all.
    "nothing-answers": {},
    # Functions on bus 0, none a host bridge, a display controller, or Intel's or Compaq's.
    "no-bridge-on-bus-0": {Bdf(0, 0, 0, 0): header(0x1AF4, 0x1000, 0x0200), Bdf(0, 0, 3, 0): header(0x1AF4, 0x1001, 0x0100),
                           Bdf(0, 1, 0, 0): header(0x8086, 0x0D57, 0x0600)},
}


@pytest.mark.parametrize("command", ["run", "read"])
@pytest.mark.parametrize("case", NO_HOST_BRIDGE)
def test_a_raw_method_that_finds_no_host_bridge_on_bus_0_is_refused(tmp_path: Path, serve: Callable[..., None],
                                                                  case: str, command: str) -> None:
    serve(dump_of(tmp_path / f"{case}.lspci", NO_HOST_BRIDGE[case]))
    args = ["run", "-m", "rawdump", "-o", str(tmp_path / "x.json"), *TIMED_QUICKLY] if command == "run" else \
        ["read", "-m", "rawdump", str(HOST_BRIDGE), "0"]
    assert_refused(cfgbench(*args), "rawdump finds no host bridge on bus 0", "does not reach real config space")
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(("vendor", "class_code"), [(0x1AF4, 0x0600), (0x1AF4, 0x0300), (0x8086, 0x0200),
                                                    (0x0E11, 0x0200)], ids=["host-bridge", "display", "intel", "compaq"])
def test_a_host_bridge_a_display_or_an_intel_or_compaq_function_on_bus_0_passes(
        tmp_path: Path, vendor: int, class_code: int) -> None:
    """pciutils' intel_sanity_check, met by one function that is not 00:00.0."""
    with RawDump(dump_of(tmp_path / "one.lspci", {Bdf(0, 0, 5, 0): header(vendor, 0x1234, class_code)})) as double:
        sanity_check(double)
