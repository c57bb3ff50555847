"""What the CI job times, as root: `cfgbench ci run` turns into one `cfgbench run`.

The root step is one fixed command that sudoers allows byte for byte
(docs/ci-runner.md), so anything that varies between machines is decided here,
not on its command line: the host bridge is read at 0x0 (type 1 and ECAM both
reach it) and at 0x100 (ECAM only; the kernel uses ECAM there too) when its
config space has 4096 bytes. A q35 guest's host bridge has 256, so a VM runner
times 0x0 only. The pyperf settings are a named choice, not free arguments:
sudoers can allow a name, and a free argument would let the step add options
as root."""

from __future__ import annotations

from pathlib import Path

from cfgbench.access.sysfs import SYSFS_DEVICES
from cfgbench.ci.layout import METHODS, RESULT_PATTERN
from cfgbench.errors import CfgbenchError

HOST_BRIDGE = "0000:00:00.0"
EXTENDED_OFFSET = "0x100"
EXTENDED_CONFIG_SIZE = 4096

# Named pyperf settings for the root step.
SETTINGS: dict[str, tuple[str, ...]] = {
    # pyperf's own: 20 processes x 3 values, the methods interleaved round by round.
    "default": (),
    # A smoke test: one process, 12 rounds of ~4 ms values. Seconds on bare metal,
    # well under a minute in an emulated guest (the end-to-end test runs it).
    "quick": ("--in-process", "--values", "12", "--min-time", "0.004"),
}
DEFAULT_SETTINGS = "default"


def config_size(bdf: str = HOST_BRIDGE, devices: Path = SYSFS_DEVICES) -> int:
    """The function's config space size as sysfs shows it (256 or 4096 bytes)."""
    try:
        return (devices / bdf / "config").stat().st_size
    except OSError as exc:
        raise CfgbenchError(f"cannot read {devices / bdf / 'config'} ({exc.strerror or exc})",
                            "the CI job times the host bridge 0000:00:00.0; is sysfs mounted?") from None


def offsets_for(size: int) -> list[str]:
    return ["0", EXTENDED_OFFSET] if size >= EXTENDED_CONFIG_SIZE else ["0"]


def run_arguments(results_dir: Path, settings: str = DEFAULT_SETTINGS, size: int | None = None) -> list[str]:
    """The `cfgbench run` arguments of the CI job: every method, the host bridge, {method}.json in results_dir."""
    if settings not in SETTINGS:
        raise CfgbenchError(f"no CI settings named {settings!r}", f"choose one of {', '.join(SETTINGS)}")
    if size is None:
        size = config_size()
    args = ["run"]
    for method in METHODS:
        args += ["--method", method]
    args += ["--device", HOST_BRIDGE]
    for offset in offsets_for(size):
        args += ["--offset", offset]
    args += [*SETTINGS[settings], "--quiet", "--output", str(results_dir / RESULT_PATTERN)]
    return args
