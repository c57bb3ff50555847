"""Where the time goes, over consecutive labs: do type 1's two accesses, each
timed alone, add up to the full type 1 read?

    python benchmarks/breakdown.py --labs 3 --out results/breakdown-lab [--within 0.15]

Each lab boots one guest that runs the lab's own job (`python -m
cfgbench.lab.mainjob`, as `cfgbench lab` does: every method, read and split
workloads among others, interleaved in rounds). On the host it prints, per
lab and target, the breakdown (type 1's address write + data read against its
full read, medians, with the sum's ratio and its interval over paired rounds; ECAM's
load against its read; the kernel's gross - floor = net), then the range of
each ratio over the labs, and whether every type 1 sum is within --within of
its read. Writes summary.json and summary.txt into --out, each lab's files
into --out/lab-N. Exit code 0 when every sum is within, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from cfgbench.compare.breakdown import breakdowns
from cfgbench.compare.render import as_data, breakdown_line
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.mainjob import LabJob, result_paths
from cfgbench.results import load_suite
from cfgbench.settings import PRESETS


def one_lab(index: int, outdir: Path, job: LabJob) -> dict:
    labdir = outdir / f"lab-{index}"
    started = time.monotonic()
    result = run_in_guest([sys.executable, "-m", "cfgbench.lab.mainjob", job.request()],
                          GuestConfig(accel="tcg", timeout_s=300), outdir=labdir,
                          progress=lambda line: print(f"  {line}", file=sys.stderr))
    if result.returncode != 0:
        raise SystemExit(f"lab {index} failed (exit {result.returncode}):\n{result.output}")
    rows = []
    for path in result_paths(labdir):
        for b in breakdowns(load_suite(path).get_benchmarks()):
            rows.append({"method": path.stem.removeprefix("lab-"), "line": breakdown_line(b), **as_data(b), "sum_s": b.sum_s, "sum_over_full": b.sum_ratio, "net_s": b.net_s})
    return {"lab": index, "wall_s": time.monotonic() - started, "boot_s": result.boot_seconds, "rows": rows}


def ratio_of(row: dict) -> float | None:
    """The parts' sum over the full read (medians over the paired rounds)."""
    return row["sum_over_full"]


def render(labs: list[dict], job: LabJob, within: float) -> tuple[str, bool]:
    lines = [f"{len(labs)} consecutive labs, {job.describe()}", ""]
    for lab in labs:
        lines.append(f"lab {lab['lab']}: wall {lab['wall_s']:.1f} s (boot {lab['boot_s']:.1f} s)")
        lines += [f"  {row['method']} {row['line']}" for row in lab["rows"]]
    lines += ["", "over the labs (min-max):"]
    keys = dict.fromkeys((row["mechanism"], row["target"]) for lab in labs for row in lab["rows"])
    ok = True
    for mechanism, target in keys:
        rows = [row for lab in labs for row in lab["rows"] if (row["mechanism"], row["target"]) == (mechanism, target)]
        if mechanism == "kernel":
            nets = [row["net_s"] * 1e6 for row in rows]
            floors = [row["floor"]["s"] * 1e6 for row in rows]
            shares = [row["floor"]["s"] / row["full_s"] for row in rows]
            lines.append(f"  {target} kernel: floor {min(floors):.2f}-{max(floors):.2f} us, net {min(nets):.2f}-"
                         f"{max(nets):.2f} us, the floor {min(shares):.0%}-{max(shares):.0%} of the read")
            continue
        ratios = [r for r in map(ratio_of, rows) if r is not None]
        inside = all(abs(r - 1) <= within for r in ratios)
        if mechanism == "type 1":
            ok &= inside
        lines.append(f"  {target} {mechanism}: parts/full {min(ratios):.3f}-{max(ratios):.3f} "
                     f"({'within' if inside else 'NOT within'} {within:.0%})")
    lines += ["", f"type 1: every sum within {within:.0%} of its full read: {'yes' if ok else 'NO'}"]
    return "\n".join(lines) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--values", type=int, default=PRESETS["lab"].values)
    parser.add_argument("--within", type=float, default=0.15, help="largest |sum/full - 1| accepted [0.15]")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose a new --out")
    args.out.mkdir(parents=True)
    job = LabJob(replace(PRESETS["lab"], values=args.values))
    labs = [one_lab(k, args.out, job) for k in range(1, args.labs + 1)]
    text, ok = render(labs, job, args.within)
    (args.out / "summary.json").write_text(json.dumps({"settings": job.describe(), "within": args.within,
                                                        "labs": labs, "all_within": ok}, indent=2) + "\n")
    (args.out / "summary.txt").write_text(text)
    print(text, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
