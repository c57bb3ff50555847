"""The guest kernel's own enumeration, type 1 first against ECAM only, timed and counted in the lab guest."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyperf

from cfgbench import access, results
from cfgbench.errors import CfgbenchError, LabError
from cfgbench.lab.census import Marker
from cfgbench.pci import SYSFS_DEVICES
from cfgbench.plan import PlanRequest
from cfgbench.platform import in_lab_guest, lab_metadata
from cfgbench.schema import KERNEL_ORDER, KERNEL_READ, METHOD, RESCAN_BUS, RESCAN_FUNCTIONS, SESSION, TARGET, WORKLOAD
from cfgbench.settings import PRESETS, Settings
from cfgbench.workloads import PEER_PROBE

WORKLOAD_NAME = "rescan"
RESULT_NAME = "lab-rescan-{order}.json"
AA_NAME = "lab-rescan-aa-{order}.json"
COLD_NAME = "lab-cold-{method}.json"  # time_cold: the cold pattern that prices the projection's reads
# The A/B's settings: paired rounds, each value at least 40 ms of whole rescans, no per-read samples.
AB_SETTINGS = replace(PRESETS["lab"], values=16, min_time=0.04, samples=0)
MODULE_PARAMETERS = Path("/sys/module/cfgbench_pci_order/parameters")
ORDERS = {"type1-first": "native", "ecam-only": "ecam"}  # ours -> the module's words
REFERENCE, CANDIDATE = "type1-first", "ecam-only"  # the ratio is reference / candidate
TRACEFS = Path("/sys/kernel/tracing")
# The kernel's config accessors behind raw_pci_ops (type 1) and raw_pci_ext_ops (ECAM).
ACCESSORS = {"pci_conf1_read": "type1-read", "pci_conf1_write": "type1-write",
             "pci_mmcfg_read": "ecam-read", "pci_mmcfg_write": "ecam-write"}
TRACE_BUFFER_KB = 4096  # per CPU: a large tree's rescan makes ~12k accesses, ~100 bytes each in the buffer
_BDF = re.compile(r"^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_GRAPH_DURATION = re.compile(r"([\d.]+) us +\|")  # function_graph: "  1.302 us    |  pci_conf1_read();"
ACCESSOR_TIMES = "accessor-times.json"  # time_accessors: the rescans' accessor calls, timed in situ


def cold_paths(outdir: Path) -> list[Path]:
    """time_cold's files, one per mechanism."""
    return [outdir / COLD_NAME.format(method=m) for m in access.MECHANISMS]


def _require_lab_guest() -> None:
    if not in_lab_guest():
        raise LabError("rescans and the config-order switch run only in the lab guest",
                       "run this inside `cfgbench lab` or run_in_guest")


def _write(path: Path, text: str) -> None:
    """Write a sysfs or tracefs file to the end, without truncating it (set_ftrace_filter would forget its list)."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        while True:
            data = data[os.write(fd, data):]  # tracefs takes one word per write(2)
            if not data:
                break
    finally:
        os.close(fd)


def set_order(order: str) -> None:
    """Switch the guest kernel's config order (the lab's module must be loaded)."""
    _require_lab_guest()
    if order not in ORDERS:
        raise LabError(f"unknown config order {order!r}", f"use one of {', '.join(ORDERS)}")
    parameter = MODULE_PARAMETERS / "order"
    if not parameter.exists():
        raise LabError("the lab's config-order module is not loaded in this guest",
                       "boot the guest with GuestConfig(pci_order_module=True)")
    _write(parameter, ORDERS[order])
    if (now := parameter.read_text().strip()) != ORDERS[order]:
        raise LabError(f"the config order did not switch to {order} (the module says {now})", "check the guest's dmesg")


def kernel_read_function() -> str:
    """The accessor the kernel's own order reads registers below 0x100 with (pci_conf1_read)."""
    return (MODULE_PARAMETERS / "kernel_read").read_text().strip()


def children(device: Path) -> list[Path]:
    """The functions directly below a device in sysfs (a bridge's secondary bus)."""
    return sorted(path for path in device.iterdir() if _BDF.match(path.name) and path.is_dir())


