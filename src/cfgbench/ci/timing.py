"""What the CI job times, as root: `cfgbench ci run` is one `cfgbench run`.

The root step is one fixed command that sudoers allows byte for byte
(docs/ci-runner.md), so anything that varies between machines is decided here,
not on its command line: every method, the host bridge read at 0x0 (type 1
and ECAM both reach it) and at 0x100 (ECAM only; the kernel uses ECAM there
too) when its config space has 4096 bytes. A q35 guest's host bridge has 256,
so a VM runner times 0x0 only. The settings are a named preset
(settings.PRESETS), not free arguments: sudoers can allow a name, and a free
argument would let the step add options as root."""

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
from cfgbench.settings import preset

HOST_BRIDGE = parse_bdf("0000:00:00.0")
SETTINGS = ("default", "quick")  # the presets the root step may name
DEFAULT_SETTINGS = "default"


def host_bridge_config_size() -> int:
    """The host bridge's config space size as sysfs shows it (256 or 4096 bytes)."""
    size = config_size(HOST_BRIDGE)
    if size is None:
        raise CfgbenchError(f"sysfs does not show {HOST_BRIDGE}", f"the CI job times the host bridge {HOST_BRIDGE}; "
                            "is sysfs mounted?")
    return size


def offsets_for(size: int) -> list[int]:
    return [0, EXTENDED_START] if size >= EXTENDED_CONFIG_SIZE else [0]


def run_request(results_dir: Path, settings: str = DEFAULT_SETTINGS, size: int | None = None,
                methods: Sequence[str] = ()) -> RunRequest:
    """The CI job's run: the methods (every one by default), the host bridge, {method}.json in results_dir."""
    if settings not in SETTINGS:
        raise CfgbenchError(f"no CI settings named {settings!r}", f"choose one of {', '.join(SETTINGS)}")
    if size is None:
        size = host_bridge_config_size()
    targets = [Target(HOST_BRIDGE, offset, 4) for offset in offsets_for(size)]
    chosen = preset(settings).with_options(quiet=True)
    return RunRequest(PlanRequest(access.ordered(methods or access.user_methods()), targets), chosen,
                      output=results_dir / RESULT_PATTERN)


def describe(request: RunRequest) -> str:
    """The run in `cfgbench run` words, for the log."""
    methods = " ".join(f"-m {m}" for m in request.plan.methods)
    offsets = " ".join(f"--offset {t.offset:#x}" for t in request.plan.targets)
    # The kernel's two paths bring its floor, which pairs with them by round.
    paths = access.REFERENCE_READER in request.plan.methods and len(request.plan.targets) > 1
    settings = request.settings.resolved(len(request.plan.methods) > 1, split=paths)
    return f"cfgbench run {methods} -d {HOST_BRIDGE} {offsets} -o {request.output} ({settings.describe()})"
