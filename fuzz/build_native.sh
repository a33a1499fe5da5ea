#!/usr/bin/env bash
# Build a coverage-instrumented copy of the C extension for the atheris
# harnesses (clang -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp:
# the callbacks atheris's bundled libFuzzer exports), so libFuzzer sees the edges
# of the Cython parser and the C kernels, not only the Python code.
#   fuzz/build_native.sh [DEST]      (default: fuzz/build/native)
# Harnesses use it when WSFRAME_FUZZ_NATIVE=DEST/src is set.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-fuzz/build/native}
command -v clang >/dev/null || { echo "SKIP: clang not installed (apt-get install -y clang)"; exit 77; }
rm -rf "$DEST" && mkdir -p "$DEST"
cp -r setup.py pyproject.toml README.md src "$DEST"/
find "$DEST/src" -name '*.so' -delete
cd "$DEST"
CC=clang LDSHARED="clang -shared" WSFRAME_REQUIRE_EXTENSIONS=1 \
    WSFRAME_CFLAGS="-fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp -O1 -g" \
    ${PYTHON:-python3} setup.py -q build_ext --inplace >build.log 2>&1 || { tail -30 build.log; exit 1; }
ls src/wsframe/_codec_c*.so
