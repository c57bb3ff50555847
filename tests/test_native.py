"""The C loops, run on ordinary memory and on sysfs (never on ports or /dev/mem)."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

from cfgbench._native import _loops, ffi, lib
from cfgbench.timing import null_loop_ns, null_target, run_loop

from disasm import OBJDUMP, disassemble, loops

# Whichever function the kernel lists first: no machine is promised a 0000:00:00.0.
CONFIG = next(iter(sorted(Path("/sys/bus/pci/devices").glob("*/config"))), None)
needs_sysfs = pytest.mark.skipif(CONFIG is None, reason="no PCI function in sysfs here")


def memory_target(buffer: bytearray, offset: int, width: int, expected: int):  # type: ignore[no-untyped-def]
    pointer = ffi.from_buffer(buffer)
    target = ffi.new("struct cfg_target *")
    target.kind = lib.CFG_KIND_MEM
    target.width = width
    target.mem = pointer + offset
    target.expected = expected
    return target, pointer


@pytest.mark.parametrize(("width", "expected"), [(1, 0x57), (2, 0x0D57), (4, 0x12340D57)])
def test_memory_loop_reads_exactly_the_width(width: int, expected: int) -> None:
    buffer = bytearray(16)
    buffer[4:8] = struct.pack("<I", 0x12340D57)
    target, _keep = memory_target(buffer, 4, width, expected)
    result = run_loop(target, 1000)
    assert result.reads == 1000
    assert result.mismatches == 0
    assert result.last_value == expected
    assert result.ns > 0


def test_memory_loop_counts_mismatches() -> None:
    buffer = bytearray(8)
    buffer[0:4] = struct.pack("<I", 7)
    target, _keep = memory_target(buffer, 0, 4, 8)
    result = run_loop(target, 500)
    assert result.mismatches == 500
    assert result.last_value == 7


def test_time_many_walks_every_target() -> None:
    buffer = bytearray(range(16))
    pointer = ffi.from_buffer(buffer)
    targets = ffi.new("struct cfg_target[4]")
    for i in range(4):
        targets[i].kind = lib.CFG_KIND_MEM
        targets[i].width = 1
        targets[i].mem = pointer + i * 4
        targets[i].expected = i * 4 if i != 2 else 99
    result = ffi.new("struct cfg_loop_result *")
    assert lib.cfg_time_many(targets, 4, 3, result) == 0
    assert result.reads == 12
    assert result.mismatches == 3
    assert result.last_value == 12


def test_sample_loop_fills_one_count_per_read() -> None:
    buffer = bytearray(4)
    target, _keep = memory_target(buffer, 0, 4, 0)
    cycles = ffi.new("uint64_t[]", 64)
    result = ffi.new("struct cfg_loop_result *")
    assert lib.cfg_sample_loop(target, 64, cycles, result) == 0
    assert result.reads == 64
    if lib.cfg_have_x86():
        assert all(cycles[i] > 0 for i in range(64))


def test_invalid_width_is_refused_by_the_c_code() -> None:
    target, _keep = memory_target(bytearray(4), 0, 3, 0)
    result = ffi.new("struct cfg_loop_result *")
    assert lib.cfg_time_loop(target, 10, result) == 22  # EINVAL


@needs_sysfs
def test_pread_loop_reads_the_kernels_value() -> None:
    assert CONFIG is not None
    expected = struct.unpack("<I", CONFIG.read_bytes()[:4])[0]
    fd = os.open(CONFIG, os.O_RDONLY)
    try:
        target = ffi.new("struct cfg_target *")
        target.kind = lib.CFG_KIND_PREAD
        target.width = 4
        target.fd = fd
        target.file_offset = 0
        target.expected = expected
        result = run_loop(target, 20)
    finally:
        os.close(fd)
    assert result.mismatches == 0
    assert result.last_value == expected


def test_pread_loop_reports_errors() -> None:
    target = ffi.new("struct cfg_target *")
    target.kind = lib.CFG_KIND_PREAD
    target.width = 4
    target.fd = -1
    result = ffi.new("struct cfg_loop_result *")
    assert lib.cfg_time_loop(target, 5, result) == 9  # EBADF
    assert result.reads == 0


def pread_target(kind: int, fd: int, offset: int, expected: int):  # type: ignore[no-untyped-def]
    target = ffi.new("struct cfg_target *")
    target.kind, target.width, target.fd, target.file_offset, target.expected = kind, 4, fd, offset, expected
    return target


@needs_sysfs
def test_the_floor_loop_counts_the_bytes_it_got_and_expects_none() -> None:
    """The kernel floor: a pread at the end of what the descriptor may read
    returns 0 bytes (0 mismatches); one that returns bytes is a mismatch,
    never an error, so a wrong floor shows in the counts."""
    assert CONFIG is not None
    size = CONFIG.stat().st_size
    fd = os.open(CONFIG, os.O_RDONLY)
    try:
        at_end = run_loop(pread_target(lib.CFG_KIND_PREAD_FLOOR, fd, size, 0), 20)
        inside = run_loop(pread_target(lib.CFG_KIND_PREAD_FLOOR, fd, 0, 0), 20)
    finally:
        os.close(fd)
    assert (at_end.reads, at_end.mismatches, at_end.last_value) == (20, 0, 0)
    assert (inside.reads, inside.mismatches, inside.last_value) == (20, 20, 4)


@pytest.mark.parametrize("kind", ["CFG_KIND_PIO_DATA_READ", "CFG_KIND_PIO_ADDRESS_READ"])
def test_many_targets_refuse_the_halves_of_type1_before_any_access(kind: str) -> None:
    """One latch of 0xCF8 per call cannot serve many registers: cfg_time_many
    refuses (EINVAL) before it reads, or writes, anything."""
    targets = ffi.new("struct cfg_target[2]")
    for target in targets:
        target.kind, target.width = lib.CFG_KIND_NULL, 4
    targets[1].kind = getattr(lib, kind)
    result = ffi.new("struct cfg_loop_result *")
    assert lib.cfg_time_many(targets, 2, 1, result) == errno.EINVAL
    assert result.reads == 0


def test_null_loop_floor_is_positive() -> None:
    floor = null_loop_ns(reads=1 << 16, repeats=2)
    assert 0 < floor < 1000


@pytest.mark.parametrize("reads", [1, 7, 8, 9, 64, 1001])
@pytest.mark.parametrize("width", [1, 2, 4])
def test_unrolled_loops_count_every_read_and_every_mismatch(reads: int, width: int) -> None:
    """Eight reads per iteration, and a tail: counts stay exact for any n."""
    buffer = bytearray(struct.pack("<I", 0x12345678))
    value = {1: 0x78, 2: 0x5678, 4: 0x12345678}[width]
    for expected, mismatches in ((value, 0), (value ^ 1, reads)):
        target, _keep = memory_target(buffer, 0, width, expected)
        result = run_loop(target, reads)
        assert (result.reads, result.mismatches, result.last_value) == (reads, mismatches, value)


def test_the_null_loop_counts_like_the_others() -> None:
    target = null_target()
    result = run_loop(target, 1003)
    assert (result.reads, result.mismatches, result.last_value) == (1003, 0, 0)


X86_64 = lib.cfg_have_x86() and ffi.sizeof("void *") == 8
TIMED_FUNCTIONS = ("cfg_time_loop", "cfg_time_many", "cfg_sample_loop")
CACHE_LINE = 64


@pytest.mark.skipif(OBJDUMP is None or not X86_64, reason="needs objdump and an x86-64 build")
@pytest.mark.parametrize("function", TIMED_FUNCTIONS)
def test_no_timed_loop_straddles_a_64_byte_line_unless_it_starts_one(function: str) -> None:
    """A loop body that crosses a 64-byte boundary costs extra instruction
    fetches per iteration (the null loop measured 1.3-1.6 ns where the
    memory loop with the same body measured 0.6-0.8 ns): each loop of the
    built module fits in one 64-byte line or starts on one."""
    code = disassemble(Path(_loops.__file__))[function]
    found = loops(code)
    assert found, "no loop found: the scan is out of date"
    straddling = [f"{head:#x}-{end:#x}" for head, end in found
                  if head % CACHE_LINE and head // CACHE_LINE != (end - 1) // CACHE_LINE]
    assert straddling == []


@pytest.mark.skipif(OBJDUMP is None or not X86_64, reason="needs objdump and an x86-64 build")
def test_every_kind_and_width_has_its_own_timed_loop() -> None:
    """The loop scan sees the loops it checks: null, three memory widths,
    three port widths (eight reads an iteration, each with its tail), pread
    (and the floor's); the split workload's address write, three data read
    widths and the address read."""
    assert len(loops(disassemble(Path(_loops.__file__))["cfg_time_loop"])) >= 1 + 2 * 3 + 2 * 3 + 1 + 2 + 2 * 3 + 2


# --------------------------------------------------------------------------- the mapping function, on a plain file


def test_map_config_maps_whole_pages_read_only(tmp_path: Path) -> None:
    """cfg_map_config is what maps /dev/mem; on an ordinary file it shows the
    same rules without touching hardware."""
    data = tmp_path / "window"
    data.write_bytes(bytes(4096) + struct.pack("<I", 0xCAFEF00D) + bytes(4092))
    fd = os.open(data, os.O_RDONLY)
    mapping = ffi.new("void **")
    try:
        assert lib.cfg_map_config(fd, 0, 8192, mapping) == 0
        target = ffi.new("struct cfg_target *")
        target.kind, target.width, target.expected = lib.CFG_KIND_MEM, 4, 0xCAFEF00D
        target.mem = ffi.cast("const volatile uint8_t *", mapping[0]) + 4096
        assert run_loop(target, 16).mismatches == 0
        lib.cfg_unmap_config(mapping[0], 8192)
        for physical, length in ((1, 4096), (0, 0), (0, 4097), (0, (256 << 20) + 4096)):
            assert lib.cfg_map_config(fd, physical, length, mapping) == errno.EINVAL, (physical, length)
    finally:
        os.close(fd)
