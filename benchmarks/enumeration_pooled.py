"""The rescan A/B pooled over boots (the boot is the unit), with its A/A, the accessors timed in
situ, the cold pattern and the projection, at one vCPU count.

    python benchmarks/enumeration_pooled.py --vcpus 1 --boots 16 --rounds 48 --out results/enumeration/pooled-1vcpu

One census guest (one vCPU, QEMU's trace: lab/enumeration_job.census_boot), then --boots timing
guests of --vcpus vCPUs, one after another, each running
`python -m cfgbench.lab.enumeration ab --aa --cold --traced N`: the A/B of --rounds paired rounds
(both orders the same rescans per value), the A/A of each order (each value after a real switch
to the other order and back), the cold pattern by pio and mmio (peer-probe and its hot partner),
and N rescans per order with their config accessor calls timed by ftrace's function_graph.
Writes boot-K/ per boot, the merged pyperf files, summary.json and summary.txt into --out, which
must not exist yet; with --add, --out holds such a run already, its census is reused, --boots more
boots are timed and everything is merged and summarised again over every boot. `uptime` is
recorded before and after each invocation (uptime.txt).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from cfgbench import results
from cfgbench.compare.model import report_of
from cfgbench.compare.render import pattern_lines
from cfgbench.compare.stats import estimate, mean_interval
from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.enumeration import AA_NAME, ACCESSOR_TIMES, CANDIDATE, ORDERS, REFERENCE, RESULT_NAME, cold_paths
from cfgbench.lab.enumeration_job import CENSUS_NAME, answer_lines, census_boot, rescan_answer, write_extra
from cfgbench.lab.census import Census
from cfgbench.lab.mainjob import TRACED_RESCANS
from cfgbench.lab.qemu import find_tree

MERGED = [RESULT_NAME.format(order=o) for o in ORDERS] + [AA_NAME.format(order=o) for o in ORDERS] + \
    [p.name for p in cold_paths(Path())]


def boot(k: int, args: argparse.Namespace, port: str) -> Path | None:
    directory = args.out / f"boot-{k}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ab.txt").touch()
    python = shlex.quote(sys.executable)
    # Output to a file, not a pipe: a reader on a lone vCPU would land in the timed rescans.
    script = (f'{python} -m cfgbench.lab.enumeration ab --port {port} --rounds {args.rounds} --aa --cold '
              f'--traced {args.traced} --out "$CFGBENCH_LAB_OUT" > "$CFGBENCH_LAB_OUT/ab.txt" 2>&1')
    try:
        result = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", smp=args.vcpus, tree=args.tree,
                                                                pci_order_module=True, timeout_s=args.timeout),
                              outdir=directory, progress=lambda line: print(f"boot {k}: {line}", flush=True))
        failed = "" if result.returncode == 0 else f"exit code {result.returncode}"
    except LabError as exc:  # a hung guest: kept, with how far it got, and left out of the pooled figures
        failed = exc.one_line()
        (directory / "console.txt").write_text(exc.console)
    if failed:
        (directory / "FAILED").write_text(f"{failed}\n")
        print(f"boot {k} failed ({failed}); ab.txt: {(directory / 'ab.txt').read_text()[-500:]}", flush=True)
        return None
    return directory


def loops_of(path: Path) -> list[int]:
    return sorted({int(b.get_metadata()["loops"]) for b in results.load_suite(path).get_benchmarks()})


def first_of_each(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [r for o in ORDERS for r in [r for r in rows if r["order"] == o][:n]]


def interval(e: object) -> str:
    return f"{e.ratio:.4f} (95% CI {e.low:.4f}-{e.high:.4f}, {e.rests_on()})"  # type: ignore[attr-defined]


def position_medians(rows: list[dict[str, Any]]) -> list[str]:
    """Each call of a rescan against the same call (same position) of the other order, by their medians
    over the rescans: robust to the rare long call (an interrupt taken inside one, a stall of the host)."""
    by_order = {o: [r["calls"] for r in rows if r["order"] == o] for o in ORDERS}
    if not all(by_order.values()) or len({len(c) for calls in by_order.values() for c in calls}) != 1:
        return []
    n = len(by_order[REFERENCE][0])
    median = {o: [statistics.median(c[k][1] for c in calls) for k in range(n)] for o, calls in by_order.items()}
    kinds = [key.split("-")[1] for key, _ in by_order[REFERENCE][0]]
    parts = []
    for kind in ("read", "write"):
        diff = sum(median[CANDIDATE][k] - median[REFERENCE][k] for k in range(n) if kinds[k] == kind)
        parts.append(f"{kind}s {diff * 1e6:+.0f} us")
    return [f"position by position ({len(by_order[REFERENCE])} rescans per order with every call kept; medians): "
            "ECAM only less type 1 first per rescan, " + ", ".join(parts)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="default")
    parser.add_argument("--vcpus", type=int, default=1)
    parser.add_argument("--boots", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=48)
    parser.add_argument("--traced", type=int, default=32, help="rescans per order timed in situ, per boot")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--add", action="store_true", help="add --boots boots to the run already in --out")
    args = parser.parse_args()
    if args.out.exists() != args.add:
        raise SystemExit(f"{args.out} {'exists: choose another --out, or --add' if args.out.exists() else 'does not exist'}")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.boots:  # --add --boots 0 only merges and summarises again
        with (args.out / "uptime.txt").open("a") as log:
            log.write(f"before {args.boots} boots: {subprocess.run(['uptime'], capture_output=True, text=True).stdout}")
    port = find_tree(args.tree).rescan_port
    if not args.add:
        census_boot(GuestConfig(accel="tcg", tree=args.tree, timeout_s=args.timeout), args.out, print)
    census = Census.from_json(json.loads((args.out / CENSUS_NAME).read_text()))
    first = len(list(args.out.glob("boot-*"))) + 1
    for k in range(first, first + args.boots):
        boot(k, args, port)
    if args.boots:
        with (args.out / "uptime.txt").open("a") as log:
            log.write(f"after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout}")
    uptime = (args.out / "uptime.txt").read_text().splitlines()
    every = sorted(args.out.glob("boot-*"), key=lambda d: int(d.name.split("-")[1]))
    dirs = [d for d in every if not (d / "FAILED").exists()]
    for name in MERGED:
        (args.out / name).unlink(missing_ok=True)
        for directory in dirs:
            results.save_suite(results.load_suite(directory / name), args.out / name, append=True)

    lines = [*uptime, f"{len(dirs)} boots of {args.vcpus} vCPU(s), {args.tree} tree, {args.rounds} paired rounds each"]
    lines += [f"{d.name} left out: {(d / 'FAILED').read_text().strip()}; it got as far as: "
              + " ".join(line.split("/")[-1] for line in (d / "ab.txt").read_text().split() if line.endswith(".json"))
              for d in every if (d / "FAILED").exists()]
    ab = {o: results.load_suite(args.out / RESULT_NAME.format(order=o)).get_benchmarks()[0] for o in ORDERS}
    pooled = estimate(ab[CANDIDATE], ab[REFERENCE])  # type 1 first over ECAM only, boots as units
    se = math.log(pooled.high / pooled.low) / 2 / 1.96 if pooled.low and pooled.high else float("nan")
    lines.append(f"A/B type 1 first / ECAM only: {interval(pooled)}; per boot "
                 + ", ".join(f"{r:.3f}" for r in pooled.per_run)
                 + f"; the smallest effect 80% power detects: {100 * (math.exp(2.8 * se) - 1):.1f}%")
    lines.append("rescans per value by boot (type 1 first / ECAM only): "
                 + ", ".join("/".join(str(loops_of(d / RESULT_NAME.format(order=o))) for o in ORDERS) for d in dirs))
    aa = {}
    for order in ORDERS:
        a, again = results.load_suite(args.out / AA_NAME.format(order=order)).get_benchmarks()
        aa[order] = estimate(a, again)
        lines.append(f"A/A {order} (each value after a real switch): {interval(aa[order])}")
    rows_by_boot = [json.loads((d / ACCESSOR_TIMES).read_text()) for d in dirs]
    traced = {o: [r["ns"] for rows in rows_by_boot for r in rows if r["order"] == o] for o in ORDERS}
    sums = {o: {op: statistics.fmean(sum(v[1] for key, v in r["accessors"].items() if key.endswith(op))
                                      for rows in rows_by_boot for r in rows if r["order"] == o) * 1e6
                for op in ("read", "write")} for o in ORDERS}
    lines.append(f"in situ (ftrace function_graph, {len(traced[REFERENCE])} rescans per order): traced rescan mean "
                 + ", ".join(f"{o} {statistics.fmean(traced[o]) / 1e6:.2f} ms" for o in ORDERS)
                 + "; accessor time per rescan (means) " + ", ".join(
                     f"{o} reads {sums[o]['read']:.0f} us, writes {sums[o]['write']:.0f} us" for o in ORDERS))
    lines += position_medians([r for rows in rows_by_boot for r in rows if "calls" in r])
    # the traced rescans' own A/B (ratio of the two orders' medians per boot; boots with the orders in
    # a random order only): what tracing does to the effect the in-situ times are asked to explain
    traced_logs = [math.log(statistics.median(r["ns"] for r in rows if r["order"] == REFERENCE)
                            / statistics.median(r["ns"] for r in rows if r["order"] == CANDIDATE))
                   for rows in rows_by_boot if "calls" in rows[0]]
    if len(traced_logs) > 2:
        m, low, high = mean_interval(traced_logs)
        lines.append(f"the traced rescans' own A/B, type 1 first / ECAM only (medians per boot, t over "
                     f"{len(traced_logs)} boots): {math.exp(m):.4f} (95% CI {math.exp(low):.4f}-{math.exp(high):.4f})")
    # the projection's write term boot by boot (each boot's own position medians), for its interval
    per_boot_writes = [w[0] for rows in rows_by_boot if (w := write_extra(rows)) is not None]
    if len(per_boot_writes) > 2:
        mean_w, low, high = mean_interval(per_boot_writes)
        lines.append(f"the writes' term boot by boot (position medians): mean {mean_w * 1e6:+.0f} us per rescan, 95% CI "
                     f"{low * 1e6:+.0f} to {high * 1e6:+.0f} us over {len(per_boot_writes)} boots")
        # what the lab's own projection rests on: one boot's first TRACED_RESCANS traced rescans per order
        eight = [w[0] for rows in rows_by_boot if "calls" in rows[0]
                 and (w := write_extra(first_of_each(rows, TRACED_RESCANS)))]
        lines.append(f"the same from each boot's first {TRACED_RESCANS} traced rescans per order (the lab's): "
                     "standard deviation over "
                     f"{len(eight)} boots {statistics.stdev(eight) * 1e6:.0f} us per rescan")
    cold = [str(p) for p in cold_paths(args.out) if p.exists()]
    report = report_of({}, more=[*(str(args.out / RESULT_NAME.format(order=o)) for o in ORDERS), *cold])
    answer = rescan_answer(args.out, report, census, {})
    lines += pattern_lines(report.patterns) + answer_lines(answer, census)
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n")
    summary = {"tree": args.tree, "vcpus": args.vcpus, "boots": len(dirs), "rounds": args.rounds,
               "ab": {"ratio": pooled.ratio, "ci95": [pooled.low, pooled.high], "per_boot": pooled.per_run},
               "aa": {o: {"ratio": e.ratio, "ci95": [e.low, e.high], "per_boot": e.per_run} for o, e in aa.items()},
               "write_extra_s_per_boot": per_boot_writes, "accessor_us_per_rescan": sums,
               "projection": answer.projection if answer else None, "uptime": uptime}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
