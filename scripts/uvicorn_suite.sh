#!/usr/bin/env bash
# uvicorn's own WebSocket tests (tests/protocols/test_websocket.py of the
# uvicorn sdist) with wsframe.asgi:UvicornProtocol added to their protocol
# parametrization, under both HTTP parsers (h11, httptools). Every test that
# passes for one of uvicorn's built-in protocols (websockets-sansio, wsproto)
# must pass for ours; the deliberate differences are strict xfails listed in
# scripts/uvicorn_suite_plugin.py. The tests are never copied into this
# repository: the sdist is downloaded into $HOME/.cache/wsframe-peers and
# unpacked into a scratch directory, where two seds add our class.
#
# Runs with the active Python (its wsframe is the one tested) and installs the
# suite's test dependencies into it. About a minute warm.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python}
UVICORN_VERSION=${UVICORN_VERSION:-0.55.0}
CACHE=${WSFRAME_PEERS_CACHE:-$HOME/.cache/wsframe-peers}
mkdir -p "$CACHE"

"$PYTHON" -m pip install --quiet "uvicorn==$UVICORN_VERSION" httptools httpx2 anyio trustme pytest-mock \
    "websockets>=13" wsproto
sdist="$CACHE/uvicorn-$UVICORN_VERSION.tar.gz"
if [ ! -f "$sdist" ]; then
    "$PYTHON" -m pip download --quiet --no-binary :all: --no-deps "uvicorn==$UVICORN_VERSION" -d "$CACHE"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$sdist" -C "$work"
src="$work/uvicorn-$UVICORN_VERSION"
# Test the installed uvicorn (the same version), not the sdist's copy.
rm -rf "$src/uvicorn"

# 1. our class joins the ws_protocol_cls fixture's params;
# 2. the keepalive tests' isinstance check on the protocol accepts it.
sed -i 's|^\(\s*\)"uvicorn.protocols.websockets.websockets_sansio_impl:WebSocketsSansIOProtocol", id="websockets-sansio"$|&\n\1),\n\1pytest.param("wsframe.asgi:UvicornProtocol", id="wsframe"|' \
    "$src/tests/conftest.py"
grep -q 'wsframe.asgi:UvicornProtocol' "$src/tests/conftest.py" || { echo "uvicorn_suite: conftest.py patch failed" >&2; exit 1; }
sed -i 's|isinstance(protocol, (_WSProtocol, WebSocketsSansIOProtocol))|isinstance(protocol, (_WSProtocol, WebSocketsSansIOProtocol, __import__("wsframe.asgi").asgi.UvicornProtocol))|' \
    "$src/tests/protocols/test_websocket.py"

report="$work/report.xml"
set +e
(cd "$src" && PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" timeout 600 "$PYTHON" -m pytest \
    -p no:cacheprovider -p uvicorn_suite_plugin -o addopts="-rxXs --strict-markers" -o faulthandler_timeout=60 \
    --junitxml="$report" -q tests/protocols/test_websocket.py)
rc=$?
set -e
[ -f "$report" ] || { echo "uvicorn_suite: pytest produced no report (exit $rc)" >&2; exit 1; }
"$PYTHON" "$ROOT/scripts/uvicorn_suite_compare.py" "$report"
