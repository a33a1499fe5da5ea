#!/usr/bin/env bash
# CI check: the codec tests against an ASan+UBSan build of the extension and
# the C kernel unit tests under valgrind memcheck (scripts/sanitize.sh on a
# subset, about 3 minutes). The whole suite under the sanitizers takes far
# longer on 2 cores; run it by hand: scripts/sanitize.sh (docs/hardening.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
command -v "$PYTHON" >/dev/null || PYTHON=python3
CC=${CC:-gcc}
if ! command -v "$CC" >/dev/null || [ ! -e "$($CC -print-file-name=libasan.so)" ]; then
    echo "SKIP: sanitize check: no $CC with libasan"
    exit 0
fi
# The in-tree sanitizer build needs Cython (pyproject.toml's version).
"$PYTHON" -c "import Cython" 2>/dev/null || "$PYTHON" -m pip install --quiet "Cython==3.3.1" || {
    echo "SKIP: sanitize check: Cython could not be installed"
    exit 0
}
PYTHON=$PYTHON bash scripts/sanitize.sh tests/test_parser.py tests/test_mask.py tests/test_utf8.py \
    tests/test_headers.py tests/test_close.py tests/test_split_points.py tests/test_leaks.py -k "not py]"
