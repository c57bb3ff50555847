"""The count of lab guests a test run boots, added up across xdist workers (scripts/test.sh runs two)."""

from __future__ import annotations

BOOTED: list[str] = []  # one entry per QEMU command line built in this process
WORKER_COUNTS: list[int] = []  # in the xdist controller: each finished worker's len(BOOTED)
WORKER_KEY = "lab_guests_booted"
