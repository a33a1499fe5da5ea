#!/usr/bin/env bash
# Short fuzz run of every wsframe target (atheris for the Python entry points,
# libFuzzer for the C kernels), from the committed seed corpora; prints the
# executions and coverage of each target and fails if any target found a
# crash, a sanitizer report or a disagreement.
#
#   scripts/fuzz_short.sh                       # 25 s per target (~5 min)
#   FUZZ_SECONDS=15 scripts/fuzz_short.sh       # CI budget
#   FUZZ_TARGETS="parser differential" scripts/fuzz_short.sh
#   FUZZ_UPDATE_CORPUS=1 scripts/fuzz_short.sh  # merge new inputs into fuzz/corpus/
#
# Targets: parser utf8 differential handshake connection deflate (atheris;
# parser-py and utf8-py run the pure backend) and c-mask c-utf8
# c-utf8-stream c-header (libFuzzer, ASan+UBSan). Needs atheris (pip) and
# clang; without clang the C targets are skipped and the Python targets
# fuzz an uninstrumented extension (Python coverage only).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-25}
TARGETS=${FUZZ_TARGETS:-"parser utf8 differential handshake connection deflate c-mask c-utf8 c-utf8-stream c-header"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsframe-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if ! "$PYTHON" -c "import atheris" 2>/dev/null; then
    echo "SKIP: atheris is not installed for $PYTHON (pip install atheris)"
    exit 77
fi
NATIVE=""
HAVE_CLANG=0
if command -v clang >/dev/null; then
    HAVE_CLANG=1
    echo "building the instrumented extension and the C harnesses (clang)..."
    if PYTHON=$PYTHON fuzz/build_native.sh "$WORK/native" >"$WORK/native.log" 2>&1; then
        NATIVE="$WORK/native/src"
    else
        echo "WARNING: instrumented extension build failed; Python targets get Python coverage only"
        tail -5 "$WORK/native.log"
    fi
    fuzz/c/build.sh "$WORK/c" >"$WORK/c.log" 2>&1 || { echo "FAIL: C harness build"; cat "$WORK/c.log"; exit 1; }
else
    echo "WARNING: clang not found: C targets skipped, Python targets without native coverage"
fi

failed=0
results=()
run_target() {  # name, corpus, command...
    local name=$1 corpus=$2
    shift 2
    local dir="$WORK/corpus/$name" log="$WORK/$name.log"
    mkdir -p "$dir" "$WORK/artifacts"
    [ -d "fuzz/corpus/$corpus" ] && cp -r "fuzz/corpus/$corpus/." "$dir/"
    timeout $((SECONDS_PER_TARGET + 120)) "$@" "$dir" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$name-" >"$log" 2>&1
    local rc=$?
    local execs cov ft
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    local status=ok
    if [ $rc -ne 0 ]; then
        status="FAILED (rc $rc)"
        failed=1
        echo "---- $name failed; log tail:"
        tail -40 "$log"
        ls "$WORK/artifacts/$name-"* 2>/dev/null && cp "$WORK/artifacts/$name-"* "$ROOT/fuzz/" 2>/dev/null
    elif [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
        mkdir -p "fuzz/corpus/$corpus"
        "$@" -merge=1 "fuzz/corpus/$corpus" "$dir" >"$WORK/$name.merge.log" 2>&1 || true
    fi
    results+=("$(printf '%-15s %12s %8s %8s  %s' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$status")")
    printf '%-15s done: %s executions, cov %s, ft %s, %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$status"
}

for target in $TARGETS; do
    case $target in
    parser | utf8 | differential | handshake | connection | deflate)
        WSFRAME_FUZZ_NATIVE=$NATIVE WSFRAME_FUZZ_BACKEND=c run_target "$target" "$target" "$PYTHON" "fuzz/fuzz_$target.py" ;;
    parser-py | utf8-py)
        base=${target%-py}
        WSFRAME_FUZZ_BACKEND=py run_target "$target" "$base" "$PYTHON" "fuzz/fuzz_$base.py" ;;
    c-*)
        name=${target#c-}
        name=${name//-/_}
        if [ $HAVE_CLANG = 1 ]; then
            run_target "$target" "c_$name" "$WORK/c/fuzz_$name"
        else
            results+=("$(printf '%-15s %12s %8s %8s  %s' "$target" - - - "SKIP (no clang)")")
        fi ;;
    *) echo "unknown target $target"; failed=1 ;;
    esac
done

echo
echo "fuzz_short: ${SECONDS_PER_TARGET}s per target; C extension instrumented for coverage: $([ -n "$NATIVE" ] && echo yes || echo no)"
printf '%-15s %12s %8s %8s  %s\n' target executions cov ft status
printf '%s\n' "${results[@]}"
exit $failed
