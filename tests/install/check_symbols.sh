#!/usr/bin/env bash
# Usage: check_symbols.sh <path to libhnn.so> <expected soname>
# Fails unless the library's dynamic symbol table defines only hnn_* symbols (plus the
# version node HNN_<ABI version>, an absolute symbol) and its SONAME is the expected one.
set -euo pipefail
lib=$1 want_soname=$2
nm=${NM:-nm} readelf=${READELF:-readelf}

# "nm -D --defined-only" lines: "<value> <type> <name>[@@<version>]". Newer binutils
# append the symbol version, so strip it before judging the name.
syms=$("$nm" -D --defined-only "$lib" | awk '{ n = $NF; sub(/@.*/, "", n); print $(NF-1), n }')
bad=$(printf '%s\n' "$syms" | awk '!($2 ~ /^hnn_/ || ($1 == "A" && $2 ~ /^HNN_[0-9]+$/))')
if [ -n "$bad" ]; then
  echo "FAIL: $lib exports symbols outside hnn_*:" >&2
  printf '%s\n' "$bad" >&2
  exit 1
fi
count=$(printf '%s\n' "$syms" | grep -c ' hnn_' || true)
if [ "$count" -eq 0 ]; then
  echo "FAIL: $lib exports no hnn_ symbols at all" >&2
  exit 1
fi

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want_soname" ]; then
  echo "FAIL: SONAME of $lib is '$soname', expected '$want_soname'" >&2
  exit 1
fi
echo "OK: $count hnn_ symbols exported, nothing else; SONAME $soname"
