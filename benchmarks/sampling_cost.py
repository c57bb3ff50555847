"""What the per-read distribution costs in wall time: `cfgbench run` with the
default --samples against --samples 0, on the kernel method (the one raw-free
method every machine has; sysfs reads are the slowest path, so the worst case
of the 0.25 s-per-process cap).

    python benchmarks/sampling_cost.py [--repeat 3] [-- extra cfgbench run args]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BASE = [sys.executable, "-m", "cfgbench", "run", "--method", "kernel", "--fast", "-q"]


def wall_seconds(extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([*BASE, *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more `cfgbench run` arguments (e.g. --device, --offset)")
    args = parser.parse_args()
    rows = {"--samples 0": ["--samples", "0"], "default samples": []}
    medians = {}
    for label, flags in rows.items():
        times = [wall_seconds([*flags, *args.extra]) for _ in range(args.repeat)]
        medians[label] = statistics.median(times)
        print(f"{label:16} wall {medians[label]:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    extra = medians["default samples"] - medians["--samples 0"]
    print(f"distribution cost: {extra:+.2f} s ({extra / medians['--samples 0']:+.0%} of the run)")


if __name__ == "__main__":
    main()
