"""An audit hook that refuses to open chosen character devices, however their
path is spelt (a symlink, a relative path, a node made elsewhere): the device
numbers decide, not the name."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

# /dev/mem and /dev/port (Linux, Documentation/admin-guide/devices.txt: major 1, minors 1 and 4).
RAW_DEVICES = frozenset({(1, 1), (1, 4)})


def refusing(devices: frozenset[tuple[int, int]]) -> Callable[[str, tuple[Any, ...]], None]:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        try:
            found = os.stat(args[0])
        except (OSError, ValueError):
            return  # nothing there (yet): nothing to refuse
        if stat.S_ISCHR(found.st_mode) and (os.major(found.st_rdev), os.minor(found.st_rdev)) in devices:
            raise PermissionError(f"the test suite refuses to open {os.fsdecode(args[0])}: a device of this machine")

    return hook
