# Helpers shared by scripts/autobahn.sh (server direction) and
# scripts/autobahn_client.sh (client direction); source it, do not run it.

# Which wsframe to test: the source tree when it has a built extension (or the
# pure backend is asked for, or nothing is installed), else the installed one
# (CI installs with pip, so src/ has no compiled module there). Needs ROOT and
# PYTHON; prints what was chosen, prefixed with $1.
autobahn_choose_wsframe() {
    if ls "$ROOT"/src/wsframe/_codec_c*.so >/dev/null 2>&1 || [ "${WSFRAME_NO_EXTENSIONS:-0}" = 1 ] \
       || ! (cd / && "$PYTHON" -c 'import wsframe.aio') >/dev/null 2>&1; then
        export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
    fi
    "$PYTHON" -c 'import sys, wsframe; print(sys.argv[1] + ": wsframe", wsframe.__version__, "backend", wsframe.BACKEND, "from", wsframe.__file__)' "$1"
}

# A free port on 127.0.0.1 (there is a tiny race between picking and binding).
autobahn_free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# autobahn_nonstrict_verdict PREFIX SUMMARY_JSON: status 1 when the summary
# counts a NON-STRICT case and AUTOBAHN_ALLOW_NONSTRICT is not 1, else 0.
autobahn_nonstrict_verdict() {
    local nonstrict
    nonstrict=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counts"]["NON-STRICT"])' "$2")
    [ "$nonstrict" -gt 0 ] || return 0
    if [ "${AUTOBAHN_ALLOW_NONSTRICT:-0}" = 1 ]; then
        echo "$1: $nonstrict NON-STRICT case(s), allowed by AUTOBAHN_ALLOW_NONSTRICT=1"
        return 0
    fi
    echo "$1: $nonstrict NON-STRICT case(s) (AUTOBAHN_ALLOW_NONSTRICT=1 allows them)" >&2
    return 1
}
