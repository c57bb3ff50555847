"""Human-readable durations, shared by every printer."""

from __future__ import annotations

_UNITS = ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s"))


def unit_for(seconds: float) -> tuple[float, str]:
    """The largest unit in which the value is at least 1, ns at the least."""
    scale, name = _UNITS[0]
    for candidate_scale, candidate_name in _UNITS:
        if abs(seconds) >= candidate_scale:
            scale, name = candidate_scale, candidate_name
    return scale, name


UNIT_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def format_time(seconds: float, spread: float | None = None, signed: bool = False) -> str:
    """`433.2 ns`, `28.4 ± 0.3 us`; the spread shares the value's unit."""
    scale, name = unit_for(seconds)
    digits = 2 if abs(seconds / scale) < 10 else 1
    sign = "+" if signed else ""
    text = f"{seconds / scale:{sign}.{digits}f}"
    if spread is not None:
        text += f" ± {spread / scale:.{digits}f}"
    return f"{text} {name}"
