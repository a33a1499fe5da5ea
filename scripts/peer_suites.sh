#!/usr/bin/env bash
# Run websockets' and tornado's own test suites unpatched and with
# wsframe.compat.patch(), and compare the outcomes test by test.
#
# Usage: scripts/peer_suites.sh [websockets] [tornado]      (default: both)
#
# websockets: its PyPI sdist has no tests; Debian's source package has them.
# We add a deb-src line for Debian 13 (trixie) on the mirror the system's apt
# configuration names, in a private sources list and lists dir (the system's
# apt state is not touched), fetch python-websockets_15.0.1.orig.tar.gz with
# `apt-get source --download-only --tar-only`, install websockets 15.0.1 from
# PyPI into a venv of its own and run the tarball's tests/ there.
# tornado: the PyPI sdist ships tornado/test; we install tornado from it into
# a venv and run tornado.test.websocket_test.
#
# In both venvs wsframe is the one $PYTHON imports (linked in with a .pth
# file, so the code under test is the checkout's or the CI venv's build), and
# scripts/peer_patch_plugin.py patches the library when pytest starts.
#
# Environment:
#   PYTHON                interpreter whose wsframe is tested (default: python3)
#   WSFRAME_PEERS_CACHE   downloads and venvs (default: $HOME/.cache/wsframe-peers)
#   WEBSOCKETS_TESTS      websockets test paths (default: see WS_TESTS below)
#   PEER_TIMEOUT          seconds per suite run (default: 900)
# Exit status: 0 when every test that passes unpatched passes patched too;
# 1 when one does not; 2 when a set-up step fails.
set -euo pipefail

main() {
    ROOT=$(cd "$(dirname "$0")/.." && pwd)
    PYTHON=${PYTHON:-python3}
    CACHE=${WSFRAME_PEERS_CACHE:-$HOME/.cache/wsframe-peers}
    TIMEOUT=${PEER_TIMEOUT:-900}
    WS_VERSION=15.0.1
    TORNADO_VERSION=6.6.1
    WS_TESTS=${WEBSOCKETS_TESTS:-tests/test_protocol.py tests/test_frames.py tests/test_client.py tests/test_server.py tests/test_streams.py tests/extensions tests/asyncio tests/sync tests/legacy}
    mkdir -p "$CACHE"
    WSFRAME_PKG=$("$PYTHON" -c 'import os, wsframe; print(os.path.dirname(wsframe.__file__))') ||
        fail "$PYTHON cannot import wsframe"
    echo "wsframe under test: $WSFRAME_PKG ($("$PYTHON" -c 'import wsframe; print(wsframe.BACKEND)') backend)"
    local suites=("$@") status=0
    [ ${#suites[@]} -gt 0 ] || suites=(websockets tornado)
    for suite in "${suites[@]}"; do
        case $suite in
            websockets) websockets_suite || status=1 ;;
            tornado) tornado_suite || status=1 ;;
            *) fail "unknown suite $suite (websockets, tornado)" ;;
        esac
    done
    exit $status
}

fail() {
    echo "peer_suites.sh: $*" >&2
    exit 2
}

# The first Debian mirror the system's apt configuration names (deb822
# .sources files, then one-line .list files), skipping security archives.
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -e "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) print $i; break } }' "$f"
    done
}

# A venv at $1 with pip packages $2..; wsframe linked in from $WSFRAME_PKG.
peer_venv() {
    local venv=$1
    shift
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv" || fail "cannot create $venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" || fail "pip install $* failed"
    mkdir -p "$venv/wsframe-link"
    ln -sfn "$WSFRAME_PKG" "$venv/wsframe-link/wsframe"
    local site
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$venv/wsframe-link" > "$site/wsframe-under-test.pth"
    "$venv/bin/python" -c 'import wsframe' || fail "wsframe does not import in $venv"
}

