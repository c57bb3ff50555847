"""The boot's own enumeration under kernel command lines: its census and its PCI initcalls' times.

    python benchmarks/enumeration_boot.py --tree default --boots 6 --out results/enumeration/boot-default
    python benchmarks/enumeration_boot.py --tree default --boots 1 --variant conf2=pci=conf2 --out ...

For each variant (the lab's own command line, and `pci=lastbus=N` with N the last bus a device
answered on in the first census; or those given with --variant NAME=ARGS):

1. one census guest (one vCPU, QEMU's trace, lab/census.py) running `dmesg`, `ls
   /sys/bus/pci/devices` and `cat /proc/iomem` into the share: every config access of the boot;
2. --boots guests with `initcall_debug log_buf_len=4M`, one after another, variants in turn, each
   saving its dmesg: every initcall's time, from the printk timestamps of its "calling X" and
   "initcall X returned" lines (microseconds: local_clock; the "after N usecs" the kernel prints
   counts jiffies this early under TCG, 4 ms steps).

--resummarise recomputes summary.txt and summary.json from the files already in --out.

Writes <variant>/census.json and its boot-K/dmesg.txt, and summary.txt/summary.json into --out,
which must not exist yet.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, run_in_guest

SAVE = ('dmesg > "$CFGBENCH_LAB_OUT/dmesg.txt"; ls /sys/bus/pci/devices > "$CFGBENCH_LAB_OUT/devices.txt"; '
        'cat /proc/iomem > "$CFGBENCH_LAB_OUT/iomem.txt"')
INITCALL = re.compile(r"^\[ *([\d.]+)\] (calling +|initcall )(\w+)\+0x\w+/0x\w+(?: \[\w+\])? (@|returned)", re.M)
PCI_INITCALLS = ("pci_arch_init", "acpi_init", "pci_subsys_init", "pcibios_assign_resources", "pci_apply_final_quirks",
                 "pcie_portdrv_init", "pci_iommu_init", "pci_driver_init")
DMESG_FACTS = re.compile(r"PCI: (Using configuration type.*|Fatal.*|System does not support PCI.*)|"
                         r"MMCONFIG.*|PCI: Probing PCI hardware.*|Discovered peer bus.*|ACPI: PCI Root Bridge.*")


def census(tree: str, args: list[str], out: Path) -> dict[str, object]:
    cfg = GuestConfig(accel="tcg", smp=1, tree=tree, census=True, extra_cmdline=tuple(args), timeout_s=600)
    try:
        result = run_in_guest(["sh", "-c", SAVE], cfg, outdir=out, progress=print)
    except LabError as exc:  # a boot that cannot reach the command: what its console said
        (out / "console.txt").write_text(exc.console)
        return {"failed": exc.one_line(), "dmesg": [m[0] for m in DMESG_FACTS.finditer(exc.console)]}
    assert result.census is not None
    (out / "census.json").write_text(json.dumps(result.census.to_json()))
    boot = result.census.phases["boot"]
    listed = (out / "devices.txt").read_text().split()
    dmesg = (out / "dmesg.txt").read_text(errors="replace")
    return {"cmdline": result.lab_metadata.get("cmdline", ""), "boot": boot.describe(),
            "boot_reads": {key: boot.accesses[key] for key in sorted(boot.accesses)},
            "answered": sum(boot.answered.values()), "functions_listed": len(listed),
            "last_bus_listed": max((int(name.split(":")[1], 16) for name in listed), default=-1), "dmesg": [m[0] for m in DMESG_FACTS.finditer(dmesg)],
            "mmconfig_in_iomem": "PCI MMCONFIG" in (out / "iomem.txt").read_text()}


def initcalls(tree: str, args: list[str], out: Path) -> dict[str, int]:
    cfg = GuestConfig(accel="tcg", smp=2, tree=tree, extra_cmdline=(*args, "initcall_debug", "log_buf_len=4M"),
                      timeout_s=600)
    result = run_in_guest(["sh", "-c", 'dmesg > "$CFGBENCH_LAB_OUT/dmesg.txt"'], cfg, outdir=out, progress=print)
    (out / "boot-seconds.txt").write_text(f"{result.boot_seconds}\n")
    return initcall_times(out)


def initcall_times(out: Path) -> dict[str, int]:
    """Microseconds per initcall, from the printk timestamps; and the host's boot time in ms."""
    called: dict[str, float] = {}
    found: dict[str, int] = {}
    for stamp, kind, name, _ in INITCALL.findall((out / "dmesg.txt").read_text(errors="replace")):
        if kind.startswith("calling"):
            called[name] = float(stamp)
        elif name in called:
            found[name] = round((float(stamp) - called[name]) * 1e6)
    found["(boot to command, host clock, ms)"] = round(float((out / "boot-seconds.txt").read_text()) * 1000)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="default")
    parser.add_argument("--boots", type=int, default=6)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resummarise", action="store_true")
    opts = parser.parse_args()
    if opts.resummarise:
        old = json.loads((opts.out / "summary.json").read_text())
        variants = {name: fact.get("args", []) for name, fact in old["facts"].items()}
        found = {name: [initcall_times(d) for d in sorted((opts.out / name).glob("boot-*"),
                                                           key=lambda d: int(d.name.split("-")[1]))] for name in variants}
        return report(opts, variants, old["facts"], found, old["uptime"])
    if opts.out.exists():
        raise SystemExit(f"{opts.out} exists: choose another --out")
    opts.out.mkdir(parents=True)
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    variants = {name: args.split() for name, _, args in (v.partition("=") for v in opts.variant)}
    facts: dict[str, Any] = {}
    if not variants:
        facts["lab"] = census(opts.tree, [], opts.out / "lab")
        last = facts["lab"]["last_bus_listed"]
        variants = {"lab": [], "lastbus": [f"pci=lastbus={last}"]}
    for name, args in variants.items():
        if name not in facts:
            facts[name] = census(opts.tree, args, opts.out / name)
        facts[name]["args"] = args
    times: dict[str, list[dict[str, int]]] = {name: [] for name in variants}
    for k in range(1, opts.boots + 1):
        for name, args in variants.items():
            times[name].append(initcalls(opts.tree, args, opts.out / name / f"boot-{k}"))
    uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return report(opts, variants, facts, times, uptime)


