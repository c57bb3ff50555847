"""cfgbench: time PCI config-space reads through port I/O, ECAM and the kernel."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cfgbench")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
