#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh), then runs the main job: a QEMU q35
# guest measures PCI config reads through type 1 port I/O against ECAM.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
exec "${VENV:-$ROOT/.venv}/bin/cfgbench" lab "$@"
