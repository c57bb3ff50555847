"""The kernel floor's evidence: ftrace call graphs of the kernel method's
reads and of their floors, in the lab guest, as root and as nobody.

    python benchmarks/kernel_floor_trace.py --out results/breakdown-lab/ftrace

Boots one guest that traces every pread64 with the function_graph tracer
(interrupts left out) while cfgbench's own sysfs accessor reads 00:00.0+0x000
(the kernel's type 1 path) and 01:00.0+0x100 (its ECAM path), each followed by
its floor, as root (the floor through a descriptor opened without
CAP_SYS_ADMIN) and as nobody (the reads' own descriptor); and root's
end-of-file read, the fallback. Writes trace.txt (ftrace's own output) and
graphs.txt: each call graph, what the read does beyond its floor, and the
difference between them once that is taken out (none, when the floor is the
read's path without the access). Exit code 1 when a floor differs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab import calltrace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose a new --out")
    result = run_in_guest(["sh", "-c", calltrace.guest_script()], GuestConfig(accel="tcg", smp=calltrace.GUEST_VCPUS, timeout_s=240),
                          outdir=args.out, progress=lambda line: print(f"  {line}", file=sys.stderr))
    if result.returncode != 0:
        raise SystemExit(f"the guest failed (exit {result.returncode}):\n{result.output}")
    graphs = calltrace.parse((args.out / "trace.txt").read_text())
    lines: list[str] = []
    summary: list[str] = []
    same = True
    for name, graph in graphs.items():
        lines += [f"== {name}", *calltrace.render(graph), ""]
    for who, label, _device, _offset in [("root", *r) for r in calltrace.ROOT_READS] + \
            [("nobody", *r) for r in calltrace.NOBODY_READS]:
        read = graphs[calltrace.marker(who, "read", label)]
        for what in ("floor", "end-of-file"):
            other = graphs.get(calltrace.marker(who, what, label))
            if other is None:
                continue
            difference = calltrace.floor_difference(read, other)
            same &= what != "floor" or not difference
            beyond = ", ".join(c.name for c in calltrace.access_calls(read))
            summary += [f"== {who} {label}: the read against its {what}",
                        f"the read's pci_read_config() beyond its capability check: {beyond}",
                        "the rest of the path: " + ("the same, call for call" if not difference else "differs:"),
                        *difference, ""]
    (args.out / "graphs.txt").write_text("\n".join(summary + lines))
    print("\n".join(summary))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
