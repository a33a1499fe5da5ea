#!/usr/bin/env bash
# Build (once) and cache a CPython from Debian's copy of the upstream release
# tarball, and print the path of its interpreter on the last line of stdout.
#
#   bash scripts/build_cpython.sh [--free-threaded] SERIES [SERIES...]
#
# SERIES are tried in order (e.g. "3.14 3.13"): the first one already in the
# cache wins, with no network; otherwise the first whose tarball can be had
# is built. --free-threaded configures with --disable-gil (a "3.13t").
#
# Where the source comes from: Debian's source packages python3.X carry
# CPython's release tarball unchanged as python3.X_<version>.orig.tar.xz.
# The script reads the Debian mirror the system's apt configuration already
# uses (/etc/apt/sources.list.d/*.sources, *.list, /etc/apt/sources.list),
# writes a deb-src entry for newer suites (trixie, trixie-updates,
# trixie-backports, forky, unstable) into a private apt directory under a
# temporary folder, runs `apt-get update` and `apt-get source --download-only
# --tar-only` there, newest version first (a suite's index can name a
# version the pool no longer holds: 404, then the next one). The system's
# apt sources and lists are not touched; only missing build dependencies
# are installed with the system's apt-get (as root or password-less sudo).
#
# The cache: ${WSFRAME_PY_CACHE:-$HOME/.cache/wsframe-pythons}/<version>[t],
# e.g. 3.13.15t; an install counts once it has .wsframe-built (written last,
# after a smoke test). A cache lock serialises concurrent builds.
#
# Exit codes: 0 with the interpreter printed; 77 when no source could be had
# (no apt-get, no Debian mirror, no tarball: callers SKIP); 1 when a build
# failed.
#
# Environment:
#   WSFRAME_PY_CACHE     the cache directory (default above).
#   WSFRAME_PY_SUITES    the Debian suites searched (default above).
#   WSFRAME_PY_REBUILD=1 ignore the cache and build again.
#   WSFRAME_PY_JOBS      make -j (default: nproc).
set -euo pipefail

FT=0
if [ "${1:-}" = "--free-threaded" ]; then FT=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--free-threaded] SERIES..." >&2; exit 2; }
SUFFIX=""
[ "$FT" = 1 ] && SUFFIX="t"
CACHE=${WSFRAME_PY_CACHE:-${HOME:-/root}/.cache/wsframe-pythons}
SUITES=${WSFRAME_PY_SUITES:-trixie trixie-updates trixie-backports forky unstable}
JOBS=${WSFRAME_PY_JOBS:-$(nproc 2> /dev/null || echo 2)}
log() { echo "build_cpython: $*" >&2; }
nosource() { log "$*"; exit 77; }

# The interpreter of a finished install, or nothing.
interpreter_of() {
    local dir=$1 series=$2
    [ -f "$dir/.wsframe-built" ] || return 1
    local py="$dir/bin/python$series$SUFFIX"
    [ -x "$py" ] || py="$dir/bin/python$series"
    [ -x "$py" ] && "$py" -c 'import sys' 2> /dev/null && echo "$py"
}

# The newest cached, finished install of a series.
cached() {
    local series=$1 d
    [ -d "$CACHE" ] || return 1
    for d in $(cd "$CACHE" && ls -d "$series".* 2> /dev/null | grep -E "^${series//./\\.}\.[0-9]+$SUFFIX\$" | sort -rV); do
        interpreter_of "$CACHE/$d" "$series" && return 0
    done
    return 1
}

if [ "${WSFRAME_PY_REBUILD:-0}" != 1 ]; then
    for series in "$@"; do
        if py=$(cached "$series"); then
            log "cached: $py"
            echo "$py"
            exit 0
        fi
    done
fi