def report(opts: argparse.Namespace, variants: dict[str, list[str]], facts: dict[str, Any],
           times: dict[str, list[dict[str, int]]], uptime: list[str]) -> int:
    lines = [f"uptime before: {uptime[0]}", f"uptime after: {uptime[1]}", f"{opts.tree} tree"]
    summary: dict[str, object] = {"facts": facts, "initcall_us": times, "uptime": uptime}
    for name, args in variants.items():
        fact = facts[name]
        if "failed" in fact:
            lines.append(f"{name} ({' '.join(args)}): the boot never reached the command: {fact['failed']}; console: "
                         + "; ".join(fact["dmesg"]))  # type: ignore[arg-type]
            continue
        lines.append(f"{name} ({' '.join(args) or 'the lab command line'}): census boot {fact['boot']}; "
                     f"{fact['functions_listed']} functions listed; MMCONFIG in /proc/iomem: {fact['mmconfig_in_iomem']}; "
                     f"dmesg: {'; '.join(fact['dmesg'])}")  # type: ignore[arg-type]
        if times[name]:
            for call in (*PCI_INITCALLS, "(boot to command, host clock, ms)"):
                got = [t[call] for t in times[name] if call in t]
                if got:
                    unit = "" if call.startswith("(") else " us"
                    lines.append(f"  {call}: median {statistics.median(got):,.0f}{unit} ("
                                 + ", ".join(f"{g:,}" for g in got) + ")")
    (opts.out / "summary.txt").write_text("\n".join(lines) + "\n")
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
