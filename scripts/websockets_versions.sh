#!/usr/bin/env bash
# Run wsframe's websockets patch tests against every websockets release the
# patch claims (src/wsframe/compat/websockets.py: minimum and below), one
# release at a time, each installed on its own (pip --target) in front of
# the current venv: the differential tests (tests/test_compat_websockets_protocol.py)
# and the patch/unpatch tests. (tests/test_compat_interop.py pins the close
# codes of the installed release, so it runs against the venv's own websockets.)
#
# Usage: scripts/websockets_versions.sh [VERSION...]   (default: every release 13.0..17.4)
# Environment:
#   PYTHON                     interpreter with wsframe and the test deps (default: python3)
#   WSFRAME_PEERS_CACHE        where the releases are installed (default: $HOME/.cache/wsframe-peers)
#   WSFRAME_HYPOTHESIS_EXAMPLES  examples per property (default here: 100)
# Prints one line per release; exits 1 if any release fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
CACHE=${WSFRAME_PEERS_CACHE:-$HOME/.cache/wsframe-peers}
export WSFRAME_HYPOTHESIS_EXAMPLES=${WSFRAME_HYPOTHESIS_EXAMPLES:-100}
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(13.0 13.0.1 13.1 14.0 14.1 14.2 15.0 15.0.1 16.0 16.1 16.1.1 17.0 17.0.1 17.1 17.2 17.3 17.4)
status=0
for version in "${VERSIONS[@]}"; do
    target=$CACHE/websockets-target/$version
    if [ ! -d "$target/websockets" ]; then
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
            --target "$target" "websockets==$version" > /dev/null 2>&1 || { echo "websockets $version: pip install failed"; status=1; continue; }
    fi
    log=$(mktemp)
    if (cd "$ROOT" && PYTHONPATH=$target timeout 900 "$PYTHON" -m pytest -p no:cacheprovider -q -o addopts= \
        tests/test_compat_websockets_protocol.py tests/test_compat_patching.py -k websockets \
        < /dev/null > "$log" 2>&1); then
        got=$(PYTHONPATH=$target "$PYTHON" -c 'import websockets; print(websockets.__file__)')
        echo "websockets $version: $(tail -n 1 "$log") ($got)"
    else
        echo "websockets $version: FAILED"
        grep -E "^(FAILED|ERROR)" "$log" | head -n 20
        status=1
    fi
    rm -f "$log"
done
exit $status
