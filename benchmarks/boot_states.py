"""How much does a TCG guest's type 1 and ECAM cost move between boots, and within one?

    python benchmarks/boot_states.py --boots 5 --repeats 3 --smp 1 [--pin-guest] [--gap 5]

Boots guests one after another; in each it runs the bare C reference
(benchmarks/c_reference.c, no cfgbench loop involved) `--repeats` times,
`--gap` seconds apart, on 00:00.0+0. Prints per boot and repeat the median
pio and ECAM ns and their ratio, then the spread within and across boots.
--pin-guest runs the reference on guest CPU 0 (taskset); run the whole script
under `taskset -c 0` to pin QEMU to one host core."""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from cfgbench.lab.guest import GuestConfig, run_in_guest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_vs_c import HERE, build_reference, c_ratio  # noqa: E402


def guest_script(binary: Path, repeats: int, gap: float, pin: bool, rounds: int, reads: int) -> str:
    python = shlex.quote(sys.executable)
    prefix = "taskset -c 0 " if pin else ""
    lines = []
    for k in range(repeats):
        if k:
            lines.append(f"sleep {gap}")
        lines.append(f"{prefix}{python} {shlex.quote(str(HERE / 'c_reference.py'))} {binary} 00:00.0 "
                     f"--rounds {rounds} --reads {reads} -o \"$CFGBENCH_LAB_OUT/c-{k}.txt\" || exit $?")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gap", type=float, default=5.0)
    parser.add_argument("--smp", type=int, default=2)
    parser.add_argument("--pin-guest", action="store_true")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--reads", type=int, default=16384)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = []
    with tempfile.TemporaryDirectory(prefix="cfgbench-states-", dir="/tmp") as workdir:
        binary = build_reference(Path(workdir))
        for boot in range(1, args.boots + 1):
            out = Path(workdir) / f"boot-{boot}"
            result = run_in_guest(["sh", "-c", guest_script(binary, args.repeats, args.gap, args.pin_guest,
                                                             args.rounds, args.reads)],
                                  GuestConfig(accel="tcg", smp=args.smp, timeout_s=300), outdir=out)
            if result.returncode != 0:
                raise SystemExit(f"boot {boot} failed:\n{result.output}")
            repeats = [c_ratio(out / f"c-{k}.txt") for k in range(args.repeats)]  # geometric means
            figures.append(repeats)
            cells = "  ".join(f"{pio:4.0f}/{ecam:4.0f} ns = {ratio:.2f}" for ratio, pio, ecam in repeats)
            print(f"boot {boot}: {cells}", flush=True)
    ratios = [r for boot in figures for r, _, _ in boot]
    within = [max(r for r, _, _ in boot) / min(r for r, _, _ in boot) for boot in figures]
    print(f"smp {args.smp}{', guest pinned' if args.pin_guest else ''}: ratio {min(ratios):.2f}-{max(ratios):.2f} "
          f"(median {statistics.median(ratios):.2f}); within a boot up to {max(within):.2f}x apart; "
          f"pio {min(p for b in figures for _, p, _ in b):.0f}-{max(p for b in figures for _, p, _ in b):.0f} ns, "
          f"ECAM {min(e for b in figures for _, _, e in b):.0f}-{max(e for b in figures for _, _, e in b):.0f} ns")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "boots": figures}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
