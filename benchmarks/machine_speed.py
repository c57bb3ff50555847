"""Does this machine change speed by itself? The harness's null loop, again and again.

    python benchmarks/machine_speed.py [--samples 40] [--gap 1.5] > results/machine-speed.txt

Times the native null loop (the timed loop without the access: no guest, no
device, no system call) for 2**22 iterations, best of three, every --gap
seconds, and prints ns per iteration for each sample, then min, median and
max. On a steady machine the samples agree within a few percent; our
development machine switched between two levels about 2x apart."""

from __future__ import annotations

import argparse
import statistics
import time

from cfgbench.timing import null_target, run_loop

ITERATIONS = 1 << 22


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between samples")
    args = parser.parse_args()
    target = null_target()
    samples = []
    for _ in range(args.samples):
        samples.append(min(run_loop(target, ITERATIONS).ns for _ in range(3)) / ITERATIONS)
        time.sleep(args.gap)
    print("ns per iteration:", " ".join(f"{x:.3f}" for x in samples))
    print(f"min {min(samples):.3f}  median {statistics.median(samples):.3f}  max {max(samples):.3f}  "
          f"max/min {max(samples) / min(samples):.2f}")


if __name__ == "__main__":
    main()
