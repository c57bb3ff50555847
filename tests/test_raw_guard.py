"""The guard that keeps tests off this machine's hardware must itself work."""

from __future__ import annotations

import pytest

from cfgbench.access.ecam import EcamAccessor
from cfgbench.access.pio import PioAccessor
from cfgbench.errors import CfgbenchError


def test_raw_methods_refuse_before_touching_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    import portio

    def forbidden(*args: object) -> int:
        raise AssertionError("ioperm/iopl reached with the guard set")

    monkeypatch.setattr(portio, "ioperm", forbidden)
    monkeypatch.setattr(portio, "iopl", forbidden)
    monkeypatch.setattr("os.open", forbidden)
    for accessor in (PioAccessor(), EcamAccessor()):
        with pytest.raises(CfgbenchError, match="forbidden in this environment"):
            accessor.open()


def test_detect_does_not_touch_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    import portio

    def forbidden(*args: object) -> int:
        raise AssertionError("detect() must stay quiet")

    monkeypatch.setattr(portio, "ioperm", forbidden)
    monkeypatch.setattr(portio, "iopl", forbidden)
    for accessor in (PioAccessor(), EcamAccessor()):
        assert accessor.detect().reason
