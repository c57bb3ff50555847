"""Who makes the guest kernel's type 1 reads at boot: ftrace's stack of every pci_conf1_read call.

    python benchmarks/enumeration_boot_callers.py [--tree default] [-o FILE]

Boots a one-vCPU lab guest with the function tracer on pci_conf1_read from the kernel command
line (`ftrace=function ftrace_filter=pci_conf1_read trace_options=func_stack_trace`), then, in
the guest, groups the calls by five frames of their callers and prints the most frequent.
Calls made before ftrace starts, and type 1 reads that early code makes without
pci_conf1_read (arch/x86/pci/early.c), are not in it: compare the total with the census.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

TRACE = Path("/sys/kernel/tracing/trace")
CMDLINE = ("ftrace=function", "ftrace_filter=pci_conf1_read", "trace_options=func_stack_trace", "trace_buf_size=200M")


def guest() -> int:
    if not TRACE.exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACE.parent)], check=True)
    callers: collections.Counter[str] = collections.Counter()
    stack: list[str] | None = None
    for line in TRACE.read_text().splitlines():
        if line.startswith("#") or "<stack trace>" in line:
            continue
        if "=>" in line:
            if stack is not None:
                stack.append(line.split("=>")[1].strip().split("+")[0])
            continue
        if stack is not None:
            callers[" < ".join(stack[2:7])] += 1  # frames 0-1: the trampoline and pci_conf1_read itself
        stack = [] if "pci_conf1_read <-" in line else None
    if stack is not None:
        callers[" < ".join(stack[2:7])] += 1
    print(f"{sum(callers.values())} pci_conf1_read calls traced")
    for chain, count in callers.most_common(15):
        print(f"{count:6d} {chain}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="default")
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.guest:
        return guest()
    from cfgbench.lab.guest import GuestConfig, run_in_guest

    result = run_in_guest([sys.executable, str(Path(__file__).resolve()), "--guest"],
                          GuestConfig(accel="tcg", smp=1, memory_mb=2048, tree=args.tree, timeout_s=300,
                                      extra_cmdline=CMDLINE))
    print(result.output, end="")
    if args.output:
        args.output.write_text(result.output)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
