#!/usr/bin/env bash
# CI check: the documentation site (issue 18). Installs docs/requirements.txt
# (pinned Sphinx, furo, myst-parser) into the current (CI) environment, builds
# docs/ with warnings as errors into a temporary directory, twice: from the
# installed package as it is (the compiled extension, whose functions carry
# their signatures by Cython's embedsignature) and on the pure-Python backend
# (WSFRAME_NO_EXTENSIONS=1); then scripts/check_api_coverage.py checks, for
# each build, that every name of every public module's __all__ is in its
# objects.inv. About a minute (two builds of ~30 s).
#
# Sphinx 9 needs Python >= 3.11: on an older interpreter this prints SKIP.
#
# Environment:
#   WSFRAME_DOCS_OUT   keep the C-backend HTML there instead of a temp dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python}
command -v "$PYTHON" > /dev/null || PYTHON=python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
step() { printf -- '--- %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "SKIP: docs check: Sphinx 9 needs Python >= 3.11 ($("$PYTHON" -V 2>&1))"
    exit 0
fi

step "pip install -r docs/requirements.txt"
"$PYTHON" -m pip install --quiet -r docs/requirements.txt
"$PYTHON" -m sphinx --version

# -W --keep-going: every warning is listed, and any one fails the build.
# The doctrees go to the temp dir too: nothing is written into the checkout.
build() {  # build NAME OUTDIR [VAR=value...]
    local name=$1 out=$2
    shift 2
    step "sphinx-build -W ($name)"
    env "$@" "$PYTHON" -m sphinx -W --keep-going -q -b html -d "$WORK/doctrees-$name" docs "$out"
    step "API coverage ($name)"
    env "$@" "$PYTHON" scripts/check_api_coverage.py "$out"
}

OUT=${WSFRAME_DOCS_OUT:-$WORK/html}
build "installed backend" "$OUT"
build "pure-Python backend" "$WORK/html-pure" WSFRAME_REQUIRE_EXTENSIONS=0 WSFRAME_NO_EXTENSIONS=1
step "done"
