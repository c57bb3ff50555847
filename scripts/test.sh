#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs the whole test suite,
# including the QEMU guest-lab tests. This is what .ci/run runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
# A worker per core: every lab test on one (tests/conftest.py schedules them so, and guests
# boot one at a time), the unit tests on the others, on the core a TCG guest leaves idle.
exec "${VENV:-$ROOT/.venv}/bin/python" -m pytest -n auto "$@"
