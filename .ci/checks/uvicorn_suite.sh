#!/usr/bin/env bash
# uvicorn's own WebSocket tests with wsframe.asgi:UvicornProtocol added to
# their protocol parametrization, under h11 and httptools: every test that
# passes for a built-in protocol must pass for ours (scripts/uvicorn_suite.sh;
# the deliberate differences are in scripts/uvicorn_suite_plugin.py). About
# 1.5 minutes warm. .ci/run calls it with its venv active, so the wsframe
# tested is the one that venv built from this checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python} exec bash "$ROOT/scripts/uvicorn_suite.sh"
