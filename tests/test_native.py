"""The C loops, run on ordinary memory and on sysfs (never on ports or /dev/mem)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from cfgbench._native import ffi, lib
from cfgbench.measure import null_loop_ns, run_loop

CONFIG = Path("/sys/bus/pci/devices/0000:00:00.0/config")


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


def test_pread_loop_reads_the_kernels_value() -> None:
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


def test_null_loop_floor_is_positive() -> None:
    floor = null_loop_ns(reads=1 << 16, repeats=2)
    assert 0 < floor < 1000
