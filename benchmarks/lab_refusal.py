"""How fast the lab refuses `--accel kvm` where KVM cannot work (no vmx/svm,
or no usable /dev/kvm): the refusal must come before any QEMU is looked for,
so it takes well under a second. The unit suite checks the order of events
(tests/test_lab_errors.py); wall-clock limits live here, where a busy shared
machine cannot make a test fail.

    python benchmarks/lab_refusal.py [--repeat 5] [--limit 1.0]

Exit code 1 when the slowest refusal took longer than the limit; 2 where KVM
would work (there is nothing to refuse)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from cfgbench.errors import LabError
from cfgbench.lab.guest import GuestConfig, run_in_guest
from cfgbench.lab.qemu import kvm_problem


def refusal_in_process() -> float:
    started = time.perf_counter()
    try:
        run_in_guest(["true"], GuestConfig(accel="kvm"))
    except LabError:
        return time.perf_counter() - started
    raise SystemExit("the lab booted with --accel kvm: nothing was refused")


def refusal_of_the_command() -> float:
    """`cfgbench lab --accel kvm -- true` from start to exit, Python's start-up included."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cfgbench", "lab", "--accel", "kvm", "--", "true"],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 2:
        raise SystemExit(f"expected exit 2, got {done.returncode}: {done.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=float, default=1.0, help="seconds the in-process refusal may take")
    args = parser.parse_args()
    problem = kvm_problem()
    if problem is None:
        print("KVM works here: nothing to refuse")
        sys.exit(2)
    print(f"kvm cannot work here: {problem}")
    inside = [refusal_in_process() for _ in range(args.repeat)]
    command = [refusal_of_the_command() for _ in range(args.repeat)]
    print(f"refusal in process: median {statistics.median(inside) * 1e3:.2f} ms, max {max(inside) * 1e3:.2f} ms")
    print(f"`cfgbench lab --accel kvm`: median {statistics.median(command):.2f} s, max {max(command):.2f} s")
    if max(inside) >= args.limit:
        print(f"slower than the limit of {args.limit:g} s")
        sys.exit(1)


if __name__ == "__main__":
    main()
