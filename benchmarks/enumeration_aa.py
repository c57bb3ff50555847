"""The rescan A/B's own noise: the same order against itself (an A/A), in one boot each.

    python benchmarks/enumeration_aa.py --boots 2 -o results/enumeration/aa.txt

Each boot (one vCPU, the lab's config-order module loaded, the default tree) times two
Rescan benchmarks of the same order in interleaved, paired rounds with the A/B's own
settings (lab/enumeration.py AB_SETTINGS), once for type 1 first and once for ECAM only.
A design without bias gives ratios around 1 whose 95% intervals hold 1; how far they
stray is how far an A/B ratio may stray with no difference between the orders.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.qemu import find_tree

GUEST = """
import sys
from dataclasses import replace
from cfgbench import engine
from cfgbench.compare.stats import estimate
from cfgbench.lab.enumeration import AB_SETTINGS, REFERENCE, Rescan, set_order
port, order, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
first, second = Rescan(port, order), Rescan(port, order)
second.name += " again"
suite, _ = engine.time_here([first, second], replace(AB_SETTINGS, values=rounds), {"cfgbench_session": "aa"})
set_order(REFERENCE)
a, b = suite.get_benchmarks()
e = estimate(a, b)
print(f"A/A {order}: {e.ratio:.3f} (95% CI {e.low:.3f}-{e.high:.3f}, {e.units} paired rounds of "
      f"{a.get_runs()[-1].get_metadata()['loops']} rescans)")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=32)
    parser.add_argument("--tree", default="default")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists: choose another -o")
    port = find_tree(args.tree).rescan_port
    lines = []
    with tempfile.TemporaryDirectory(prefix="cfgbench-aa-") as work:
        script = Path(work) / "aa.py"
        script.write_text(GUEST)
        for boot in range(1, args.boots + 1):
            command = " && ".join(f"{shlex.quote(sys.executable)} {script} {port} {order} {args.rounds}"
                                  for order in ("type1-first", "ecam-only"))
            result = run_in_guest(["sh", "-c", command], GuestConfig(accel="tcg", smp=1, tree=args.tree,
                                                                      pci_order_module=True, timeout_s=600),
                                  outdir=Path(work) / f"boot-{boot}")
            if result.returncode != 0:
                raise SystemExit(f"boot {boot} failed:\n{result.output}")
            lines += [f"boot {boot}: {line}" for line in result.output.splitlines() if line.startswith("A/A")]
            print("\n".join(lines[-2:]))
    args.output.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
