"""The guest kernel's own enumeration, type 1 first against ECAM only, on one PCI tree of the lab.

    python benchmarks/enumeration_ab.py --tree large --rounds 16 --out results/enumeration/large

Two guests, one vCPU each, with the lab's config-order module loaded:

1. a census guest (QEMU traces every config access, lab/census.py): one marked rescan of the
   tree's port per order (type 1 first, ECAM only, type 1 first again), each counted by the
   guest kernel too (ftrace on its four config accessors), which must agree with QEMU's count;
2. a timing guest, no tracing: `--rounds` paired rounds of rescans in a random order per round
   (lab/enumeration.py), then cfgbench's own pio and mmio reads of the first function below
   the port (`cfgbench run -m pio -m mmio --in-process`), in the same boot.

Writes census.json, kernel-counts.json, census.txt (the phases, the windows, the cross-check),
lab-rescan-type1-first.json and lab-rescan-ecam-only.json (the paired rounds, pyperf files
that `cfgbench compare` pairs), ab.txt, reads-pio.json, reads-mmio.json and summary.json (the A/B ratio and
the projection: type 1 accesses of one rescan x the per-read difference between type 1 and
ECAM, over the ECAM-only rescan time) into --out, which must not exist yet.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.census import Census
from cfgbench.compare import stats
from cfgbench.lab.enumeration import CANDIDATE, REFERENCE, RESULT_NAME
from cfgbench.results import load_suite
from cfgbench.schema import RESCAN_FUNCTIONS
from cfgbench.lab.initramfs import GUEST_OUT
from cfgbench.lab.qemu import find_tree


def census_boot(tree: str, out: Path, timeout: float) -> tuple[Census, list[dict[str, object]], list[str]]:
    port = find_tree(tree).rescan_port
    argv = [sys.executable, "-m", "cfgbench.lab.enumeration", "census", "--port", port, "--out", GUEST_OUT]
    result = run_in_guest(argv, GuestConfig(accel="tcg", smp=1, tree=tree, pci_order_module=True, census=True,
                                            timeout_s=timeout), outdir=out)
    if result.returncode != 0 or result.census is None:
        raise SystemExit(f"census guest failed ({result.returncode}):\n{result.output}")
    census, rows = result.census, json.loads((out / "kernel-counts.json").read_text())
    (out / "census.json").write_text(json.dumps(census.to_json(), indent=1))
    lines = [census.summary(), f"firmware ends at fw_cfg key {census.firmware_end!r}; {census.markers} markers",
             f"guest: {result.lab_metadata}"]
    for name, tally in census.phases.items():
        lines.append(f"{name}: {tally.describe()}; answered by a device {sum(tally.answered.values()):,}, "
                     f"other port accesses {tally.other:,}, {len(tally.functions)} functions addressed")
    for row in rows:
        window = next(w for w in census.windows if w.index == row["window"])
        kernel = dict(row["kernel_counts"])  # type: ignore[call-overload]
        differ = window.tally.disagreement(kernel)
        lines.append(f"{window.label}: QEMU {window.tally.describe()}; unanswered (absent functions) "
                     f"{window.tally.reads + window.tally.writes - sum(window.tally.answered.values()):,}; "
                     f"guest kernel {kernel}; " + (f"DISAGREE {differ}" if differ else "agree"))
    (out / "census.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return census, rows, lines


def timing_script(port: str, rounds: int, loops: int, device: str, values: int) -> str:
    python = shlex.quote(sys.executable)
    return "\n".join([
        "set -e",
        'out="$CFGBENCH_LAB_OUT"',
        # Output to files, not a pipe: a reader on the one vCPU would land in the timed rescans.
        f"{python} -m cfgbench.lab.enumeration ab --port {port} --rounds {rounds} --loops {loops} "
        f'--out "$out" > "$out/ab.txt" 2>&1',
        f"{python} -m cfgbench run -q -m pio -m mmio --in-process --values {values} -d {device} --offset 0 "
        f'-o "$out/reads-{{method}}.json" > "$out/reads.txt" 2>&1',
    ])


def busiest_function_below(census: Census) -> str:
    """The function the first rescan addressed most often off bus 0 (a present one: an absent
    function is read once, for its vendor ID): where cfgbench times one read each way."""
    functions = census.windows[0].tally.functions
    busiest = max((bdf for bdf in functions if not bdf.startswith("00:")), key=lambda bdf: sum(functions[bdf].values()))
    return f"0000:{busiest}"


def median_seconds(path: Path) -> float:
    import pyperf

    suite = pyperf.BenchmarkSuite.load(str(path))
    (bench,) = suite.get_benchmarks()
    return statistics.median(bench.get_values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="default")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--loops", type=int, default=0, help="rescans per value [default: calibrated]")
    parser.add_argument("--values", type=int, default=16, help="rounds of cfgbench's pio/mmio reads")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose another --out")
    tree = find_tree(args.tree)
    census, _, _ = census_boot(args.tree, args.out, args.timeout)
    ab_device = busiest_function_below(census)
    result = run_in_guest(["sh", "-c", timing_script(tree.rescan_port, args.rounds, args.loops, ab_device,
                                                      args.values)],
                          GuestConfig(accel="tcg", smp=1, tree=args.tree, pci_order_module=True, timeout_s=args.timeout),
                          outdir=args.out)
    print((args.out / "ab.txt").read_text() if (args.out / "ab.txt").exists() else result.output)
    if result.returncode != 0:
        raise SystemExit(f"timing guest failed ({result.returncode}):\n{result.output}")
    benches = {order: load_suite(args.out / RESULT_NAME.format(order=order)).get_benchmarks()[0]
               for order in (REFERENCE, CANDIDATE)}
    ab = stats.estimate(benches[CANDIDATE], benches[REFERENCE])  # reference / candidate, paired by round
    pio, mmio = (median_seconds(args.out / f"reads-{method}.json") for method in ("pio", "mmio"))
    window = next(w for w in census.windows if w.label.endswith(REFERENCE))
    type1_reads, type1_writes = window.tally.count("type1", "read"), window.tally.count("type1", "write")
    ecam_seconds = benches[CANDIDATE].median()
    per_read = pio - mmio
    projection_reads = 1 + type1_reads * per_read / ecam_seconds
    projection_all = 1 + (type1_reads + type1_writes) * per_read / ecam_seconds
    low, high = ab.low or float("nan"), ab.high or float("nan")
    summary = {
        "tree": args.tree, "functions_in_guest": tree.functions, "port": tree.rescan_port,
        "functions_rescanned": benches[REFERENCE].get_metadata()[RESCAN_FUNCTIONS],
        "rescan_ms": {order: bench.median() * 1e3 for order, bench in benches.items()},
        "ratio": ab.ratio, "ci95": [low, high], "rounds": ab.units,
        "type1_reads_per_rescan": type1_reads, "type1_writes_per_rescan": type1_writes,
        "read_ns": {"pio": pio * 1e9, "mmio": mmio * 1e9, "device": ab_device},
        "projected_ratio_reads": projection_reads, "projected_ratio_reads_and_writes": projection_all,
        "projection_inside_ci": low <= projection_reads <= high,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{args.tree}: rescan of {tree.rescan_port} ({summary['functions_rescanned']} functions) "
          f"{summary['rescan_ms'][REFERENCE]:.2f} ms type 1 first, {summary['rescan_ms'][CANDIDATE]:.2f} ms ECAM only; "
          f"ratio {ab.ratio:.3f} (95% CI {low:.3f}-{high:.3f}, {ab.units} rounds); projection "
          f"{type1_reads} type 1 reads x {per_read * 1e9:.0f} ns (pio {pio * 1e9:.0f} - mmio {mmio * 1e9:.0f}) "
          f"/ {ecam_seconds * 1e3:.2f} ms -> {projection_reads:.4f} ({projection_all:.4f} with the "
          f"{type1_writes} writes); inside the interval: {summary['projection_inside_ci']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
