"""Per-read costs in the enumeration's own access patterns against one register (cold against hot),
per method, in the lab.

    python benchmarks/enumeration_patterns.py --tree default --out results/enumeration/patterns-default

A census guest (one vCPU, QEMU's trace) gives the read sequence of one rescan of the tree's port,
type 1 first. Then one timing guest (--vcpus) runs, in one Python process each:

1. `cfgbench run -m pio -m mmio -m kernel --workload probe --workload peer-probe --in-process`:
   every function's vendor ID over the ECAM window's buses, and every 8th (x86's peer-bridge probe),
   each pass with its hot partner (one absent register for pio and mmio, whose passes are mostly
   absent functions; the first present one for the kernel, which reads only what it lists, at
   0x000 (its type 1) and at 0x100 (its ECAM));
2. the rescan's own type 1 reads (the census's, of present functions, dword-aligned) as one
   `sequence` pass by pio, mmio and kernel, with its first read as the hot partner.

Writes census.json, patterns-<method>.json, patterns.txt, sequence-<method>.json, sequence.txt,
summary.txt (the cold/hot lines) into --out, which must not exist yet.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.enumeration_job import census_boot

GUEST_SEQUENCE = """
import json, os, sys
from pathlib import Path
from cfgbench.address import parse_bdf
from cfgbench.plan import PlanRequest, Target
from cfgbench.session import RunRequest, run, summary_lines
from cfgbench.settings import PRESETS
out = Path(os.environ["CFGBENCH_LAB_OUT"])
targets = [Target(parse_bdf(bdf), offset, 4) for bdf, offset in json.loads((out / "sequence-targets.json").read_text())]
request = RunRequest(PlanRequest(["pio", "mmio", "kernel"], targets, ["sequence"]),
                     PRESETS["lab"].with_options(values=int(sys.argv[1]), quiet=True), output=out / "sequence-{method}.json")
print("\\n".join(summary_lines(run(request, lambda line: print(line, file=sys.stderr)))))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="default")
    parser.add_argument("--vcpus", type=int, default=2)
    parser.add_argument("--values", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose another --out")
    args.out.mkdir(parents=True)
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    census = census_boot(GuestConfig(accel="tcg", tree=args.tree, timeout_s=args.timeout), args.out, print)
    window = next(w for w in census.windows if w.label.endswith("type1-first"))
    sequence = [(f"0000:{function}", register & ~3) for key, function, register, answered in window.sequence
                if key == "type1-read" and answered]
    (args.out / "sequence-targets.json").write_text(json.dumps(sequence))
    (args.out / "sequence.py").write_text(GUEST_SEQUENCE)
    python = shlex.quote(sys.executable)
    script = "; ".join([
        f'{python} -m cfgbench run -q -m pio -m mmio -m kernel --workload probe --workload peer-probe --in-process '
        f'--values {args.values} -o "$CFGBENCH_LAB_OUT/patterns-{{method}}.json" > "$CFGBENCH_LAB_OUT/patterns.txt" 2>&1',
        f'{python} "$CFGBENCH_LAB_OUT/sequence.py" {args.values} > "$CFGBENCH_LAB_OUT/sequence.txt" 2>&1'])
    result = run_in_guest(["sh", "-c", script], GuestConfig(accel="tcg", smp=args.vcpus, tree=args.tree,
                                                            timeout_s=args.timeout), outdir=args.out, progress=print)
    uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if result.returncode != 0:
        print(f"the sequence failed ({result.returncode}); see {args.out}/sequence.txt")
    lines = [f"uptime before: {uptime[0]}", f"uptime after: {uptime[1]}",
             f"{args.tree} tree, {args.vcpus} vCPU(s), {args.values} paired rounds; the rescan's type 1 reads replayed: "
             f"{len(sequence)} reads of {len({bdf for bdf, _ in sequence})} functions, "
             f"{sum(a[0] != b[0] for a, b in zip(sequence, sequence[1:], strict=False))} changes of function"]
    for name in ("patterns.txt", "sequence.txt"):
        lines += [line for line in (args.out / name).read_text().splitlines() if "per read, against one of" in line]
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
