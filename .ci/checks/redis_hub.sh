#!/usr/bin/env bash
# CI check: the Redis hub and the scaled-out chat against a real redis-server
# (tests/test_hub.py, tests/test_chat_redis.py) with WSFRAME_REQUIRE_REDIS=1,
# so a missing Redis fails instead of skipping. Installs redis-server with
# apt-get when missing (as root, or through sudo -n); when that is not
# possible it prints SKIP and exits 0. .ci/run calls it with its venv
# active; the redis package is pip-installed there if missing. About 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || PYTHON=python3

if ! command -v redis-server >/dev/null; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            SUDO="sudo -n"
        fi
    fi
    if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1 \
            || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1; } \
            || true
    fi
fi
if ! command -v redis-server >/dev/null; then
    echo "SKIP: redis hub check: redis-server is missing and could not be installed (not root, no sudo -n, or no apt-get)"
    exit 0
fi
# The installed package starts a system-wide server on 6379; the tests start their own on free ports.
"$PYTHON" -c "import redis" 2>/dev/null || "$PYTHON" -m pip install --quiet "redis>=5"

WSFRAME_REQUIRE_REDIS=1 timeout 180 "$PYTHON" -m pytest -p no:cacheprovider -q \
    tests/test_hub.py tests/test_chat_redis.py
