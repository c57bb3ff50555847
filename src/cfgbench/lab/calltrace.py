"""ftrace call graphs of the kernel method's reads and floors in the lab guest: the floor is the read without the access."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TRACEFS = "/sys/kernel/tracing"
MARKER_FD = 3  # root opens trace_marker on it, so that the unprivileged reads can mark too
# Switching on function_graph patches kernel text across CPUs, which soft-locked a TCG guest with two vCPUs.
GUEST_VCPUS = 1
READ_CONFIG = "pci_read_config"  # the floor keeps its capability check; beyond it is the access
CAPABILITY_CHECK = "file_ns_capable"
# Their insides depend on who asks and on how many bytes come back, not on the path: compared by name only.
OPAQUE_CALLS = ("security_capable", "__check_object_size")
# An interrupt leaves fragments even with funcgraph-irqs off: dropped with what they called.
INTERRUPT_CALLS = ("irq_enter_rcu", "irq_exit_rcu", "irq_enter", "irq_exit", "handle_softirqs", "__do_softirq",
                   "idle_cpu", "sysvec_apic_timer_interrupt", "__sysvec_apic_timer_interrupt")
TYPE1_CALL = "pci_conf1_read"
ECAM_CALL = "pci_mmcfg_read"

GUEST_SCRIPT = """
set -eu
out=$CFGBENCH_LAB_OUT
T={tracefs}
mountpoint -q $T || mount -t tracefs nodev $T
echo 0 > $T/tracing_on
echo function_graph > $T/current_tracer
echo 0 > $T/options/funcgraph-irqs
echo __x64_sys_pread64 > $T/set_graph_function
echo > $T/trace
exec {marker_fd}> $T/trace_marker
echo 1 > $T/tracing_on
{python} -m cfgbench.lab.calltrace reads root
setpriv --reuid=65534 --regid=65534 --clear-groups {python} -m cfgbench.lab.calltrace reads nobody
echo 0 > $T/tracing_on
cat $T/trace > "$out/trace.txt"
echo nop > $T/current_tracer
"""


def guest_script(python: str = sys.executable) -> str:
    """The shell script the lab guest runs with the host's Python."""
    return GUEST_SCRIPT.format(tracefs=TRACEFS, marker_fd=MARKER_FD, python=shlex.quote(python))


# (label, device, offset) of the reads made as root; nobody reads the first 64 bytes only.
ROOT_READS = (("type1", "0000:00:00.0", 0x000), ("ecam", "0000:01:00.0", 0x100))
NOBODY_READS = (("type1", "0000:00:00.0", 0x000),)


@dataclass
class Call:
    """One function in a call graph, with what it called."""

    name: str
    children: list[Call] = field(default_factory=list)

    def names(self) -> set[str]:
        found = {self.name}
        for child in self.children:
            found |= child.names()
        return found

    def path_to(self, name: str) -> list[str] | None:
        """The calls from here down to the first `name`, or None."""
        if self.name == name:
            return [name]
        for child in self.children:
            below = child.path_to(name)
            if below is not None:
                return [self.name, *below]
        return None


_LINE = re.compile(r"^\s*\d+\)\s[^|]*\|(?P<body>.*)$")
_MARK = re.compile(r"^\s*/\*\s*(?P<text>.*?)\s*\*/\s*$")
_OPEN = re.compile(r"^\s*(?P<name>[\w.$]+)\(\)\s*\{\s*$")
_LEAF = re.compile(r"^\s*(?P<name>[\w.$]+)\(\);\s*$")
_CLOSE = re.compile(r"^\s*\}")


def parse(text: str) -> dict[str, Call]:
    """Marker text -> the first top-level call graph after it, without interrupts' fragments."""
    graphs: dict[str, Call] = {}
    marker: str | None = None
    stack: list[Call] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        body = match["body"]
        if mark := _MARK.match(body):
            marker, stack = mark["text"], []
            continue
        if marker is None or marker in graphs and not stack:
            continue
        if opened := _OPEN.match(body):
            call = Call(opened["name"])
            if stack and not _dropped(stack, call):
                stack[-1].children.append(call)
            stack.append(call)
        elif leaf := _LEAF.match(body):
            if stack and not _dropped(stack, Call(leaf["name"])):
                stack[-1].children.append(Call(leaf["name"]))
        elif _CLOSE.match(body) and stack:
            done = stack.pop()
            if not stack and done.name not in INTERRUPT_CALLS:
                graphs[marker] = done
    return graphs


