"""Human-readable durations, shared by every printer."""

from __future__ import annotations

_UNITS = ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s"))


def unit_for(seconds: float) -> tuple[float, str]:
    """The largest unit in which the value is at least 1 (ns at the least)."""
    scale, name = _UNITS[0]
    for candidate_scale, candidate_name in _UNITS:
        if abs(seconds) >= candidate_scale:
            scale, name = candidate_scale, candidate_name
    return scale, name


def format_duration(seconds: float, digits: int = 3) -> str:
    scale, name = unit_for(seconds)
    return f"{seconds / scale:.{digits}g} {name}"


def format_with_spread(mean: float, spread: float, digits: int = 3) -> str:
    """'172 ns ± 3.1 ns' with both numbers in the mean's unit."""
    scale, name = unit_for(mean)
    return f"{mean / scale:.{digits}g} {name} ± {spread / scale:.2g} {name}"
