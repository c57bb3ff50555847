"""How the kernel's enumeration grows with the tree: the census and the A/B of each tree, in one picture.

    python benchmarks/enumeration_plot.py results/enumeration -o results/enumeration/scale.png

Reads <dir>/<tree>/census.json and summary.json (written by benchmarks/enumeration_ab.py) for
every tree found, and draws three panels against the number of functions:
- config accesses per boot (firmware and the kernel's boot), type 1 and ECAM, reads and writes;
- config accesses per rescan of the tree's port, type 1 first and ECAM only;
- the A/B: type 1 first / ECAM only with its 95% interval, and the projection from the census.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TREES = ("default", "medium", "large")


def load(directory: Path) -> list[dict]:
    """Each tree's first run (<tree>/) with the A/B summaries of its repeats (<tree>-2/, <tree>-3/, ...)."""
    found = []
    for tree in TREES:
        census, summary = directory / tree / "census.json", directory / tree / "summary.json"
        if census.exists() and summary.exists():
            repeats = [json.loads(p.read_text()) for p in sorted(directory.glob(f"{tree}-*/summary.json"))]
            found.append({"tree": tree, "census": json.loads(census.read_text()),
                          "summary": json.loads(summary.read_text()), "repeats": repeats})
    if not found:
        raise SystemExit(f"no <tree>/census.json and summary.json under {directory}")
    return found


def accesses(stretch: dict, mechanism: str, op: str) -> int:
    return int(stretch["accesses"][f"{mechanism}-{op}"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists: choose another -o")
    trees = load(args.directory)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    boot, rescan, ab = figure.subplots(1, 3)
    functions = [t["summary"]["functions_in_guest"] for t in trees]
    rescanned = [t["summary"]["functions_rescanned"] for t in trees]
    for mechanism, colour in (("type1", "tab:blue"), ("ecam", "tab:orange")):
        for op, style in (("read", "-o"), ("write", "--s")):
            per_boot = [sum(accesses(t["census"]["phases"][p], mechanism, op) for p in ("firmware", "boot"))
                        for t in trees]
            boot.plot(functions, per_boot, style, color=colour,
                      label=f"{'type 1' if mechanism == 'type1' else 'ECAM'} {op}s")
    boot.set(xlabel="functions in the guest", ylabel="config accesses up to the command", yscale="log",
             title="per boot (firmware and kernel)")
    boot.legend(fontsize=8)
    # ECAM only has no type 1 read at all (a log axis has no 0): three lines, not four.
    for order, key, style, colour, label in (("type1-first", "type1-read", "-o", "tab:blue", "type 1 first: type 1 reads"),
                                             ("type1-first", "ecam-read", "--s", "tab:blue", "type 1 first: ECAM reads"),
                                             ("ecam-only", "ecam-read", "--s", "tab:orange", "ECAM only: ECAM reads")):
        windows = [next(w for w in t["census"]["windows"] if w["label"].endswith(order)) for t in trees]
        rescan.plot(rescanned, [w["accesses"][key] for w in windows], style, color=colour, label=label)
    rescan.set(xlabel="functions rescanned", ylabel="config reads per rescan", xscale="log", yscale="log",
               title="per rescan of the tree's port")
    rescan.legend(fontsize=8)
    for x, t in enumerate(trees):
        runs = [t["summary"], *t["repeats"]]
        for k, s in enumerate(runs):
            at = x + 0.15 * (k - (len(runs) - 1) / 2)  # each run of the tree, side by side
            low, high = s["ci95"]
            ab.errorbar([at], [s["ratio"]], yerr=[[s["ratio"] - low], [high - s["ratio"]]], fmt="o", color="black",
                        capsize=4, label="type 1 first / ECAM only, 95% CI (one boot each)" if x == k == 0 else None)
            ab.plot([at], [s["projected_ratio_reads"]], "x", color="tab:red", markersize=9,
                    label="projection (census x per-read difference)" if x == k == 0 else None)
        ab.annotate(f"{runs[0]['rescan_ms']['ecam-only']:.0f} ms a rescan", (x, max(r["ci95"][1] for r in runs)),
                    textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ab.axhline(1.0, color="0.5", linewidth=0.8)
    ab.set_xticks(range(len(trees)), [f"{t['tree']}\n{t['summary']['functions_rescanned']} rescanned" for t in trees])
    ab.set_xlim(-0.5, len(trees) - 0.5)
    ab.set(ylabel="rescan time ratio", title=f"the A/B under TCG ({trees[0]['summary']['rounds']} paired rounds each)")
    ab.legend(fontsize=8)
    figure.suptitle("The kernel's own enumeration in the lab (QEMU 7.2 q35, TCG): type 1 first against ECAM only")
    figure.savefig(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
