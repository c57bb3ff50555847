"""Before (0e4f507, this round's start) against after: each lab's mmio/pio ratio per target with its 95% CI,
and every before/after pair of intervals checked for overlap. Run from the repository: python results/round-2026-12-06/summarize.py [DIR] (DIR: final/, the same at the round's end)"""
import sys
from pathlib import Path

from cfgbench.compare.model import MECHANISM, report_of
from cfgbench.results import load_suite

HERE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
rows: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
for side in ("before", "after"):
    for lab in sorted((HERE / side).glob("lab-?")):
        report = report_of({m: load_suite(lab / f"lab-{m}.json") for m in ("pio", "mmio", "kernel")})
        for a in report.rows(MECHANISM):
            e = a.estimate
            rows.setdefault(a.target, {}).setdefault(side, []).append((1 / e.ratio, 1 / e.high, 1 / e.low))
pairs = overlapping = 0
for target, sides in rows.items():
    words = {s: ", ".join(f"{r:.2f} ({lo:.2f}-{hi:.2f})" for r, lo, hi in v) for s, v in sides.items()}
    print(f"{target}\n  before: {words['before']}\n  after:  {words['after']}")
    for b in sides["before"]:
        for a in sides["after"]:
            pairs += 1
            overlapping += b[1] <= a[2] and a[1] <= b[2]
print(f"before/after pairs whose intervals overlap: {overlapping} of {pairs}")
