"""What input cfgbench takes: the one table of numeric bounds, and the one safe read of a user's file."""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cfgbench.errors import CfgbenchError


@dataclass(frozen=True)
class Bound:
    low: int | float
    high: int | float | None  # None: any finite value the code can take (nothing is sized from it)
    why: str = ""  # what the upper limit keeps: a native width, memory, a wall time
    open_ends: bool = False  # both limits themselves refused

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int | None)

    def span(self) -> str:
        ends = " (both excluded)" if self.open_ends else ""
        return f"from {shown(self.low)} to {shown(self.high)}{ends}" if self.high is not None else f"{shown(self.low)} or more"


# Every numeric option of every command (but --seed: any integer), by its name on the command line. The times
# assume a read of READ_S (the kernel's on bare metal); one benchmark's timing is held to MAX_TIMING_S as a whole.
BOUNDS: dict[str, Bound] = {
    "--processes": Bound(1, 1000, "each is a Python start, seconds in an emulated guest"),
    "--values": Bound(1, 1000, "kept per process in memory and in the file"),
    "--warmups": Bound(0, 100, "timed and thrown away"),
    "--loops": Bound(1, 2**32, "pyperf's bound, as calibration's"),  # and a float holds it times READ_S
    "--min-time": Bound(1e-6, None),  # held by MAX_TIMING_S
    "--samples": Bound(0, 10**6, "8 MB of timestamps per process and benchmark"),
    "--boots": Bound(1, 100, "half a minute each under emulation"),
    "--vcpus": Bound(1, 64, "the lab guest's vCPUs, as lab had them"),
    "--timeout": Bound(1.0, 86400.0, "seconds: a day"),
    "--fail-if": Bound(0.0, None),  # percent slower, or microseconds a read
    "--dpi": Bound(50, 600, "a font's pixels grow with it"),
    "--size": Bound(100, None),  # pixels a side; MAX_PIXELS in all
    "--affinity": Bound(0, 8191, "CPU numbers: NR_CPUS is at most 8192"),
    "--last": Bound(1, None),
    "--max-pvalue": Bound(0.0, 1.0, "a probability", open_ends=True),
    "--min-change": Bound(0.0, None),
}
READ_S = 1e-6
MAX_TIMING_S = 3600.0
MAX_PIXELS = 25_000_000  # 100 MB of RGBA (60 targets' panels take 14 million); 16000 x 16000 took 1 GB and 9 s
MAX_FILE_BYTES = 64 * 2**20  # 150 times the largest file in results/; JSON grows tenfold as Python objects


def shown(value: int | float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check(option: str, value: int | float, typed: str = "") -> int | float:
    """The value, or one line naming the option, the value (as typed) and its limits; NaN and infinity are refused."""
    bound = BOUNDS[option]
    finite = isinstance(value, int) or math.isfinite(value)  # a huge int does not fit a float
    inside = bound.low <= value and (bound.high is None or value <= bound.high)
    inside = inside and not (bound.open_ends and value in (bound.low, bound.high))
    if not (finite and inside):
        why = f" ({bound.why})" if bound.why else ""
        raise CfgbenchError(f"{option} {typed or shown(value)} is out of range{why}", f"give {option} {bound.span()}")
    return value


def parse(option: str, text: str) -> int | float:
    """A number from the command line, as its bound takes it (whole or not), checked."""
    try:
        value = int(text) if BOUNDS[option].integer else float(text)
    except ValueError:
        raise CfgbenchError(f"{option} {text!r} is not a number", f"give {option} {BOUNDS[option].span()}") from None
    return check(option, value)


def read_file(path: Path | str, fix: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, up to limit; anything else is one line, and a FIFO is never opened."""
    path, data = Path(path), b""
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode) and info.st_size <= limit:
            # O_NONBLOCK: a FIFO swapped in since the stat still does not wait for a writer.
            with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY), "rb") as file:
                info = os.fstat(file.fileno())
                data = file.read(limit + 1) if stat.S_ISREG(info.st_mode) else b""
    except FileNotFoundError:
        raise CfgbenchError(f"{path} does not exist", fix) from None
    except (OSError, ValueError) as exc:  # permission, a path through a regular file, a NUL byte, an I/O error
        raise CfgbenchError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})", fix) from None
    if stat.S_ISDIR(info.st_mode):
        raise CfgbenchError(f"{path} is a directory", fix)
    if not stat.S_ISREG(info.st_mode):
        raise CfgbenchError(f"{path} is not a regular file (a device, FIFO or socket)", fix)
    if (size := max(info.st_size, len(data))) > limit:
        raise CfgbenchError(f"{path} has {size} bytes or more, over the limit of {limit}", fix)
    return data
