#!/usr/bin/env bash
# Run Autobahn|Testsuite (fuzzing server) against examples/autobahn_client.py,
# the client direction (scripts/autobahn.sh tests the server direction).
#
# Usage: scripts/autobahn_client.sh [CASES]      (default: every case)
# Environment:
#   AUTOBAHN_EXCLUDE          cases to skip (default '12.*,13.*', as in
#                             scripts/autobahn.sh: permessage-deflate takes
#                             minutes; run it with AUTOBAHN_EXCLUDE='' ... '12.*,13.*')
#   AUTOBAHN_OUTDIR           report directory (default: a fresh temporary one)
#   AUTOBAHN_TIMEOUT          limit for the whole run in seconds (default 1800)
#   AUTOBAHN_CASE_TIMEOUT     limit for one case in seconds (default 180)
#   AUTOBAHN_ALLOW_NONSTRICT  1: a NON-STRICT case does not fail the run
#   PYTHON                    interpreter for the client (default: python3)
# Prints the summary; exits non-zero when a case FAILED or was NON-STRICT,
# when the client did not finish normally, or when the run broke.
# The fuzzing server always gets stopped.
set -euo pipefail

# Everything in a function: bash parses it whole before running, so editing
# this file during a long run cannot break the run.
main() {
    ROOT=$(cd "$(dirname "$0")/.." && pwd)
    SHARED=${WSFRAME_SHARED:-$ROOT/../shared}
    [ -x "$SHARED/autobahn/run-server.sh" ] || { echo "autobahn_client.sh: no $SHARED/autobahn/run-server.sh" >&2; exit 2; }
    PYTHON=${PYTHON:-python3}
    EXCLUDE=${AUTOBAHN_EXCLUDE-12.*,13.*}
    CASES=${1:-*}
    OUTDIR=${AUTOBAHN_OUTDIR:-$(mktemp -d)}
    RUN_TIMEOUT=${AUTOBAHN_TIMEOUT:-1800}
    CASE_TIMEOUT=${AUTOBAHN_CASE_TIMEOUT:-180}
    AGENT=wsframe
    mkdir -p "$OUTDIR"
    OUTDIR=$(cd "$OUTDIR" && pwd)

    # shellcheck source=scripts/autobahn_common.sh
    . "$ROOT/scripts/autobahn_common.sh"
    autobahn_choose_wsframe "autobahn client"

    # wstest needs to be there before the port wait starts (setup.sh is idempotent).
    # One retry: setup.sh's library probe can fail spuriously on a first install.
    "$SHARED/autobahn/setup.sh" >"$OUTDIR/setup.log" 2>&1 || "$SHARED/autobahn/setup.sh" >>"$OUTDIR/setup.log" 2>&1 \
        || { cat "$OUTDIR/setup.log" >&2; echo "autobahn_client.sh: wstest setup failed" >&2; exit 2; }

    PORT=$(autobahn_free_port)

    SERVER_LOG=$OUTDIR/run-server.log
    args=(-t "$RUN_TIMEOUT")
    [ -n "$EXCLUDE" ] && args+=(-x "$EXCLUDE")
    # Its own process group (setsid), so that cleanup can reach wstest too.
    setsid "$SHARED/autobahn/run-server.sh" "${args[@]}" "$PORT" "$CASES" "$OUTDIR" >"$SERVER_LOG" 2>&1 &
    SERVER=$!
    cleanup() {
        if kill -0 "$SERVER" 2>/dev/null; then
            kill -TERM "$SERVER" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
            kill -KILL -- "-$SERVER" 2>/dev/null || true
        fi
        wait "$SERVER" 2>/dev/null || true
    }
    trap cleanup EXIT
    echo "autobahn client: fuzzing server pid $SERVER on ws://127.0.0.1:$PORT, cases '$CASES', excluded '${EXCLUDE:-none}', report in $OUTDIR"

    deadline=$(( $(date +%s) + 30 ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        if ! kill -0 "$SERVER" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
            echo "autobahn_client.sh: the fuzzing server is not listening on $PORT; its log:" >&2
            cat "$SERVER_LOG" >&2
            exit 2
        fi
        sleep 0.2
    done

    status=0
    T0=$(date +%s.%N)
    # The client bounds each case itself; this bounds the whole (a margin over RUN_TIMEOUT).
    timeout -k 10 "$(( RUN_TIMEOUT + 60 ))" "$PYTHON" "$ROOT/examples/autobahn_client.py" \
        --agent "$AGENT" --case-timeout "$CASE_TIMEOUT" "ws://127.0.0.1:$PORT" || status=$?
    T1=$(date +%s.%N)
    echo "autobahn client: wall time $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')s, client exit $status"

    # Stop the server so it prints its summary (run-server.sh turns SIGTERM into a clean stop).
    cleanup
    trap - EXIT
    sed -n '/^fuzzingserver stopped/,$p' "$SERVER_LOG"

    JSON=$OUTDIR/summary.json
    rm -f "$JSON"
    python3 "$SHARED/autobahn/summarize.py" "$OUTDIR" --agent "$AGENT" --json "$JSON" >/dev/null 2>&1 || true
    if [ ! -f "$JSON" ]; then
        echo "autobahn client: no report for agent $AGENT in $OUTDIR" >&2
        [ "$status" -eq 0 ] && status=2
        return "$status"
    fi
    failed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counts"]["FAILED"])' "$JSON")
    if [ "$failed" -gt 0 ]; then
        echo "autobahn client: $failed FAILED case(s)" >&2
        [ "$status" -eq 0 ] && status=1
    fi
    if ! autobahn_nonstrict_verdict "autobahn client" "$JSON" && [ "$status" -eq 0 ]; then status=1; fi
    return "$status"
}

main "$@"