def subtree(port: str) -> list[str]:
    """Every function below a port, depth first."""
    found: list[str] = []
    pending = children(SYSFS_DEVICES.joinpath(port).resolve())
    while pending:
        device = pending.pop(0)
        found.append(device.name)
        pending[:0] = children(device)
    return found


def secondary_bus(port: str) -> Path:
    buses = sorted((SYSFS_DEVICES / port / "pci_bus").glob("*")) if (SYSFS_DEVICES / port / "pci_bus").is_dir() else []
    if not buses:
        raise LabError(f"{port} has no secondary bus (is it a bridge or port?)", "pick a root port or switch port")
    return buses[0]


class Rescan:
    """The kernel's enumeration of everything below `port`, under one config order."""

    def __init__(self, port: str, order: str, via: str | None = None) -> None:
        _require_lab_guest()
        if order not in ORDERS or via not in (None, *ORDERS):
            raise LabError(f"unknown config order {order!r}", f"use one of {', '.join(ORDERS)}")
        if not (SYSFS_DEVICES / port).exists():
            raise LabError(f"no PCI function {port} in this guest", "pick a port of the guest's tree")
        self.port, self.order = port, order
        self.via = via  # switched to before each value, so that every value follows a real switch (the A/A)
        self.name = f"{WORKLOAD_NAME} {port} {order}"  # within one process; each order's file drops the order
        self.bus = secondary_bus(port)
        self.functions = subtree(port)
        if not self.functions:
            raise LabError(f"nothing below {port} to rescan", "pick a port with functions below it")

    def metadata(self) -> dict[str, Any]:
        # The kernel's own path reads every register here: the method is the kernel's.
        return {METHOD: access.REFERENCE_READER, WORKLOAD: WORKLOAD_NAME, TARGET: self.port,
                KERNEL_ORDER: self.order, KERNEL_READ: kernel_read_function(), RESCAN_BUS: self.bus.name,
                RESCAN_FUNCTIONS: len(self.functions)}

    def sample(self, samples: int, budget_s: float) -> None:
        """No per-read samples: a value is whole rescans."""

    def run_metadata(self) -> dict[str, Any]:
        return {}

    def remove(self) -> None:
        # Removing a child removes everything below it too.
        for child in children(SYSFS_DEVICES.joinpath(self.port).resolve()):
            _write(child / "remove", "1")
        if left := subtree(self.port):
            raise LabError(f"{len(left)} function(s) below {self.port} survived their removal", "check the guest's dmesg")

    def rescan(self) -> int:
        """One timed rescan (the functions must have been removed); nanoseconds."""
        started = time.perf_counter_ns()
        _write(self.bus / "rescan", "1")
        elapsed = time.perf_counter_ns() - started
        if (back := subtree(self.port)) != self.functions:
            raise LabError(f"the rescan of {self.port} brought back {len(back)} function(s), not the "
                           f"{len(self.functions)} removed", "check the guest's dmesg")
        return elapsed

    def __call__(self, loops: int) -> float:
        if self.via is not None:
            set_order(self.via)
        set_order(self.order)
        total = 0
        for _ in range(loops):
            self.remove()
            total += self.rescan()
        return total / 1e9


