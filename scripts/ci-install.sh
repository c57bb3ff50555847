#!/usr/bin/env bash
# The install step of .github/workflows/bench-bare-metal.yml, run by the runner
# user from the checkout's root: .venv with cfgbench and its extras, the native
# module compiled here (a failed build is an install error, never a fallback).
#
# Environment, all optional (on a self-hosted runner: the runner's .env file):
#   CFGBENCH_WHEELHOUSE=DIR  install offline from DIR (pip --no-index --find-links),
#                            for a runner without access to the package index.
#                            Fill DIR on a connected machine with the same Python
#                            version and architecture:
#                              python3 -m pip wheel -w DIR '.[plot]' 'setuptools>=77' wheel
#   CFGBENCH_CI_VENV=DIR     keep the environment in DIR, outside the checkout
#                            (actions/checkout cleans the checkout), .venv a link
#                            to it. DIR is rebuilt only when its stamp (the Python,
#                            pyproject.toml, setup.py, src/, the extras, this
#                            script, the wheelhouse's files) differs, so a re-run
#                            of one commit installs nothing. Keep DIR's path fixed:
#                            results record it (pyperf's python_executable), and a
#                            baseline only gathers runs that agree on it.
#   CFGBENCH_CI_EXTRAS=LIST  extras to install (default: plot); the fleet job: plot,history
#   PYTHON=python3           the interpreter the environment is made from
#
# Usage: bash scripts/ci-install.sh [--stamp]   (from the checkout's root;
#        --stamp prints what CFGBENCH_CI_VENV's stamp would be, and installs nothing)
set -euo pipefail

PYTHON=${PYTHON:-python3}
EXTRAS=${CFGBENCH_CI_EXTRAS:-plot}
WHEELHOUSE=${CFGBENCH_WHEELHOUSE:-}
CACHED=${CFGBENCH_CI_VENV:-}
STAMP_NAME=.cfgbench-ci-stamp

log() { echo "ci-install: $*"; }
die() { echo "ci-install: error: $*" >&2; exit 2; }

[ -f pyproject.toml ] && [ -d src/cfgbench ] || die "run me from the root of a cfgbench checkout (in $PWD)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install python3, python3-venv and python3-dev"
if [ -n "$WHEELHOUSE" ] && [ ! -d "$WHEELHOUSE" ]; then
    die "CFGBENCH_WHEELHOUSE=$WHEELHOUSE is not a directory"
fi

# What the environment is made from. Build products (.pyc, the compiled module,
# cffi's generated C, egg-info) are left out: a fresh checkout has none.
stamp() {
    {
        echo "python $(command -v "$PYTHON") $("$PYTHON" -c 'import sys; print(sys.version)')"
        echo "extras $EXTRAS"
        echo "wheelhouse $WHEELHOUSE"
        if [ -n "$WHEELHOUSE" ]; then (cd "$WHEELHOUSE" && LC_ALL=C ls -1); fi
        sha256sum "$0" | cut -d' ' -f1
        find pyproject.toml setup.py src -type f \
            ! -name '*.pyc' ! -name '*.so' ! -name '*.o' ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
            ! -path 'src/cfgbench/_native/_loops.c' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
}

build() {
    local target=$1 pip_args=(--quiet)
    log "building $target from $("$PYTHON" --version 2>&1) with cfgbench[$EXTRAS]"
    "$PYTHON" -m venv --clear "$target"
    if [ -n "$WHEELHOUSE" ]; then
        pip_args+=(--no-index --find-links "$WHEELHOUSE")
    else
        "$target/bin/python" -m pip install "${pip_args[@]}" --upgrade pip
    fi
    "$target/bin/python" -m pip install "${pip_args[@]}" ".[$EXTRAS]"
    "$target/bin/python" -c 'from cfgbench._native import lib; lib.cfg_have_x86()' \
        || die "cfgbench's native module does not load in $target"
}

if [ "${1:-}" = --stamp ]; then
    stamp
    exit 0
fi

# Never let `venv --clear .venv` follow a link into the kept environment.
if [ -L .venv ]; then rm .venv; fi

if [ -z "$CACHED" ]; then
    build .venv
    log "ready: .venv/bin/cfgbench"
    exit 0
fi

want=$(stamp)
if [ -f "$CACHED/$STAMP_NAME" ] && [ "$(cat "$CACHED/$STAMP_NAME")" = "$want" ]; then
    log "reusing $CACHED (built from this source and Python)"
else
    rm -f "$CACHED/$STAMP_NAME"  # an interrupted build leaves no stamp, so it is redone
    build "$CACHED"
    echo "$want" >"$CACHED/$STAMP_NAME"
fi
rm -rf .venv
ln -s "$CACHED" .venv
log "ready: .venv/bin/cfgbench (.venv -> $CACHED)"
