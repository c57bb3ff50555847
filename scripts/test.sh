#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs the whole test suite,
# including the QEMU guest-lab tests. This is what .ci/run runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "${VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