class AccessorCount:
    """The calls of the kernel's config accessors (ACCESSORS), in order, by ftrace: counted, or timed (function_graph)."""

    def __init__(self, timed: bool = False) -> None:
        _require_lab_guest()
        if not (TRACEFS / "trace").exists():
            subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], check=True)
        _write(TRACEFS / "tracing_on", "0")
        _write(TRACEFS / "current_tracer", "nop")
        _write(TRACEFS / "buffer_size_kb", str(TRACE_BUFFER_KB))
        _write(TRACEFS / "set_ftrace_filter", " ".join(ACCESSORS))
        _write(TRACEFS / "current_tracer", "function_graph" if timed else "function")

    def __enter__(self) -> AccessorCount:
        os.close(os.open(TRACEFS / "trace", os.O_WRONLY | os.O_TRUNC))  # clears the buffer, as `echo > trace`
        _write(TRACEFS / "tracing_on", "1")
        return self

    def __exit__(self, *exc: object) -> None:
        _write(TRACEFS / "tracing_on", "0")

    def calls(self) -> list[tuple[str, float]]:
        """(KEYS, seconds) per call in order; seconds are 0 when counting."""
        found = []
        for line in (TRACEFS / "trace").read_text().splitlines():
            if line.startswith("#"):
                continue
            for function, key in ACCESSORS.items():
                if f" {function} <-" in line or line.rstrip().endswith(f" {function}") or f" {function}();" in line:
                    duration = _GRAPH_DURATION.search(line)
                    found.append((key, float(duration[1]) / 1e6 if duration else 0.0))
        for stats in (TRACEFS / "per_cpu").glob("cpu*/stats"):
            overrun = re.search(r"^overrun: (\d+)", stats.read_text(), re.M)
            if overrun and int(overrun[1]):
                raise LabError(f"ftrace lost {overrun[1]} events ({stats.parent.name})", "raise TRACE_BUFFER_KB")
        return found

    def counts(self) -> Counter[str]:
        return Counter(key for key, _ in self.calls())

    def close(self) -> None:
        _write(TRACEFS / "current_tracer", "nop")
        _write(TRACEFS / "set_ftrace_filter", "")


def time_accessors(port: str, rescans: int, outdir: Path) -> list[dict[str, object]]:
    """`rescans` rescans per order, each timed whole and its accessor calls in situ; the rows of ACCESSOR_TIMES."""
    tracer = AccessorCount(timed=True)
    rows: list[dict[str, object]] = []
    try:
        for _ in range(rescans):
            for order in random.sample((REFERENCE, CANDIDATE), 2):
                rescan = Rescan(port, order)
                set_order(order)
                rescan.remove()
                with tracer:
                    ns = rescan.rescan()
                per_key: dict[str, list[float]] = {}
                calls = tracer.calls()
                for key, seconds in calls:
                    total = per_key.setdefault(key, [0, 0.0])
                    total[0], total[1] = total[0] + 1, total[1] + seconds
                rows.append({"order": order, "ns": ns, "accessors": per_key, "calls": calls})
    finally:
        tracer.close()
        set_order(REFERENCE)
    (outdir / ACCESSOR_TIMES).write_text(json.dumps(rows))
    return rows


def census_rescans(port: str, orders: Sequence[str], outdir: Path) -> list[dict[str, object]]:
    """One marked rescan per order (the window covers exactly its write), each counted by ftrace too."""
    marker = Marker()
    counter = AccessorCount()
    rows: list[dict[str, object]] = []
    try:
        for order in orders:
            rescan = Rescan(port, order)
            set_order(order)
            rescan.remove()
            with counter:
                index = marker.open_window(f"rescan {port} {order}")
                ns = rescan.rescan()
                marker.close_window(index)
            rows.append({"window": index, "order": order, "port": port, "functions": len(rescan.functions),
                         "ns": ns, "kernel_counts": dict(counter.counts())})
    finally:
        counter.close()
        marker.save_labels(outdir)
        set_order(REFERENCE)  # the rest of the boot (and its shutdown) in the kernel's own order
    (outdir / "kernel-counts.json").write_text(json.dumps(rows, indent=1))
    return rows


def time_arms(arms: Sequence[Rescan], settings: Settings) -> pyperf.BenchmarkSuite:
    """The arms in paired rounds, every value of each the same number of rescans (the most any arm's calibration asked)."""
    from cfgbench import engine
    from cfgbench.session import new_session_id

    try:
        loops = settings.loops or max(engine.calibrate(arm, settings.min_time)[0] for arm in arms)
        suite, _ = engine.time_here(arms, replace(settings, loops=loops), {**lab_metadata(), SESSION: new_session_id()})
    finally:
        set_order(REFERENCE)
    if suite is None:
        raise LabError(f"no rescan of {arms[0].port} was timed", "see the guest output")
    return suite


