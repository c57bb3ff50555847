"""The harness's own floor: the native timed loop with the access taken out.

    python benchmarks/null_loop.py -o results/null-loop.json

Reports, per iteration, what the loop around a read costs (the loop counter
and the mismatch check, paid once per eight reads; the null "read" is a value
produced in %eax with no memory access) and what one Python-to-C call costs,
which is why every C call does many reads. Target: at most 1 ns per null-loop
iteration in the lab guest (TCG), well below the cheapest read it brackets.
tests/test_native.py checks from the disassembly that no timed loop straddles a
64-byte line (a straddling null loop once measured slower than the memory loop
with the same body)."""

from __future__ import annotations

import pyperf

from cfgbench._native import ffi, lib
from cfgbench.timing import null_target, run_loop


def main() -> None:
    runner = pyperf.Runner()
    runner.metadata["description"] = "cfgbench native null loop and call overhead"
    target = null_target()
    result = ffi.new("struct cfg_loop_result *")

    def null_loop(loops: int) -> float:
        # One C call of `loops` iterations, timed by the C code itself.
        return run_loop(target, loops).ns / 1e9

    def one_call_per_read(loops: int) -> float:
        # What a Python-level loop over single reads would pay per read.
        t0 = pyperf.perf_counter()
        for _ in range(loops):
            lib.cfg_time_loop(target, 1, result)
        return pyperf.perf_counter() - t0

    runner.bench_time_func("null loop, per iteration", null_loop)
    runner.bench_time_func("python-to-C call, per read", one_call_per_read)


if __name__ == "__main__":
    main()
