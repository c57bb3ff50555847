"""A battery of bad inputs across the CLI (issue 6): each one must end with exit
code 2, exactly one line on stderr naming the cause, no traceback, and nothing
written: the working directory and the temporary directory are compared byte
for byte (and by mtime) before and after.

Cases marked xfail are product bugs found by this battery; each reason says
what the product does instead. They are strict: fixing the bug makes the
suite say so, and the mark must then go."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_helpers import HOST_DUMP, QUICK_IN_PROCESS, assert_one_line_error, cfgbench
from resultfiles import HOST_BRIDGE, make_benchmark, write_result, write_suite

FAKE = {"CFGBENCH_FAKE_DUMP": str(HOST_DUMP)}
# A file that even root cannot open for reading: sysfs refuses reads of
# attributes without a show method (EACCES), whatever the capabilities.
ROOT_UNREADABLE = next(iter(sorted(Path("/sys/bus").glob("*/uevent"))), None)



@dataclass(frozen=True)
class Bad:
    """One bad command line, run in a directory holding the files of `populate`."""

    name: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    bug: str = ""  # a product bug: the case is expected to fail, strictly


def populate(work: Path) -> None:
    """Every file the cases refer to, by relative name."""
    write_result(work / "good.json", "kernel", {HOST_BRIDGE: 30e-6})
    good = (work / "good.json").read_text()
    (work / "truncated.json").write_text(good[: len(good) // 2])
    (work / "empty.json").write_text("")
    (work / "binary.json").write_bytes(b"\xff\xfe\x00\x80" * 64)
    (work / "foreign.json").write_text('{"name": "not a benchmark", "values": [1, 2]}')
    (work / "list.json").write_text("[1, 2, 3]")
    (work / "no-benchmarks.json").write_text('{"version": "1.0", "metadata": {}, "benchmarks": []}')
    write_suite(work / "plain-pyperf.json", [make_benchmark([1e-6, 2e-6, 3e-6], {"name": "bench", "unit": "second"})])
    # A result of the same method and target, but with another host's pyperf metadata.
    write_result(work / "other-host.json", "fake", {HOST_BRIDGE: 30e-6})
    (work / "precious.json").write_text("precious")
    (work / "a-file").write_text("a regular file, not a directory")
    (work / "a-dir").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:  # the node stays after close
        sock.bind(str(work / "a-socket"))
    os.mkfifo(work / "a-fifo")


def snapshot(*directories: Path) -> dict[str, tuple[str, bytes, int]]:
    """Every entry below the directories: kind, content of regular files, mtime."""
    entries = {}
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            stat = path.lstat()
            kind = "file" if path.is_file() else "dir" if path.is_dir() else "other"
            entries[str(path)] = (kind, path.read_bytes() if kind == "file" else b"", stat.st_mtime_ns)
    return entries


READ = ("read", "-m", "fake")
RUN = ("run", "-m", "fake", "-o", "out.json")

CASES = [
    # --- PCI addresses
    Bad("bdf-letters", (*RUN, "-d", "0000:zz:00.0"), ("not a PCI address", "0000:zz:00.0")),
    Bad("bdf-no-function", (*READ, "00:00", "0"), ("not a PCI address",)),
    Bad("bdf-empty", (*RUN, "-d", ""), ("not a PCI address",)),
    Bad("bdf-extra-field", (*READ, "0000:00:00.0.0", "0"), ("not a PCI address",)),
    Bad("bdf-comma-list", (*RUN, "-d", "00:00.0,00:01.0"), ("not a PCI address",)),
    Bad("domain-nine-digits", (*READ, "100000000:00:00.0", "0"), ("not a PCI address",)),
    Bad("domain-out-of-range", (*READ, "80000000:00:00.0", "0"), ("domain 0x80000000", "out of range")),
    Bad("bus-out-of-range", (*READ, "100:00.0", "0"), ("100:00.0", "out of range")),
    Bad("device-out-of-range", (*RUN, "-d", "00:20.0"), ("out of range", "0x20")),
    Bad("function-out-of-range", (*READ, "00:00.8", "0"), ("00:00.8", "out of range")),
    Bad("function-absent", (*RUN, "-d", "00:09.0"), ("no device", "0000:00:09.0")),
    Bad("function-absent-read-past-its-vendor-id", (*READ, "00:09.0", "0x2c"), ("no device answers", "0000:00:09.0")),
    # --- offsets
    Bad("offset-negative", (*RUN, "--offset", "-4"), ("not a config-space offset",)),
    Bad("offset-unaligned-dword", (*RUN, "--offset", "0x2"), ("not aligned",)),
    Bad("offset-unaligned-word", (*READ, "-w", "2", "00:00.0", "0x3"), ("not aligned",)),
    Bad("offset-past-extended-space", (*RUN, "--offset", "0x1000"), ("outside", "4096")),
    Bad("offset-past-legacy-space", (*READ, "00:01.0", "0x100"), ("outside", "256")),
    Bad("offset-huge", (*READ, "00:00.0", "99999999999999999999"), ("outside",)),
    Bad("offset-not-a-number", (*READ, "00:00.0", "xyz"), ("not a config-space offset",)),
    Bad("offset-is-hex", (*READ, "00:00.0", "abc"), ("offset 0xabc", "--allow-any-offset")),  # abc is hex, as in setpci
    Bad("offset-unknown-name", (*RUN, "--offset", "CAP_NOSUCH"), ("not a config-space offset", "setpci")),
    Bad("offset-absent-capability", (*RUN, "--offset", "ECAP_AER"), ("no extended capability 0x1",)),
    Bad("offset-write", (*READ, "00:00.0", "COMMAND=0"), ("only reads",)),
    Bad("offset-bare-prefix", (*RUN, "--offset", "0x"), ("not a config-space offset",)),
    Bad("offset-fraction", (*READ, "00:00.0", "1.5"), ("not a config-space offset",)),
    # The virtio configuration access window: reading it makes the device read its BAR.
    Bad("offset-in-vendor-capability", (*RUN, "-d", "00:01.0", "--offset", "0x94"),
        ("vendor-specific", "--allow-any-offset")),
    Bad("offset-unclaimed", (*RUN, "-d", "00:01.0", "--offset", "0xc0"), ("neither", "--allow-any-offset")),
    Bad("read-in-vendor-capability", (*READ, "00:01.0", "0x94"), ("vendor-specific", "--allow-any-offset")),
    # --- widths
    Bad("width-3", (*READ, "-w", "3", "00:00.0", "0"), ("width",)),
    Bad("width-8", (*RUN, "-w", "8"), ("width",)),
    Bad("width-0", (*READ, "-w", "0", "00:00.0", "0"), ("width",)),
    # --- methods
    Bad("method-unknown", ("run", "-m", "nosuch", "-o", "out.json"), ("unknown method", "nosuch")),
    Bad("method-empty", ("read", "-m", "", "00:00.0", "0"), ("unknown method",)),
    Bad("method-second-unknown", (*RUN, "-m", "nosuch"), ("unknown method", "nosuch")),
    # The fake is found from the CLI: its refusal says how to enable it (issue 26).
    Bad("method-fake-without-dump", (*READ, "00:00.0", "0"), ("fake method is not enabled", "set CFGBENCH_FAKE_DUMP",
                                                                "lspci -xxxx"), env={"CFGBENCH_FAKE_DUMP": ""}),
    Bad("method-fake-without-dump-run", RUN, ("fake method is not enabled", "set CFGBENCH_FAKE_DUMP", "lspci -xxxx"),
        env={"CFGBENCH_FAKE_DUMP": ""}),
    Bad("method-raw-forbidden-here", ("run", "-m", "mmio", "-o", "out.json"), ("forbidden",)),
    Bad("method-pio-forbidden-here", ("read", "-m", "pio", "00:00.0", "0"), ("raw method pio is forbidden",)),
    Bad("method-missing", ("run", "-o", "out.json"), ("--method",)),
    Bad("command-unknown", ("nosuch",), ("nosuch",)),
    # --- run options
    Bad("fast-and-rigorous", (*RUN, "--fast", "--rigorous"), ("contradict",)),
    Bad("append-without-output", ("run", "-m", "fake", "--append"), ("needs -o",)),
    Bad("metadata-without-value", (*RUN, "--metadata", "novalue"), ("KEY=VALUE",)),
    Bad("two-methods-one-file", (*RUN, "-m", "kernel"), ("{method}",)),
    Bad("loops-zero", (*RUN, "--loops", "0"), ("--loops",)),
    # --- bounds (issue 25): one table, limits.BOUNDS; a refusal names the option, the value and the range
    Bad("loops-huge", ("run", "-m", "kernel", "--loops", "99999999999999999999999"), ("--loops", "99999999999999999999999", "4294967296")),
    Bad("loops-huge-in-process", ("run", "-m", "kernel", "--in-process", "--loops", "99999999999999999999999"), ("--loops",)),
    Bad("min-time-huge", ("run", "-m", "kernel", "--min-time", "1e308"), ("--min-time 1e+308", "plan unbounded h", "over the limit of 1 h")),
    Bad("min-time-nan", (*RUN, "--min-time", "nan"), ("--min-time", "nan")),
    Bad("samples-huge", (*RUN, "--samples", "100000000000"), ("--samples", "1000000")),
    Bad("processes-times-values", (*RUN, "--processes", "1000", "--values", "1000"), ("plan", "h of timing", "1 h")),
    Bad("affinity-huge-cpu", (*RUN, "--affinity", "0-99999999999"), ("--affinity", "8191")),
    Bad("append-and-resume", (*RUN, "--append", "--resume"), ("--append", "--resume", "cannot go together")),
    Bad("plot-is-the-output", ("run", "-m", "fake", "-o", "out.png", "--plot", "out.png"), ("--plot", "-o")),
    Bad("fail-if-infinite", ("compare", "good.json", "good.json", "--fail-if", "mean:" + "9" * 400 + "%"), ("--fail-if",)),
    Bad("plot-size-huge", ("plot", "good.json", "-o", "x.png", "--size", "100000x100000"), ("--size", "25000000")),
    Bad("plot-dpi-huge", ("plot", "good.json", "-o", "x.png", "--dpi", "1000000"), ("--dpi", "600")),
    Bad("history-max-pvalue-nan", ("history", "show", "a-dir", "--max-pvalue", "nan"), ("--max-pvalue", "nan")),
    Bad("history-max-pvalue-one", ("history", "show", "a-dir", "--max-pvalue", "1"), ("--max-pvalue 1", "(both excluded)")),
    Bad("history-max-pvalue-zero", ("history", "show", "a-dir", "--max-pvalue", "0"), ("--max-pvalue 0", "(both excluded)")),
    Bad("lab-timeout-infinite", ("lab", "--timeout", "inf"), ("--timeout", "inf")),
    Bad("lab-boots-with-a-command", ("lab", "--boots", "2", "--", "true"), ("--boots", "main job")),
    # --- files that are not regular files: one line, and a FIFO never blocks
    Bad("show-dev-zero", ("show", "/dev/zero"), ("/dev/zero", "not a regular file")),
    Bad("show-fifo", ("show", "a-fifo"), ("a-fifo", "not a regular file")),
    Bad("compare-fifo", ("compare", "good.json", "a-fifo"), ("a-fifo", "not a regular file")),
    Bad("fake-dump-is-a-fifo", (*READ, "00:00.0", "0"), ("a-fifo", "not a regular file"), env={"CFGBENCH_FAKE_DUMP": "a-fifo"}),
    Bad("name-too-long", ("compare", "good.json", "a" * 300), ("File name too long",)),
    # --- result files given to compare
    Bad("compare-missing", ("compare", "missing.json", "good.json"), ("missing.json", "does not exist")),
    Bad("compare-directory", ("compare", "a-dir", "good.json"), ("a-dir", "directory")),
    Bad("compare-empty", ("compare", "good.json", "empty.json"), ("empty.json", "empty")),
    Bad("compare-truncated", ("compare", "good.json", "truncated.json"), ("truncated.json", "not valid JSON")),
    Bad("compare-binary", ("compare", "binary.json", "good.json"), ("binary.json", "not a text file")),
    Bad("compare-foreign-json", ("compare", "foreign.json", "good.json"), ("foreign.json", "not a pyperf")),
    Bad("compare-json-list", ("compare", "list.json", "good.json"), ("list.json", "not a pyperf")),
    Bad("compare-no-benchmarks", ("compare", "no-benchmarks.json", "good.json"), ("no-benchmarks.json",)),
    Bad("compare-plain-pyperf", ("compare", "good.json", "plain-pyperf.json"), ("plain-pyperf.json", "not a cfgbench result")),
    Bad("compare-one-file-with-nothing-within", ("compare", "good.json"), ("holds nothing to compare within it",)),
    Bad("compare-bad-threshold", ("compare", "good.json", "good.json", "--fail-if", "mean:lots"), ("not a threshold",)),
    Bad("compare-path-through-a-file", ("compare", "a-file/x.json", "good.json"), ("a-file",)),
    Bad("compare-socket", ("compare", "a-socket", "good.json"), ("a-socket",)),
    # --- output paths
    Bad("output-exists", ("run", "-m", "fake", "-o", "precious.json"), ("already exists", "--append")),
    Bad("output-directory-missing", ("run", "-m", "fake", "-o", "no-such-dir/out.json"), ("no-such-dir", "does not exist")),
    Bad("output-parent-is-a-file", ("run", "-m", "fake", "-o", "a-file/out.json"), ("a-file", "not a directory")),
    Bad("output-is-a-directory", ("run", "-m", "fake", "-o", "a-dir"), ("a-dir", "directory")),
    Bad("output-in-proc", ("run", "-m", "fake", "-o", "/proc/cfgbench-bad-input.json", *QUICK_IN_PROCESS),
        ("/proc",)),
    Bad("append-to-corrupt-file", ("run", "-m", "fake", "--append", "-o", "truncated.json"), ("truncated.json", "not valid JSON")),
    Bad("append-of-another-method", ("run", "-m", "fake", "--append", "-o", "good.json", *QUICK_IN_PROCESS),
        ("already has", "kernel")),
    Bad("append-to-another-hosts-file", ("run", "-m", "fake", "--append", "-o", "other-host.json", *QUICK_IN_PROCESS),
        ("other-host.json",)),
]
if ROOT_UNREADABLE is not None:
    CASES.append(Bad("compare-unreadable", ("compare", str(ROOT_UNREADABLE), "good.json"), ("permission denied",)))


def _param(case: Bad) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
    return pytest.param(case, id=case.name, marks=marks)


def test_the_battery_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case: Bad, tmp_path: Path) -> None:
    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    populate(work)
    before = snapshot(work, temp)
    result = cfgbench(*case.args, cwd=work, env={**FAKE, "TMPDIR": str(temp), **case.env})
    assert_one_line_error(result, *case.needles)
    assert snapshot(work, temp) == before