def time_ab(port: str, outdir: Path, settings: Settings = AB_SETTINGS) -> list[Path]:
    """Both orders; one file per order, the benchmark named `rescan <port>` in each, so that they pair by round."""
    benches = [Rescan(port, REFERENCE), Rescan(port, CANDIDATE)]
    suite = time_arms(benches, settings)
    written = []
    for bench, rescan in zip(suite.get_benchmarks(), benches, strict=True):
        bench.update_metadata({"name": f"{WORKLOAD_NAME} {port}"})
        path = outdir / RESULT_NAME.format(order=rescan.order)
        results.save_suite(type(suite)([bench]), path)
        written.append(path)
    return written


def time_aa(port: str, order: str, outdir: Path, settings: Settings = AB_SETTINGS) -> Path:
    """The A/B with one order in both arms, each value after a real switch: benchmarks `rescan <port> A` and `A again`."""
    other = CANDIDATE if order == REFERENCE else REFERENCE
    arms = [Rescan(port, order, via=other), Rescan(port, order, via=other)]
    arms[1].name += " again"
    suite = time_arms(arms, settings)
    for bench, suffix in zip(suite.get_benchmarks(), ("A", "A again"), strict=True):
        bench.update_metadata({"name": f"{WORKLOAD_NAME} {port} {suffix}"})
    path = outdir / AA_NAME.format(order=order)
    results.save_suite(suite, path)
    return path


def time_cold(outdir: Path, settings: Settings) -> None:
    """The projection's price of a read: x86's peer-bridge probe and its hot partner, by each mechanism (COLD_NAME)."""
    from cfgbench.session import RunRequest, run

    what = PlanRequest(methods=list(access.MECHANISMS), targets=[], workloads=[PEER_PROBE])
    # No per-read samples: the projection needs the medians only (samples cost seconds in the lab).
    run(RunRequest(what, replace(settings, quiet=True, samples=0), output=outdir / COLD_NAME), lambda _line: None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cfgbench.lab.enumeration")
    sub = parser.add_subparsers(dest="command", required=True)
    ab = sub.add_parser("ab", help="paired rounds of rescans, type 1 first against ECAM only")
    ab.add_argument("--port", required=True)
    ab.add_argument("--rounds", type=int, default=AB_SETTINGS.values)
    ab.add_argument("--loops", type=int, default=0, help="rescans per value [default: calibrated to 40 ms]")
    ab.add_argument("--seed", type=int)
    ab.add_argument("--out", type=Path, required=True, help=f"write {RESULT_NAME} here")
    ab.add_argument("--aa", action="store_true", help=f"then each order against itself ({AA_NAME})")
    ab.add_argument("--cold", action="store_true", help=f"then the cold pattern by pio and mmio ({COLD_NAME})")
    ab.add_argument("--traced", type=int, default=0, metavar="N",
                    help=f"then N rescans per order with their accessor calls timed in situ ({ACCESSOR_TIMES})")
    census = sub.add_parser("census", help="one marked, ftrace-counted rescan per order (a census guest)")
    census.add_argument("--port", required=True)
    census.add_argument("--out", type=Path, required=True)
    census.add_argument("--orders", nargs="+", default=[REFERENCE, CANDIDATE, REFERENCE], choices=list(ORDERS))
    args = parser.parse_args(argv)
    try:
        if args.command == "ab":
            settings = replace(AB_SETTINGS, values=args.rounds, loops=args.loops, seed=args.seed)
            for path in time_ab(args.port, args.out, settings):
                print(f"wrote {path}", flush=True)
            for order in ORDERS if args.aa else ():
                print(f"wrote {time_aa(args.port, order, args.out, settings)}", flush=True)
            if args.cold:
                time_cold(args.out, PRESETS["lab"])
                print(f"wrote {args.out / COLD_NAME}", flush=True)
            if args.traced:
                time_accessors(args.port, args.traced, args.out)
                print(f"wrote {args.out / ACCESSOR_TIMES}", flush=True)
            return 0
        census_rescans(args.port, args.orders, args.out)  # the counts are in kernel-counts.json
        return 0
    except CfgbenchError as exc:
        print(f"cfgbench: error: {exc.one_line()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
