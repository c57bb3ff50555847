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
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
