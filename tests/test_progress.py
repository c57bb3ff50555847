"""The progress line of a run in worker processes (README: a dot per finished
worker process, with an estimate of the time left after the first; -q
silences it): engine._Dots and time_left. A real run prints it in
tests/test_cli_fake.py (test_quiet_keeps_the_warnings_and_drops_the_progress)."""

from __future__ import annotations

import pytest

from cfgbench.engine import _Dots, time_left


@pytest.mark.parametrize(("elapsed", "done", "total", "left"), [
    (2.0, 1, 5, 8.0),  # 2 s for the first of 5: 4 more at 2 s each
    (9.0, 3, 4, 3.0),
    (7.5, 5, 5, 0.0),
])
def test_the_time_left_is_the_rest_at_the_pace_so_far(elapsed: float, done: int, total: int, left: float) -> None:
    assert time_left(elapsed, done, total) == pytest.approx(left)


class Clock:
    """A clock that reads the times it is given, one per look."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_one_dot_per_process_and_the_estimate_after_the_first(capsys: pytest.CaptureFixture[str]) -> None:
    dots = _Dots(4, quiet=False, clock=Clock(100.0, 103.0))  # started at 100 s, the first process done at 103 s
    for _ in range(4):
        dots.dot()
    dots.end()
    assert capsys.readouterr().err == "cfgbench: timing 4 processes . (about 9 s to go) ...\n"


def test_one_process_has_nothing_to_estimate_and_quiet_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    single = _Dots(1, quiet=False, clock=Clock(0.0))
    single.dot()
    single.end()
    assert capsys.readouterr().err == "cfgbench: timing 1 processes .\n"
    quiet = _Dots(3, quiet=True, clock=Clock(0.0, 1.0))
    for _ in range(3):
        quiet.dot()
    quiet.end()
    assert capsys.readouterr().err == ""
