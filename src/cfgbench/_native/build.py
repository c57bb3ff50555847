"""cffi build script (API mode, out of line): declares and points, no C here.

The declarations are loops.h itself, less its preprocessor lines (cffi's cdef
takes C declarations, not directives): one source of truth for the API."""

from pathlib import Path

from cffi import FFI

# Paths are relative to the project root, where setuptools runs this script.
NATIVE_DIR = "src/cfgbench/_native"


def declarations(header: str) -> str:
    return "\n".join(line for line in header.splitlines() if not line.lstrip().startswith("#"))


ffibuilder = FFI()
ffibuilder.cdef(declarations(Path(NATIVE_DIR, "loops.h").read_text()))
ffibuilder.set_source(
    "cfgbench._native._loops",
    '#include "loops.h"',
    sources=[f"{NATIVE_DIR}/loops.c"],
    include_dirs=[NATIVE_DIR],
    # Loop heads on 64-byte boundaries: a timed loop that straddles one pays
    # extra instruction fetches per iteration, and the null loop (the floor)
    # must not pay what the loops it is the floor of do not. GCC aligns only
    # some loop heads with -falign-loops; a rotated loop's head is a jump
    # target, which -falign-jumps aligns (padding only where nothing falls
    # through). tests/test_native.py checks every timed loop in the binary.
    # No jump tables: read_target's dispatch (eight kinds) stays a chain of
    # direct compares, which tests/disasm.py follows (an indirect jump would
    # hide the sample loop from the checks).
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-falign-loops=64", "-falign-jumps=64",
                        "-fno-jump-tables"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
