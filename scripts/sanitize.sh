#!/usr/bin/env bash
# The whole test suite against an AddressSanitizer + UBSan build of the C
# extension, then the C kernel unit tests under valgrind memcheck.
#
#   scripts/sanitize.sh                 # everything (~25 min on a busy 2-core box)
#   scripts/sanitize.sh tests/test_parser.py tests/test_leaks.py   # a subset
#   SANITIZE_SKIP_VALGRIND=1 / SANITIZE_SKIP_PYTEST=1 to run one half
#
# 1. Copies the working tree to a temporary directory (the checkout's own
#    in-place build is left alone) and builds the extension there with
#    WSFRAME_SANITIZE=1 (setup.py: -fsanitize=address,undefined,
#    -fno-sanitize-recover=undefined, so any UB report aborts the process).
# 2. Runs pytest there with libasan preloaded (CPython is not built with
#    ASan, so the runtime must come first), PYTHONMALLOC=malloc (every
#    Python object comes from malloc, so ASan also sees overreads of bytes
#    objects the kernels are given), ASAN_OPTIONS=detect_leaks=0 (CPython
#    leaks at exit by design) and UBSAN_OPTIONS=halt_on_error=1.
# 3. Builds tests/c/test_kernels.c without sanitizers (-O1 -g) and runs it
#    under valgrind memcheck with --error-exitcode. Valgrind's CPU has no
#    AVX-512, so under valgrind the levels are generic, sse2 and avx2; the
#    ASan run covers avx512.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
CC=${CC:-gcc}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsframe-sanitize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
status=0

if [ "${SANITIZE_SKIP_PYTEST:-0}" != 1 ]; then
    echo "=== copying the tree to $WORK/tree and building with WSFRAME_SANITIZE=1"
    mkdir -p "$WORK/tree"
    tar -C "$ROOT" --exclude=.git --exclude='.venv*' --exclude=build --exclude='*.so' \
        --exclude=__pycache__ --exclude='fuzz/build' -cf - . | tar -C "$WORK/tree" -xf -
    # The tests of some modules read ../shared (as .ci/run does from a clone).
    [ -d "$ROOT/../shared" ] && ln -s "$ROOT/../shared" "$WORK/shared"
    (cd "$WORK/tree" && CC=$CC WSFRAME_SANITIZE=1 WSFRAME_REQUIRE_EXTENSIONS=1 \
        "$PYTHON" setup.py -q build_ext --inplace --force >"$WORK/build.log" 2>&1) || {
        echo "FAIL: sanitizer build"; tail -30 "$WORK/build.log"; exit 1; }
    LIBASAN=$($CC -print-file-name=libasan.so)
    [ -e "$LIBASAN" ] || { echo "FAIL: $CC has no libasan ($LIBASAN)"; exit 1; }
    # libstdc++ too: ASan intercepts __cxa_throw only if the real one is
    # loaded at start-up; C++ extensions imported later (matplotlib's
    # ft2font) otherwise abort on their first exception.
    LIBSTDCXX=$($CC -print-file-name=libstdc++.so)
    PRELOAD=$LIBASAN
    [ -e "$LIBSTDCXX" ] && PRELOAD="$LIBASAN $LIBSTDCXX"
    so=$(ls "$WORK"/tree/src/wsframe/_codec_c*.so)
    ldd "$so" | grep -q libasan || { echo "FAIL: $so is not linked against libasan"; exit 1; }
    echo "built $so (ASan+UBSan); preloading $LIBASAN"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    # A free-threaded CPython knows no PYTHONMALLOC=malloc (mimalloc is part
    # of its object model): there ASan checks the extension's own accesses and
    # allocations, but not overreads of Python objects, which mimalloc holds.
    MALLOC=malloc
    if [ "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("Py_GIL_DISABLED") or 0)')" = 1 ]; then
        MALLOC=mimalloc
        echo "free-threaded interpreter: PYTHONMALLOC=$MALLOC (malloc is not available there)"
    fi
    echo "=== pytest under ASan+UBSan: ${*:-the whole suite}"
    # test_c_kernels' clang variant links clang's own ASan runtime, which
    # cannot run with gcc's preloaded (its gcc variant runs, and the kernels
    # are checked under both sanitizers by that test in a normal run).
    (cd "$WORK/tree" && LD_PRELOAD=$PRELOAD PYTHONMALLOC=$MALLOC PYTHONPATH=src WSFRAME_REQUIRE_EXTENSIONS=1 \
        "$PYTHON" -m pytest -p no:cacheprovider -q -ra \
        --deselect "tests/test_c_kernels.py::test_kernels_under_sanitizers[clang]" "$@" 2>&1 | tee "$WORK/pytest.log")
    rc=${PIPESTATUS[0]}
    if grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: UndefinedBehaviorSanitizer" "$WORK/pytest.log"; then
        echo "FAIL: sanitizer report (see above)"
        status=1
    fi
    [ "$rc" -eq 0 ] || { echo "FAIL: pytest exited $rc under the sanitizers"; status=1; }
    [ "$status" -eq 0 ] && echo "OK: test suite clean under ASan+UBSan"
fi

if [ "${SANITIZE_SKIP_VALGRIND:-0}" != 1 ]; then
    echo "=== C kernel unit tests under valgrind memcheck"
    if ! command -v valgrind >/dev/null; then
        echo "SKIP: valgrind not installed (apt-get install -y valgrind)"
    else
        K=src/wsframe/_kernels
        mkdir -p "$WORK/vg"
        objs=()
        for src in "$K"/*.c; do
            case $src in
            *_sse2.c) isa="-msse2" ;;
            *_avx2.c) isa="-mavx2 -mbmi -mbmi2 -mpopcnt" ;;
            *_avx512.c) isa="-mavx512f -mavx512bw -mavx512vl -mavx2 -mbmi -mbmi2 -mpopcnt" ;;
            *) isa="" ;;
            esac
            [ "$(uname -m)" = x86_64 ] || isa=""
            obj="$WORK/vg/$(basename "$src").o"
            # shellcheck disable=SC2086
            $CC -std=c11 -Wall -Wextra -Werror -O1 -g $isa -I"$K" -c "$src" -o "$obj" || { status=1; break; }
            objs+=("$obj")
        done
        $CC -std=c11 -Wall -Wextra -Werror -O1 -g -I"$K" tests/c/test_kernels.c "${objs[@]}" -o "$WORK/vg/test_kernels" || status=1
        if [ -x "$WORK/vg/test_kernels" ]; then
            valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                --track-origins=yes "$WORK/vg/test_kernels" >"$WORK/valgrind.log" 2>&1
            rc=$?
            grep -E "^level|supported|passed|FAILURES|ERROR SUMMARY|definitely lost" "$WORK/valgrind.log"
            if [ $rc -ne 0 ]; then
                echo "FAIL: valgrind memcheck (exit $rc)"
                tail -40 "$WORK/valgrind.log"
                status=1
            else
                echo "OK: C kernel unit tests clean under valgrind memcheck"
            fi
        fi
    fi
fi
exit $status
