"""What the CI job times as root, decided here because sudoers allows the command byte for byte (docs/ci-runner.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cfgbench import access
from cfgbench.address import parse_bdf
from cfgbench.ci.layout import RESULT_PATTERN
from cfgbench.errors import CfgbenchError
from cfgbench.pci import config_size
from cfgbench.pci_regs import EXTENDED_CONFIG_SIZE, EXTENDED_START
from cfgbench.plan import PlanRequest, Target
from cfgbench.session import RunRequest
from cfgbench.settings import PRESETS

HOST_BRIDGE = parse_bdf("0000:00:00.0")
SETTINGS = ("default", "quick")  # the presets the root step may name (settings.PRESETS)
DEFAULT_SETTINGS = "default"


def host_bridge_config_size() -> int:
    size = config_size(HOST_BRIDGE)
    if size is None:
        raise CfgbenchError(f"sysfs does not show {HOST_BRIDGE}", f"the CI job times the host bridge {HOST_BRIDGE}; "
                            "is sysfs mounted?")
    return size


def offsets_for(size: int) -> list[int]:
    return [0, EXTENDED_START] if size >= EXTENDED_CONFIG_SIZE else [0]


def run_request(results_dir: Path, settings: str = DEFAULT_SETTINGS, size: int | None = None,
                methods: Sequence[str] = ()) -> RunRequest:
    """Every method by default, the host bridge at 0x0 and (with 4096 bytes) 0x100, {method}.json in results_dir."""
    if settings not in SETTINGS:
        raise CfgbenchError(f"no CI settings named {settings!r}", f"choose one of {', '.join(SETTINGS)}")
    if size is None:
        size = host_bridge_config_size()
    targets = [Target(HOST_BRIDGE, offset, 4) for offset in offsets_for(size)]
    chosen = PRESETS[settings].with_options(quiet=True)
    return RunRequest(PlanRequest(access.ordered(methods or access.user_methods()), targets), chosen,
                      output=results_dir / RESULT_PATTERN)


def describe(request: RunRequest) -> str:
    methods = " ".join(f"-m {m}" for m in request.plan.methods)
    offsets = " ".join(f"--offset {t.offset:#x}" for t in request.plan.targets)
    # The kernel's two paths bring its floor, which pairs with them by round.
    paths = access.REFERENCE_READER in request.plan.methods and len(request.plan.targets) > 1
    settings = request.settings.resolved(len(request.plan.methods) > 1, split=paths)
    return f"cfgbench run {methods} -d {HOST_BRIDGE} {offsets} -o {request.output} ({settings.describe()})"
