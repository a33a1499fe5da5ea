#!/usr/bin/env bash
# Run Autobahn|Testsuite (fuzzing client) against examples/echo_server.py.
#
# Usage: scripts/autobahn.sh [CASES]      (default: every case)
# Environment:
#   AUTOBAHN_EXCLUDE  cases to skip (default '12.*,13.*': the permessage-deflate
#                     sections pass (docs/deflate.md) but take 7-23 minutes, too
#                     long for CI; run them with AUTOBAHN_EXCLUDE='' scripts/autobahn.sh '12.*,13.*')
#   AUTOBAHN_OUTDIR   report directory (default: a fresh temporary one)
#   PYTHON            interpreter for the echo server (default: python3)
# Prints the summary; exits non-zero when a case FAILED or the run broke.
# The server always gets killed.
set -euo pipefail

# Everything in a function: bash parses it whole before running, so editing
# this file during a long run cannot break the run.
main() {
    ROOT=$(cd "$(dirname "$0")/.." && pwd)
    SHARED=${WSFRAME_SHARED:-$ROOT/../shared}
    [ -x "$SHARED/autobahn/run.sh" ] || { echo "autobahn.sh: no $SHARED/autobahn/run.sh" >&2; exit 2; }
    PYTHON=${PYTHON:-python3}
    EXCLUDE=${AUTOBAHN_EXCLUDE-12.*,13.*}
    CASES=${1:-*}
    OUTDIR=${AUTOBAHN_OUTDIR:-$(mktemp -d)}

    # A free port on 127.0.0.1 (there is a tiny race between picking and binding).
    PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

    LOG=$OUTDIR/echo_server.log
    mkdir -p "$OUTDIR"
    # Which wsframe: the source tree when it has a built extension (or the pure
    # backend is asked for, or nothing is installed), else the installed one (CI
    # installs with pip, so src/ has no compiled module there).
    if ls "$ROOT"/src/wsframe/_codec_c*.so >/dev/null 2>&1 || [ "${WSFRAME_NO_EXTENSIONS:-0}" = 1 ] \
       || ! (cd / && "$PYTHON" -c 'import wsframe.aio') >/dev/null 2>&1; then
        export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
    fi
    "$PYTHON" -c 'import wsframe; print("autobahn: wsframe", wsframe.__version__, "backend", wsframe.BACKEND, "from", wsframe.__file__)'
    "$PYTHON" "$ROOT/examples/echo_server.py" "$PORT" >"$LOG" 2>&1 &
    SERVER=$!
    cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
    trap cleanup EXIT

    args=(-w 20)
    [ -n "$EXCLUDE" ] && args+=(-x "$EXCLUDE")
    echo "autobahn: echo server pid $SERVER on ws://127.0.0.1:$PORT, cases '$CASES', excluded '${EXCLUDE:-none}', report in $OUTDIR"
    status=0
    "$SHARED/autobahn/run.sh" "${args[@]}" "ws://127.0.0.1:$PORT" "$CASES" "$OUTDIR" || status=$?
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "autobahn: the echo server died; its log:" >&2
        cat "$LOG" >&2
        [ "$status" -eq 0 ] && status=3
    fi
    return "$status"
}

main "$@"
