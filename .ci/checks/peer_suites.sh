#!/usr/bin/env bash
# websockets' and tornado's own test suites, unpatched and with
# wsframe.compat.patch(): every test that passes unpatched must pass patched
# (scripts/peer_suites.sh; known, explained differences are listed in
# scripts/peer_known_differences.txt). Downloads and venvs are cached under
# $HOME/.cache/wsframe-peers; warm, this takes about 4 minutes.
#
# .ci/run calls it with its venv active, so the wsframe tested is the one
# that venv built from this checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python} exec bash "$ROOT/scripts/peer_suites.sh" websockets tornado
