#!/usr/bin/env bash
# CI check: Autobahn|Testsuite sections 1-10 in both directions, about 20 s
# each: the fuzzing client against the wsframe.aio echo server
# (scripts/autobahn.sh), then against the callback API's echo server
# (examples/echo_listener.py), then against uvicorn with wsframe.asgi's protocol
# (examples/asgi_echo.py; skipped without uvicorn), then the fuzzing server
# against the wsframe.aio client (scripts/autobahn_client.sh). All fail on a
# FAILED or NON-STRICT case; the uvicorn and client runs are bounded to
# 150 s. Sections 12/13 (permessage-deflate) pass but take about 10 minutes
# per run, so CI skips them: see AUTOBAHN_EXCLUDE in the scripts and
# docs/autobahn.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHON=${PYTHON:-python}
# wstest first, with one retry: setup.sh's library probe (ldconfig -p | grep -q
# under pipefail) can fail spuriously on a machine where it is not installed yet.
SETUP=${WSFRAME_SHARED:-../shared}/autobahn/setup.sh
"$SETUP" >/dev/null 2>&1 || "$SETUP"
status=0
echo "--- autobahn, server direction (sections 1-10)"
bash scripts/autobahn.sh || status=$?
echo "--- autobahn, server direction, the callback API (examples/echo_listener.py, sections 1-10)"
AUTOBAHN_SERVER=examples/echo_listener.py AUTOBAHN_TIMEOUT=${AUTOBAHN_TIMEOUT:-150} \
    bash scripts/autobahn.sh || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
echo "--- autobahn, server direction, uvicorn + wsframe.asgi (sections 1-10)"
if "$PYTHON" -c 'import uvicorn' >/dev/null 2>&1; then
    AUTOBAHN_SERVER=examples/asgi_echo.py AUTOBAHN_TIMEOUT=${AUTOBAHN_TIMEOUT:-150} \
        bash scripts/autobahn.sh || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
else
    echo "skipped: uvicorn is not installed (pip install '.[asgi]')"
fi
echo "--- autobahn, client direction (sections 1-10)"
# The whole client run is bounded well inside the check's 3-minute budget.
AUTOBAHN_TIMEOUT=${AUTOBAHN_TIMEOUT:-150} AUTOBAHN_CASE_TIMEOUT=${AUTOBAHN_CASE_TIMEOUT:-30} \
    bash scripts/autobahn_client.sh || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
