"""Guest side of the census: markers written to the type 1 address port around the command and windows in it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from cfgbench.lab.census import (ADDRESS_PORT, COMMAND_BEGIN, COMMAND_END, MARK_MAGIC, MAX_WINDOWS, WINDOW_CLOSE,
                                 WINDOW_LABELS, WINDOW_OPEN)
from cfgbench.errors import LabError


def _online_cpus() -> int:
    from cfgbench.platform import online_cpu_count

    return online_cpu_count()


class Marker:
    """In the lab guest only; one Marker per boot, since window indices count per Marker and its labels share a file."""

    def __init__(self) -> None:
        from cfgbench.platform import in_lab_guest

        if not in_lab_guest():
            raise LabError("census markers write the type 1 address port: they run only in the lab guest",
                           "run this inside `cfgbench lab` or run_in_guest")
        if (cpus := _online_cpus()) != 1:
            raise LabError(f"census markers need exactly one online CPU ({cpus} are): with more, a marker could "
                           "fall between a kernel config access's address write and its data access",
                           "boot the census guest with one vCPU (GuestConfig(smp=1))")
        import portio

        if portio.ioperm(ADDRESS_PORT, 4, 1):
            raise LabError("ioperm for 0xCF8 refused in the guest", "run the census as root in the lab guest")
        self._outl = portio.outl
        self.labels: list[str] = []

    def mark(self, kind: int, index: int = 0) -> None:
        self._outl(MARK_MAGIC | kind | index, ADDRESS_PORT)

    def open_window(self, label: str) -> int:
        """Its index, for close_window."""
        index = len(self.labels)
        if index >= MAX_WINDOWS:
            raise LabError(f"more than {MAX_WINDOWS} census windows in one boot", "mark fewer windows")
        self.labels.append(label)
        self.mark(WINDOW_OPEN, index)
        return index

    def close_window(self, index: int) -> None:
        self.mark(WINDOW_CLOSE, index)

    def save_labels(self, outdir: Path) -> None:
        (outdir / WINDOW_LABELS).write_text(json.dumps(self.labels))


def run_marked(argv: Sequence[str]) -> int:
    """The command between its start and end markers; its exit status."""
    marker = Marker()
    marker.mark(COMMAND_BEGIN)
    try:
        return subprocess.call(list(argv))
    finally:
        marker.mark(COMMAND_END)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "run" or args[1] != "--":
        print("usage: python -m cfgbench.lab.markers run -- COMMAND...", file=sys.stderr)
        return 2
    try:
        return run_marked(args[2:])
    except LabError as exc:
        print(f"cfgbench: error: {exc.one_line()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
