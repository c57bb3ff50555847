"""The console protocol, without a guest: boot log, command output, the init's reports."""

from __future__ import annotations

from cfgbench.lab.guest import _Console
from cfgbench.lab.initramfs import marker_prefix

NONCE = "0123abcd"
MARK = marker_prefix(NONCE)


def _feed(chunks: list[bytes]) -> tuple[_Console, list[str]]:
    streamed: list[str] = []
    console = _Console(NONCE, streamed.append)
    for chunk in chunks:
        console.feed(chunk)
    return console, streamed


def test_output_is_what_comes_between_begin_and_exit() -> None:
    console, streamed = _feed([
        b"[ 0.1] kernel noise\r\n", f"{MARK}release=6.1.0\r\n{MARK}begin\r\n".encode(),
        b"line one\r", b"\nline two\r\n", f"{MARK}exit=3\r\n".encode(), b"reboot: Power down\r\n",
    ])
    assert console.reports == {"release": "6.1.0", "begin": "", "exit": "3"}
    assert "".join(console.output) == "line one\nline two\n"
    assert streamed == ["line one\n", "line two\n"]
    assert "kernel noise" in console.text() and "Power down" in console.text()


def test_last_line_without_newline_is_kept() -> None:
    console, _ = _feed([f"{MARK}begin\nno newline{MARK}exit=0\n".encode()])
    assert "".join(console.output) == "no newline"
    assert console.reports["exit"] == "0"


def test_command_cannot_fake_the_exit_report() -> None:
    console, _ = _feed([f"{MARK}begin\n".encode(), b"@@cfgbench-lab:ffffffff:exit=0\n", f"{MARK}exit=1\n".encode()])
    assert console.reports["exit"] == "1"


def test_invalid_utf8_does_not_break_the_stream() -> None:
    console, _ = _feed([f"{MARK}begin\n".encode(), b"\xff\xfe bytes\n", f"{MARK}exit=0\n".encode()])
    assert "bytes" in "".join(console.output)
