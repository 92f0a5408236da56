#!/usr/bin/env bash
# Runs docs/embedding.md's examples exactly as printed: its shell block (make a spring CSV,
# train, inspect, evaluate, roll out) in a scratch directory where build/examples/hnn is the
# tool under test, then its C block, compiled inside a main() against the shared library (which
# carries its own dependencies, OpenMP's in an OpenMP build), on the model the shell block
# trained.
# Usage: embedding.sh <docs/embedding.md> <hnn tool> <C compiler> <include dir> <libhnn.so>
#                     [C flags of the build, e.g. its sanitizers]
set -euo pipefail
doc=$1 tool=$2 cc=$3 include=$4 lib=$5 flags=${6:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the n-th fenced block of a language: the lines between its ``` fences
block() { awk -v lang="$1" -v want="$2" '
  /^```/ { if (inside) { inside = 0; next } if ($0 == "```" lang) { n++; if (n == want) { inside = 1; next } } }
  inside { print }' "$doc"; }

block sh 1 > "$dir/commands.sh"
[ -s "$dir/commands.sh" ] || fail "no shell block in $doc"
mkdir -p "$dir/build/examples"
ln -s "$(readlink -f "$tool")" "$dir/build/examples/hnn"
(cd "$dir" && bash -euo pipefail commands.sh > commands.out 2>&1) \
  || { cat "$dir/commands.out" >&2; fail "the shell block failed"; }
[ -s "$dir/spring.hnn" ] && [ -s "$dir/orbit.csv" ] || fail "the shell block made no model or orbit"
[ "$(wc -l < "$dir/orbit.csv")" -eq 502 ] || fail "orbit.csv: expected a header and 501 rows"

block c 1 > "$dir/snippet.c"
{ echo '#include <stdio.h>'; grep '^#include' "$dir/snippet.c"
  echo 'int main(void) {'; grep -v '^#include' "$dir/snippet.c"; echo 'return 0; }'; } > "$dir/main.c"
# shellcheck disable=SC2086 # the build's flags are meant to be word-split
"$cc" $flags -std=c99 -Wall -Wextra -Werror -I"$include" "$dir/main.c" "$lib" \
  -Wl,-rpath,"$(dirname "$(readlink -f "$lib")")" -lm -o "$dir/snippet" \
  || fail "the C block does not compile"
(cd "$dir" && ./snippet) || fail "the C block failed on the trained model"

# the second C block is a whole program: the float game loop, with threads
block c 2 > "$dir/game.c"
grep -q 'int main' "$dir/game.c" || fail "no second C block (the float game loop) in $doc"
# shellcheck disable=SC2086
"$cc" $flags -std=c99 -Wall -Wextra -Werror -I"$include" "$dir/game.c" "$lib" \
  -Wl,-rpath,"$(dirname "$(readlink -f "$lib")")" -pthread -lm -o "$dir/game" \
  || fail "the float game loop does not compile"
(cd "$dir" && ./game > game.out) || fail "the float game loop failed on the trained model"
grep -q "particle 0 after 600 frames" "$dir/game.out" || fail "the game loop printed nothing"
echo "OK: docs/embedding.md's shell block and both C blocks ran as printed"
