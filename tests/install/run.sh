#!/usr/bin/env bash
# Usage: run.sh <build dir> <source dir> <C compiler> [config]
# Installs the build into a temporary prefix, moves the prefix (everything installed must
# be relocatable), then builds and runs tests/install/consumer.c against it:
#   1. cc + pkg-config (shared library)      2. cc + pkg-config --static (libhnn.a)
#   3. CMake find_package(hnn): hnn::hnn and hnn::hnn_static
#   4. as C++, to prove the headers are usable from C++ (if a C++ compiler exists)
set -euo pipefail
build=$1 src=$2 cc=$3 config=${4:-}
here=$src/tests/install
strict=(-Wall -Wextra -Wpedantic -Werror)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hnn-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

step "install $build into a temporary prefix"
mkdir "$tmp/stage"
cmake --install "$build" --prefix "$tmp/stage" ${config:+--config "$config"} >/dev/null
mv "$tmp/stage" "$tmp/prefix"
prefix=$tmp/prefix

pc=$(find "$prefix" -name hnn.pc -print -quit)
[ -n "$pc" ] || fail "hnn.pc was not installed"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
libdir=$(dirname "$(dirname "$pc")")
version=$(pkg-config --modversion hnn)
includedir=$(pkg-config --variable=includedir hnn)
for f in "$libdir/libhnn.so.$version" "$libdir/libhnn.a" "$includedir/hnn/hnn.h" \
         "$libdir/cmake/hnn/hnnConfig.cmake" "$libdir/cmake/hnn/hnnConfigVersion.cmake"; do
  [ -f "$f" ] || fail "missing $f"
done
# the soname carries the ABI version (include/hnn/version.h), not the release's major
abi=$(sed -n 's/^#define HNN_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$includedir/hnn/version.h")
[ -n "$abi" ] || fail "no HNN_ABI_VERSION in the installed version.h"
[ "$(readlink "$libdir/libhnn.so.$abi")" = "libhnn.so.$version" ] || fail "bad soname link"
[ "$(readlink "$libdir/libhnn.so")" = "libhnn.so.$abi" ] || fail "bad dev link"

# run <exe> [shared]: run it (finding libhnn.so in the prefix if shared) and check that
# it reports the installed version.
run() {
  local out
  if [ "${2:-}" = shared ]; then
    out=$(LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$1") || fail "$1 failed"
  else
    out=$("$1") || fail "$1 failed"
  fi
  printf '%s\n' "$out"
  grep -qx "hnn $version" <<<"$out" || fail "$1 did not print 'hnn $version'"
}

step "the installed hnn tool runs from the moved prefix, finding its library by itself"
[ -x "$prefix/bin/hnn" ] || fail "bin/hnn was not installed"
out=$(env -u LD_LIBRARY_PATH "$prefix/bin/hnn" --version) || fail "the installed hnn did not run"
grep -qx "hnn $version" <<<"$out" || fail "the installed hnn printed '$out'"

step "pkg-config, shared, with the README's rpath (no LD_LIBRARY_PATH)"
# shellcheck disable=SC2046
"$cc" -std=c99 "${strict[@]}" "$here/consumer.c" -o "$tmp/pc_rpath" $(pkg-config --cflags --libs hnn) \
  -Wl,-rpath,"$(pkg-config --variable=libdir hnn)"
out=$(env -u LD_LIBRARY_PATH "$tmp/pc_rpath") || fail "pc_rpath did not start without LD_LIBRARY_PATH"
grep -qx "hnn $version" <<<"$out" || fail "pc_rpath printed '$out'"

step "pkg-config, shared"
# shellcheck disable=SC2046 # pkg-config output is meant to be word-split
"$cc" -std=c99 "${strict[@]}" "$here/consumer.c" -o "$tmp/pc_shared" $(pkg-config --cflags --libs hnn)
run "$tmp/pc_shared" shared
if command -v ldd >/dev/null; then   # make sure it was the prefix's library that ran
  deps=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/pc_shared")
  grep -qF "$libdir/libhnn.so.$abi" <<<"$deps" || fail "pc_shared did not load $libdir/libhnn"
fi

step "pkg-config --static"
# -l:libhnn.a (GNU ld, lld) picks the archive although libhnn.so sits next to it.
libs=$(pkg-config --static --libs hnn)
# shellcheck disable=SC2046,SC2086
"$cc" -std=c99 "${strict[@]}" "$here/consumer.c" -o "$tmp/pc_static" \
  $(pkg-config --cflags hnn) ${libs/-lhnn/-l:libhnn.a}
deps=$(readelf -d "$tmp/pc_static")
if grep -q 'NEEDED.*libhnn' <<<"$deps"; then fail "pc_static needs libhnn.so"; fi
run "$tmp/pc_static"

step "CMake find_package(hnn)"
cmake -S "$here" -B "$tmp/cmake" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
grep -qF "hnn_DIR:PATH=$prefix/" "$tmp/cmake/CMakeCache.txt" || fail "find_package found another hnn"
cmake --build "$tmp/cmake" >/dev/null
run "$tmp/cmake/consumer"   # CMake's build rpath points at the prefix
run "$tmp/cmake/consumer_static"

cxx=${CXX:-}
[ -n "$cxx" ] || cxx=$(command -v c++ || command -v g++ || command -v clang++ || true)
if [ -n "$cxx" ]; then
  step "C++ ($cxx)"
  # shellcheck disable=SC2046
  "$cxx" -std=c++11 "${strict[@]}" -x c++ "$here/consumer.c" -x none -o "$tmp/cxx" \
    $(pkg-config --cflags --libs hnn)
  run "$tmp/cxx" shared
else
  step "C++: no C++ compiler found, skipped"
fi
echo "install_consumer: all consumers built and ran against hnn $version"