# count FILE OUTCOME: how many tests of an outcome list ("<id> <outcome>") had it.
count() { awk -v o="$2" '$NF == o' "$1" | wc -l; }

summary() { echo "$(count "$1" passed) passed, $(count "$1" failed) failed, $(count "$1" error) errors, $(count "$1" skipped) skipped"; }

# suite_once LIBRARY PATCH OUT-FILE: run the suite (RUNNER, VENV, DIR, ARGS
# set by run_twice) once, with PATCH ("" or LIBRARY); outcome list to OUT-FILE.
suite_once() {
    local library=$1 patch=$2 outcomes=$3 log=$3.log
    shift 3
    if [ "$RUNNER" = pytest ]; then
        (cd "$DIR" && WSFRAME_PEER_PATCH=$patch PYTHONPATH=$ROOT/scripts timeout "$TIMEOUT" \
            "$VENV/bin/python" -m pytest -p no:cacheprovider -p peer_patch_plugin -q -o addopts= \
            --junitxml="$outcomes.xml" "$@" < /dev/null > "$log" 2>&1) || true
        [ -s "$outcomes.xml" ] || { tail -n 30 "$log" >&2; fail "$library run (patch: ${patch:-none}) produced no report"; }
        "$VENV/bin/python" "$ROOT/scripts/junit_outcomes.py" "$outcomes.xml" > "$outcomes"
    else  # a unittest runner module: RUNNER=unittest:MODULE
        (cd "$DIR" && WSFRAME_PEER_PATCH=$patch PYTHONPATH=$ROOT/scripts timeout "$TIMEOUT" \
            "$VENV/bin/python" "$ROOT/scripts/peer_unittest_runner.py" "$outcomes" "${RUNNER#unittest:}" "$@" \
            < /dev/null > "$log" 2>&1) || true
        [ -s "$outcomes" ] || { tail -n 30 "$log" >&2; fail "$library run (patch: ${patch:-none}) produced no outcomes"; }
    fi
}

