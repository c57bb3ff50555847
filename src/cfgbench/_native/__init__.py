"""The compiled timing loops (cffi, API mode). A failed build is an install error."""

from cfgbench._native._loops import ffi, lib

__all__ = ["ffi", "lib"]
