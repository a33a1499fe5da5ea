#!/usr/bin/env bash
# Build the libFuzzer harnesses of the C kernels with clang, under
# AddressSanitizer and UBSan (every UB report is fatal). Each SIMD kernel
# file gets the instruction-set flags setup.py gives it.
#   fuzz/c/build.sh [OUT]        (default: fuzz/build/c) -> OUT/fuzz_<name>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
K="$ROOT/src/wsframe/_kernels"
OUT=${1:-$ROOT/fuzz/build/c}
CC=${CLANG:-clang}
command -v "$CC" >/dev/null || { echo "SKIP: clang not installed (apt-get install -y clang)"; exit 77; }
FLAGS="-g -O1 -std=c11 -Wall -Wextra -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
mkdir -p "$OUT/obj"
isa() {
    case "$(uname -m)" in x86_64 | amd64) ;; *) return 0 ;; esac
    case "$1" in
    *_sse2.c) echo "-msse2" ;;
    *_avx2.c) echo "-mavx2 -mbmi -mbmi2 -mpopcnt" ;;
    *_avx512.c) echo "-mavx512f -mavx512bw -mavx512vl -mavx2 -mbmi -mbmi2 -mpopcnt" ;;
    esac
}
objs=()
for src in "$K"/*.c; do
    obj="$OUT/obj/$(basename "$src" .c).o"
    # shellcheck disable=SC2046
    $CC $FLAGS -fsanitize=fuzzer-no-link $(isa "$src") -I"$K" -c "$src" -o "$obj"
    objs+=("$obj")
done
for harness in "$HERE"/fuzz_*.c; do
    name=$(basename "$harness" .c)
    $CC $FLAGS -fsanitize=fuzzer -I"$K" -I"$HERE" "$harness" "${objs[@]}" -o "$OUT/$name"
done
ls "$OUT"/fuzz_*