# run_twice LIBRARY TITLE RUNNER VENV DIR ARGS...: the suite unpatched, then
# with wsframe.compat.patch(LIBRARY), and the outcomes compared. A test that
# passes unpatched but not patched is run again, 3 times each way, alone: if
# it also fails unpatched there, it is flaky here (timing), not our doing.
run_twice() {
    local library=$1 title=$2
    RUNNER=$3 VENV=$4 DIR=$5
    shift 5
    local out
    out=$(mktemp -d)
    echo "--- $title"
    suite_once "$library" "" "$out/unpatched.txt" "$@"
    suite_once "$library" "$library" "$out/patched.txt" "$@"
    grep -h "wsframe.compat:" "$out/unpatched.txt.log" "$out/patched.txt.log" | sort -u || true
    echo "$library unpatched: $(summary "$out/unpatched.txt")"
    echo "$library patched:   $(summary "$out/patched.txt")"
    local label
    for label in unpatched patched; do  # name the failures, when there are few
        if [ "$(grep -vc ' passed$\| skipped$' "$out/$label.txt")" -le 20 ]; then
            grep -v ' passed$\| skipped$' "$out/$label.txt" | sed "s/^/  $label: /" || true
        fi
    done
    local gained lost
    gained=$(awk 'NR == FNR { if ($NF == "passed") ok[$1] = 1; next } $NF == "passed" && !($1 in ok) { print $1 }' "$out/unpatched.txt" "$out/patched.txt" | sort)
    [ -z "$gained" ] || printf '%s passes patched only (flaky unpatched):\n%s\n' "$library" "$gained"
    lost=$(awk 'NR == FNR { if ($NF == "passed") ok[$1] = 1; next } $NF == "passed" { delete ok[$1] } END { for (t in ok) print t }' "$out/unpatched.txt" "$out/patched.txt" | sort)
    local known=$ROOT/scripts/peer_known_differences.txt test unexplained="" i cls name
    for test in $lost; do
        if grep -q "^$test " "$known"; then
            echo "$library expected difference: $(grep "^$test " "$known")"
            continue
        fi
        cls=${test%%::*}
        name=${test##*::}
        local flaky=0 failed=0
        for i in 1 2 3; do
            if [ "$RUNNER" = pytest ]; then
                suite_once "$library" "" "$out/again.txt" "$@" -k "${cls##*.} and $name"
            else
                suite_once "$library" "" "$out/again.txt" "$cls.$name"
            fi
            grep -q "^$test passed$" "$out/again.txt" || flaky=1
            if [ "$RUNNER" = pytest ]; then
                suite_once "$library" "$library" "$out/again.txt" "$@" -k "${cls##*.} and $name"
            else
                suite_once "$library" "$library" "$out/again.txt" "$cls.$name"
            fi
            grep -q "^$test passed$" "$out/again.txt" || failed=$((failed + 1))
        done
        if [ $flaky = 1 ]; then
            echo "$library flaky here (failed unpatched too when run again): $test"
        elif [ $failed -gt 0 ]; then
            unexplained="$unexplained$test (failed $failed of 3 reruns patched, 0 unpatched)"$'\n'
        else
            echo "$library flaky here (passed 3 of 3 reruns patched): $test"
        fi
    done
    if [ -n "$unexplained" ]; then
        printf '%s FAILS patched (passes unpatched):\n%s' "$library" "$unexplained"
        return 1
    fi
    echo "$library: every test that passes unpatched passes patched"
}

websockets_suite() {
    local dl=$CACHE/debsrc apt=$CACHE/apt tarball=python-websockets_${WS_VERSION}.orig.tar.gz
    mkdir -p "$dl"
    if [ ! -s "$dl/$tarball" ]; then
        local mirror
        mirror=$(apt_mirror | head -n 1)
        [ -n "$mirror" ] || fail "no Debian mirror in the system's apt configuration"
        command -v apt-get > /dev/null || fail "apt-get is needed to fetch Debian's python-websockets source"
        mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt/sources.list"
        local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
        apt-get "${opts[@]}" update > "$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; fail "apt-get update (private lists) failed"; }
        (cd "$dl" && apt-get "${opts[@]}" source --download-only --tar-only python-websockets > "$apt/source.log" 2>&1) ||
            { cat "$apt/source.log" >&2; fail "apt-get source python-websockets failed"; }
        [ -s "$dl/$tarball" ] || fail "Debian's python-websockets is not $WS_VERSION any more (got: $(ls "$dl"))"
    fi
    local src=$dl/websockets-$WS_VERSION
    [ -d "$src/tests" ] || tar -xzf "$dl/$tarball" -C "$dl"
    local venv=$CACHE/venv-websockets-$WS_VERSION
    peer_venv "$venv" "websockets==$WS_VERSION" pytest werkzeug
    # shellcheck disable=SC2086  # WS_TESTS is a list of paths
    run_twice websockets "websockets $WS_VERSION tests (Debian's source package)" pytest "$venv" "$src" $WS_TESTS
}

tornado_suite() {
    local dl=$CACHE/sdist sdist=tornado-$TORNADO_VERSION.tar.gz
    mkdir -p "$dl"
    if [ ! -s "$dl/$sdist" ]; then
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
            -d "$dl" "tornado==$TORNADO_VERSION" > /dev/null || fail "pip download tornado==$TORNADO_VERSION failed"
    fi
    local venv=$CACHE/venv-tornado-$TORNADO_VERSION
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tornado.test.websocket_test" 2> /dev/null; then
        peer_venv "$venv" "$dl/$sdist" pytest
    else
        peer_venv "$venv" pytest
    fi
    run_twice tornado "tornado $TORNADO_VERSION tornado.test.websocket_test (PyPI sdist)" unittest:tornado.test.runtests \
        "$venv" "$CACHE" tornado.test.websocket_test
}

main "$@"
