#!/usr/bin/env bash
# A recording shaped like Schmidt and Lipson's real pendulum (trials of 30 s at 1/6 s, a tenth
# of the frames dropped, noise 0.01), written by examples/trajectories, trains end to end
# through the tool: a time split, the midpoint rule, and a learned field near the true one.
# Usage: recording.sh <trajectories example> <hnn tool>
set -euo pipefail
trajectories=$1 hnn=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$trajectories" --write-recording "$dir/pendulum.csv" || fail "writing the recording"
[ "$(head -1 "$dir/pendulum.csv")" = "trajectory,t,q1,p1" ] || fail "recording header"
# dropped frames: some consecutive rows of one trial are more than one step apart
awk -F, 'NR > 2 && $1 == trial && $2 - t > 0.2 { gaps++ } { trial = $1; t = $2 }
         END { if (gaps < 20) exit 1 }' "$dir/pendulum.csv" || fail "no dropped frames"
"$hnn" train --trajectories "$dir/pendulum.csv" --loss midpoint --split time --test-split 0.2 \
  --width 64 --steps 2000 --lr 0.003 --out "$dir/pendulum.hnn" > "$dir/train.out" 2>&1 \
  || { cat "$dir/train.out"; fail "train"; }
grep -q "validation loss" "$dir/train.out" || fail "no held-out loss"
# the true field of H = 3 (1 - cos q) + p^2 at (1, 0.5): (2 p, -3 sin q) = (1, -2.5244)
"$hnn" eval "$dir/pendulum.hnn" 1 0.5 | awk '/^field/ { d1 = $2 - 1; d2 = $3 + 2.5244129544;
    if (!(d1 * d1 + d2 * d2 <= 0.02)) { print "field", $2, $3 > "/dev/stderr"; exit 1 }; ok = 1 }
    END { if (!ok) exit 1 }' || fail "the learned field at (1, 0.5) is not the pendulum's"
echo "OK: a dropped-frame pendulum recording trained through hnn train --trajectories"
