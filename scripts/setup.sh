#!/usr/bin/env bash
# Sets up cfgbench on a fresh Debian machine, idempotently:
#   - a Python >= 3.10 with venv and a C compiler (Debian packages if missing),
#   - .venv/ with cfgbench installed editable, its native module built, and the
#     test extras (pytest, hypothesis, matplotlib, scipy, workflow checkers),
#   - the guest lab: QEMU, busybox, pciutils, the stock kernel (scripts/setup-lab.sh).
# Usage: scripts/setup.sh            (VENV=path overrides .venv)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

log() { echo "setup: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_debs=()
command -v "$PYTHON" >/dev/null || need_debs+=(python3)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_debs+=(python3-venv)
command -v gcc >/dev/null || need_debs+=(gcc)
"$PYTHON" - <<'PY' 2>/dev/null || need_debs+=(python3-dev)
import os, sysconfig
raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
if [ "${#need_debs[@]}" -gt 0 ]; then
    log "installing ${need_debs[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}"
fi
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
    || { echo "setup: cfgbench needs Python >= 3.10" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
log "installing cfgbench and its test tools into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
"$VENV/bin/python" -c 'from cfgbench._native import lib; assert lib.cfg_have_x86() in (0, 1)'

bash "$ROOT/scripts/setup-lab.sh" "$VENV/bin/python"
log "done: $VENV/bin/cfgbench"
