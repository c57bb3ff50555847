"""Run the bare C reference (benchmarks/c_reference.c) inside a lab guest.

    python benchmarks/c_reference.py BINARY BDF [--offset 0] [--rounds 24] [--reads 16384] [-o FILE]

Guest side only (it refuses on a machine whose ports are not its own: it
needs CFGBENCH_LAB, which `cfgbench lab` sets). It takes port access
with ioperm(0xCF8, 8) as cfgbench does, finds the function's ECAM page from
MCFG, and runs the binary, which inherits the port access across exec.
Prints one line per round, "pio_ns ecam_ns"."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from cfgbench.access.pio import PORT_COUNT
from cfgbench.address import TYPE1_ADDRESS_PORT, ecam_offset, parse_bdf, type1_address, type1_data_port
from cfgbench.platform import in_lab_guest
from cfgbench.mcfg import ecam_window_for, read_ecam_windows

PAGE = 4096


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", type=Path)
    parser.add_argument("bdf")
    parser.add_argument("--offset", type=lambda text: int(text, 16), default=0, help="hex, as setpci")
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--reads", type=int, default=16384)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    if not in_lab_guest():
        print("c_reference: runs only inside `cfgbench lab` (raw port access)", file=sys.stderr)
        return 2
    import portio

    bdf = parse_bdf(args.bdf)
    window = ecam_window_for(bdf, read_ecam_windows())
    page = window.function_address(bdf)
    err = portio.ioperm(TYPE1_ADDRESS_PORT, PORT_COUNT, 1)
    if err:
        print(f"c_reference: ioperm failed: {os.strerror(err)}", file=sys.stderr)
        return 1
    command = [str(args.binary), hex(type1_address(bdf, args.offset)), hex(type1_data_port(args.offset)),
               hex(page), hex(ecam_offset(bdf, args.offset) % PAGE), str(args.rounds), str(args.reads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr, end="")
        return done.returncode
    if args.output:
        args.output.write_text(done.stdout)
    else:
        print(done.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