def _dropped(stack: list[Call], call: Call) -> bool:
    return call.name in INTERRUPT_CALLS or any(c.name in INTERRUPT_CALLS for c in stack)


def flatten(call: Call, without_access: bool = False, opaque: Iterable[str] = OPAQUE_CALLS,
            depth: int = 0) -> list[tuple[int, str]]:
    """(depth, name) in call order, without what opaque calls called; without_access: READ_CONFIG keeps its check only."""
    opaque = tuple(opaque)
    rows = [(depth, call.name)]
    if call.name in opaque:
        return rows
    for child in call.children:
        if without_access and call.name == READ_CONFIG and child.name != CAPABILITY_CHECK:
            continue
        rows += flatten(child, without_access, opaque, depth + 1)
    return rows


def access_calls(read: Call) -> list[Call]:
    """What pci_read_config() does in the read beyond its capability check."""
    found: list[Call] = []

    def walk(call: Call) -> None:
        if call.name == READ_CONFIG:
            found.extend(c for c in call.children if c.name != CAPABILITY_CHECK)
            return
        for child in call.children:
            walk(child)

    walk(read)
    return found


def floor_difference(read: Call, floor: Call) -> list[str]:
    """What the read does beyond its floor other than the access, as unified diff lines: empty when there is nothing."""
    def lines(call: Call, without_access: bool) -> list[str]:
        return [f"{'  ' * d}{name}" for d, name in flatten(call, without_access)]

    return [line for line in difflib.unified_diff(lines(read, True), lines(floor, False), "read", "floor",
                                                  lineterm="", n=0)
            if not line.startswith(("---", "+++", "@@"))]


def render(call: Call, depth: int = 0) -> list[str]:
    """The graph as indented names, as function_graph prints it without timings."""
    if not call.children:
        return [f"{'  ' * depth}{call.name}();"]
    return [f"{'  ' * depth}{call.name}() {{", *(line for c in call.children for line in render(c, depth + 1)),
            f"{'  ' * depth}}}"]


def marker(who: str, what: str, label: str) -> str:
    return f"cfgbench {who} {what} {label}"


def _guest_reads(who: str) -> int:
    """Guest side: each read the kernel method times, and its floor, each after its marker."""
    from cfgbench.access.sysfs import FLOOR_ACCESS, SysfsAccessor
    from cfgbench.address import parse_bdf

    marks = os.fdopen(MARKER_FD, "w", buffering=1)
    # `fallback`: root's floor at the end of the file, where seteuid is refused.
    with SysfsAccessor() as kernel, SysfsAccessor(floor_without_admin=False) as fallback:
        for label, device, offset in ROOT_READS if who == "root" else NOBODY_READS:
            bdf = parse_bdf(device)
            for accessor in (kernel, fallback):  # opens the descriptors: the marked reads are preads alone
                accessor.read(bdf, offset, 4)
                accessor.read(bdf, 0, 4, FLOOR_ACCESS)
            marks.write(marker(who, "read", label) + "\n")
            kernel.read(bdf, offset, 4)
            marks.write(marker(who, "floor", label) + "\n")
            kernel.read(bdf, 0, 4, FLOOR_ACCESS)
            if who == "root":
                marks.write(marker(who, "end-of-file", label) + "\n")
                fallback.read(bdf, 0, 4, FLOOR_ACCESS)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cfgbench.lab.calltrace")
    sub = parser.add_subparsers(dest="command", required=True)
    reads = sub.add_parser("reads", help="guest side: the marked reads (descriptor 3 is trace_marker)")
    reads.add_argument("who", choices=("root", "nobody"))
    args = parser.parse_args(argv)
    return _guest_reads(args.who)


if __name__ == "__main__":
    sys.exit(main())
