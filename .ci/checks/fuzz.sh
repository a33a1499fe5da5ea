#!/usr/bin/env bash
# CI check: a short fuzz run of every target (scripts/fuzz_short.sh with
# 15 s per target, about 3-4 minutes with the builds). Installs what it
# needs itself: atheris from PyPI into the current (CI) environment, clang
# via apt-get when missing. Without atheris it SKIPs (exit 0, loudly);
# without clang it runs the Python targets only.
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || PYTHON=python3

if ! "$PYTHON" -c "import atheris" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet atheris || true
fi
# Cython (the version pyproject.toml builds with) for the coverage-instrumented
# copy of the extension (fuzz/build_native.sh); without it that build fails
# and the Python targets fuzz the installed extension without C coverage.
"$PYTHON" -c "import Cython" 2>/dev/null || "$PYTHON" -m pip install --quiet "Cython==3.3.1" || true
if ! "$PYTHON" -c "import atheris" 2>/dev/null; then
    echo "SKIP: fuzz check: atheris could not be installed from PyPI (no wheel for this Python?)"
    exit 0
fi
if ! command -v clang >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq clang) >/dev/null 2>&1 || true
    fi
    command -v clang >/dev/null || echo "WARNING: clang unavailable (apt-get failed or not root): C targets are skipped"
fi

FUZZ_SECONDS=${FUZZ_SECONDS:-15} PYTHON=$PYTHON bash scripts/fuzz_short.sh
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIP: fuzz check"
    exit 0
fi
exit $rc