command -v apt-get > /dev/null || nosource "no apt-get: cannot fetch Debian's CPython source"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- the Debian mirror the system already uses --------------------------------
# deb822 stanzas (URIs:, Signed-By:) then one-line entries; the first URI
# whose path is .../debian (not debian-security, not a third-party repository).
mirror_and_key() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() { if (uri != "" && enabled != "no") print uri "\t" key; uri = ""; key = ""; enabled = "" }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/ && uri == "") uri = $i }
            tolower($1) == "signed-by:" { key = $2 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            /^[ \t]*deb(-src)?[ \t]/ {
                key = ""
                if (match($0, /\[[^]]*\]/)) {
                    opts = substr($0, RSTART + 1, RLENGTH - 2)
                    if (match(opts, /signed-by=[^ \t]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
                    sub(/\[[^]]*\]/, "")
                }
                if ($2 ~ /\/debian\/?$/) print $2 "\t" key
            }
        ' "$f"
    done
}
line=$(mirror_and_key | head -n 1)
MIRROR=${line%%$'\t'*}
KEY=${line#*$'\t'}
[ -n "$MIRROR" ] || nosource "no Debian mirror (a URI ending in /debian) in the system's apt configuration"
[ -n "$KEY" ] && [ -f "$KEY" ] || KEY=/usr/share/keyrings/debian-archive-keyring.gpg
log "Debian mirror from the apt configuration: $MIRROR"

# ---- a private apt state: deb-src for the newer suites ---------------------------
APTDIR=$WORK/apt
mkdir -p "$APTDIR/sources.list.d" "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
{
    echo "Types: deb-src"
    echo "URIs: $MIRROR"
    echo "Suites: $SUITES"
    echo "Components: main"
    echo "Signed-By: $KEY"
} > "$APTDIR/sources.list.d/wsframe-cpython.sources"
APT_OPTS=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache=$APTDIR/cache"
    -o "APT::Sandbox::User=$(id -un)"
    -o "Acquire::Retries=2"
)
# A suite that fails to update (absent on this mirror) is not fatal: the others may carry the source.
apt-get "${APT_OPTS[@]}" -qq update > "$WORK/apt-update.log" 2>&1 || { log "apt-get update (private lists) reported errors:"; tail -5 "$WORK/apt-update.log" >&2; }

