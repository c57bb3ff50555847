"""cfgbench: time PCI config-space reads through port I/O, ECAM and the kernel."""

# The one place the version lives (pyproject reads it): importlib.metadata costs a second in an emulated guest.
__version__ = "0.1.0"

__all__ = ["__version__"]
