"""cffi build script (API mode, out of line): the declarations are loops.h itself, less its preprocessor lines."""

from pathlib import Path

from cffi import FFI

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
    # Loop heads on 64-byte boundaries (a rotated loop's head is a jump target), so that no timed loop, the null
    # loop above all, pays fetches the others do not; no jump tables, so tests/disasm.py can follow the dispatch.
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-falign-loops=64", "-falign-jumps=64",
                        "-fno-jump-tables"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
