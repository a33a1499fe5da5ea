#!/usr/bin/env bash
# PyPy check (run by .ci/run, or by hand from a fresh machine): install
# Debian's pypy3 (Python 3.9 language level) with apt-get when it is missing,
# make a PyPy venv, `pip install ".[test]"` there and run the test suite on
# the pure-Python backend, which PyPy selects by itself (no
# WSFRAME_NO_EXTENSIONS needed; backend_info() says why). Tests that need the
# compiled backend or a CPython-only peer skip with their reason.
#
# No pypy3 and no way to install it (not root, no apt-get, apt fails): prints
# SKIP and exits 0, so a machine without PyPy does not fail CI.
#
# The whole suite runs, except tests/test_c_kernels.py (gcc, sanitizers and
# qemu on the C kernels alone: no Python involved, CPython's runs cover it),
# with 50 hypothesis examples per test instead of 200 to stay near 5 minutes.
#
# Environment:
#   WSFRAME_PYPY                 the PyPy interpreter (default: pypy3 on PATH).
#   WSFRAME_PYPY_TESTS           pytest arguments (default: see above).
#   WSFRAME_HYPOTHESIS_EXAMPLES  hypothesis examples per test (default here: 50).
set -euo pipefail
# .ci/run exports WSFRAME_REQUIRE_EXTENSIONS=1 for its CPython runs; on PyPy
# that would (rightly) make `import wsframe` fail. PyPy must choose the pure
# backend by itself, so no backend switch may leak in.
unset WSFRAME_REQUIRE_EXTENSIONS WSFRAME_NO_EXTENSIONS WSFRAME_FORCE_SIMD
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
step() { printf -- '--- %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
skip() { echo "SKIP: PyPy check: $*"; exit 0; }

PYPY=${WSFRAME_PYPY:-pypy3}
# apt-get as root, or through password-less sudo (GitHub's runners); else none.
APT=""
if command -v apt-get > /dev/null; then
    if [ "$(id -u)" = 0 ]; then APT="apt-get"; elif sudo -n true 2> /dev/null; then APT="sudo apt-get"; fi
fi
apt_install() { DEBIAN_FRONTEND=noninteractive $APT install -y -qq "$@" >> "$WORK/apt.log" 2>&1; }

step "find PyPy"
if ! command -v "$PYPY" > /dev/null; then
    [ -n "$APT" ] || skip "no $PYPY, and no apt-get (as root or with sudo) to install it"
    { $APT update -qq > "$WORK/apt.log" 2>&1 && apt_install pypy3 pypy3-venv; } \
        || { tail -5 "$WORK/apt.log"; skip "apt-get could not install pypy3"; }
    PYPY=pypy3
fi
"$PYPY" --version
"$PYPY" -c 'import sys; assert sys.implementation.name == "pypy", sys.implementation.name; assert sys.version_info >= (3, 9), "wsframe needs Python >= 3.9"'

step "PyPy venv and pip install .[test]"
# Debian splits venv/ensurepip into pypy3-venv; install it when missing.
if ! "$PYPY" -c 'import ensurepip' 2> /dev/null && [ -n "$APT" ]; then
    apt_install pypy3-venv || true
fi
"$PYPY" -m venv "$WORK/venv" || skip "$PYPY cannot make a venv (install pypy3-venv)"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
# Build from a copy so the checkout gets no build/ or egg-info from this run.
mkdir "$WORK/src"
tar -C "$ROOT" --exclude=./.git --exclude='./.venv*' --exclude=./build --exclude=./dist --exclude='*.so' \
    --exclude=__pycache__ --exclude=.hypothesis --exclude=.mypy_cache --exclude=.pytest_cache -cf - . \
    | tar -C "$WORK/src" -xf -
"$VPY" -m pip install --quiet "$WORK/src[test]"

step "backend on PyPy"
cd "$WORK/src"
# The tests must import the installed package, not the tree: keep only the C
# kernels there (tests/test_c_kernels.py compiles them with gcc).
find src/wsframe -mindepth 1 -maxdepth 1 ! -name _kernels -exec rm -rf {} +
"$VPY" - <<'EOF'
import wsframe
info = wsframe.backend_info()
print(info)
assert wsframe.BACKEND == "python", info
assert "PyPy" in (info["c_import_error"] or ""), info
EOF
"$VPY" -m wsframe --version

step "tests on PyPy (pure backend)"
export WSFRAME_HYPOTHESIS_EXAMPLES=${WSFRAME_HYPOTHESIS_EXAMPLES:-50}
# shellcheck disable=SC2086
"$VPY" -m pytest -q -p no:cacheprovider ${WSFRAME_PYPY_TESTS:-tests --ignore=tests/test_c_kernels.py}
step "done"