# ---- the newest tarball that downloads -----------------------------------------
mkdir "$WORK/dl"
TARBALL=""
for series in "$@"; do
    versions=$(apt-cache "${APT_OPTS[@]}" showsrc "python$series" 2> /dev/null | awk '$1 == "Version:" { print $2 }' | sort -ruV)
    [ -n "$versions" ] || { log "no source package python$series in $SUITES"; continue; }
    for v in $versions; do
        if (cd "$WORK/dl" && apt-get "${APT_OPTS[@]}" -qq source --download-only --tar-only "python$series=$v") > "$WORK/apt-source.log" 2>&1; then
            TARBALL=$(ls "$WORK"/dl/python"$series"_*.orig.tar.* 2> /dev/null | grep -v '\.asc$' | head -n 1 || true)
            [ -n "$TARBALL" ] && { SERIES=$series; DEBVER=$v; break 2; }
        fi
        log "python$series $v: $(grep -m1 -E '^(E|Err):' "$WORK/apt-source.log" || echo 'download failed')"
        rm -f "$WORK"/dl/*
    done
done
[ -n "$TARBALL" ] || nosource "no CPython tarball for ${*} could be downloaded from $MIRROR ($SUITES)"
VERSION=$(basename "$TARBALL" | sed -E 's/^python[0-9.]+_([0-9]+\.[0-9]+\.[0-9]+[a-z0-9]*)\.orig\.tar\..*$/\1/')
log "source: $(basename "$TARBALL") (Debian python$SERIES $DEBVER)"

# ---- build dependencies -----------------------------------------------------------
APT=""
if [ "$(id -u)" = 0 ]; then APT="apt-get"; elif sudo -n true 2> /dev/null; then APT="sudo apt-get"; fi
# zlib and ssl are required (the project uses zlib, the tests use ssl); the
# rest give ctypes, bz2, lzma and sqlite3, which pip and hypothesis may want.
missing=()
for pkg in build-essential pkg-config zlib1g-dev libssl-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev xz-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing build dependencies: ${missing[*]}"
    if [ -n "$APT" ]; then
        { $APT update -qq && DEBIAN_FRONTEND=noninteractive $APT install -y -qq "${missing[@]}"; } > "$WORK/apt-install.log" 2>&1 \
            || { tail -5 "$WORK/apt-install.log" >&2; log "apt-get could not install ${missing[*]}; trying the build anyway"; }
    else
        log "not root and no sudo: cannot install ${missing[*]}; trying the build anyway"
    fi
fi

# ---- configure, make, make install (into the cache, under a lock) ---------------------
mkdir -p "$CACHE"
DEST=$CACHE/$VERSION$SUFFIX
exec 9> "$CACHE/.lock"
flock 9
if [ "${WSFRAME_PY_REBUILD:-0}" != 1 ] && py=$(interpreter_of "$DEST" "$SERIES"); then
    log "built meanwhile by another run: $py"
    echo "$py"
    exit 0
fi
rm -rf "$DEST"
mkdir "$WORK/build"
tar -C "$WORK/build" -xf "$TARBALL"
SRC=$(ls -d "$WORK"/build/*/ | head -n 1)
CONFIGURE=(--prefix="$DEST" --with-ensurepip=install --disable-test-modules)
[ "$FT" = 1 ] && CONFIGURE+=(--disable-gil)
start=$(date +%s)
log "building CPython $VERSION$SUFFIX (configure ${CONFIGURE[*]}; make -j$JOBS) into $DEST"
(
    cd "$SRC"
    nice -n 10 ./configure "${CONFIGURE[@]}" > "$WORK/configure.log" 2>&1 || { tail -30 "$WORK/configure.log"; exit 1; }
    nice -n 10 make -j"$JOBS" > "$WORK/make.log" 2>&1 || { tail -40 "$WORK/make.log"; exit 1; }
    nice -n 10 make install > "$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log"; exit 1; }
) >&2 || { rm -rf "$DEST"; log "the build of CPython $VERSION$SUFFIX failed"; exit 1; }
seconds=$(( $(date +%s) - start ))
# Modules the build skipped for want of a library are listed by make; say so.
grep -A3 -E "necessary bits to build these optional modules were not found|Failed to build these modules" "$WORK/make.log" >&2 || true

DEST_PY=$DEST/bin/python$SERIES$SUFFIX
[ -x "$DEST_PY" ] || DEST_PY=$DEST/bin/python$SERIES
want=0
[ "$FT" = 1 ] && want=1
"$DEST_PY" - "$want" <<'EOF' >&2 || { rm -rf "$DEST"; log "the new interpreter failed its smoke test"; exit 1; }
import sys, sysconfig
import ssl, zlib, ensurepip, venv  # noqa: F401  (what the checks need)
want = int(sys.argv[1])
got = int(sysconfig.get_config_var("Py_GIL_DISABLED") or 0)
assert got == want, f"Py_GIL_DISABLED={got}, wanted {want}"
print(f"build_cpython: {sys.version.split()[0]} Py_GIL_DISABLED={got} {ssl.OPENSSL_VERSION} zlib {zlib.ZLIB_RUNTIME_VERSION}")
EOF
printf 'version=%s%s\nsource=%s (Debian python%s %s, %s)\nconfigure=%s\nbuild_seconds=%s\njobs=%s\nbuilt=%s\n' \
    "$VERSION" "$SUFFIX" "$(basename "$TARBALL")" "$SERIES" "$DEBVER" "$MIRROR" "${CONFIGURE[*]}" "$seconds" "$JOBS" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$DEST/.wsframe-built"
log "built CPython $VERSION$SUFFIX in ${seconds}s"
echo "$DEST_PY"
