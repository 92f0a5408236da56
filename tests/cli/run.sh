#!/usr/bin/env bash
# Drives the hnn command-line tool as a user would: train on a CSV, inspect, evaluate, roll
# out, and check that bad arguments and bad files get a message and a non-zero exit.
# Usage: run.sh <path to the hnn executable>
set -euo pipefail
hnn=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 225 states of the unit spring on a grid, with exact slopes (dq, dp) = (p, -q)
awk 'BEGIN { print "q1,p1,dq1,dp1";
  for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) {
    q = -1.4 + 0.2 * i; p = -1.4 + 0.2 * j; printf "%.3f,%.3f,%.3f,%.3f\n", q, p, p, -q } }' \
  > "$dir/spring.csv"

"$hnn" train --data "$dir/spring.csv" --model hnn --width 16 --depth 2 --steps 300 \
  --batch 64 --out "$dir/m.hnn" > "$dir/train.out" 2> "$dir/train.err"
grep -q "saved $dir/m.hnn" "$dir/train.out" || fail "train did not report saving"
grep -q "^step 300/300 loss" "$dir/train.err" || fail "no plain progress lines off a terminal"

"$hnn" info "$dir/m.hnn" > "$dir/info.out"
grep -q "Hamiltonian" "$dir/info.out" || fail "info: kind"
grep -q "2 tanh layers: 16 16" "$dir/info.out" || fail "info: layers"
grep -q "300 steps taken" "$dir/info.out" || fail "info: optimizer steps"

"$hnn" eval "$dir/m.hnn" 1 0 > "$dir/eval.out"
grep -q "^H " "$dir/eval.out" && grep -q "^grad " "$dir/eval.out" && grep -q "^field " "$dir/eval.out" \
  || fail "eval output"
# the field is the gradient turned: field = (dH/dp, -dH/dq)
awk '/^grad/ { gq = $2; gp = $3 } /^field/ { fq = $2; fp = $3 }
     END { if (fq != gp || fp != -gq) exit 1 }' "$dir/eval.out" || fail "eval: field != J grad H"

"$hnn" rollout "$dir/m.hnn" --x0 1 0 --integrator gauss4 --h 0.1 --steps 50 --csv "$dir/r.csv" \
  > /dev/null
[ "$(head -1 "$dir/r.csv")" = "t,q1,p1,H" ] || fail "rollout header"
[ "$(wc -l < "$dir/r.csv")" -eq 52 ] || fail "rollout rows"
# gauss4 on a Hamiltonian net: its own H stays put along the trajectory
awk -F, 'NR == 2 { h0 = $4 } NR > 2 { d = $4 - h0; if (d < 0) d = -d; if (d > 1e-6) exit 1 }' \
  "$dir/r.csv" || fail "rollout: the net's H drifted under gauss4"

# bad input: a message and a non-zero exit, never a crash
expect_fail() { if "$@" > /dev/null 2> "$dir/err"; then fail "accepted: $*"; fi
                [ -s "$dir/err" ] || fail "no message for: $*"; }
expect_fail "$hnn"
expect_fail "$hnn" frobnicate
expect_fail "$hnn" train --data "$dir/spring.csv"
expect_fail "$hnn" train --data "$dir/missing.csv" --out "$dir/x.hnn"
expect_fail "$hnn" train --data "$dir/spring.csv" --width abc --out "$dir/x.hnn"
expect_fail "$hnn" eval "$dir/m.hnn" 1
expect_fail "$hnn" eval "$dir/m.hnn" 1 zero
expect_fail "$hnn" rollout "$dir/m.hnn" --x0 1 0 --integrator rk5 --csv "$dir/r2.csv"
expect_fail "$hnn" info "$dir/spring.csv"
grep -q "not a libhnn model" "$dir/err" || fail "info on a CSV: wrong message"
head -c 100 "$dir/m.hnn" > "$dir/short.hnn"
expect_fail "$hnn" info "$dir/short.hnn"
grep -q "ends at byte 100" "$dir/err" || fail "truncated model: wrong message"
# each bad value is named, with why
expect_msg() { local want=$1; shift; expect_fail "$@"; grep -qF -- "$want" "$dir/err" \
                 || fail "wrong message for: $* (got: $(head -1 "$dir/err"))"; }
expect_msg "p1 'abc' is not a number" "$hnn" eval "$dir/m.hnn" 1 abc
expect_msg "q1 'nan' is not a number (NaN)" "$hnn" eval "$dir/m.hnn" nan 0
expect_msg "q1 '1e400' overflows a double" "$hnn" eval "$dir/m.hnn" 1e400 0
expect_msg "takes 2 numbers (q1..q1 p1..p1); got 3" "$hnn" eval "$dir/m.hnn" 1 2 3
expect_msg "--width 'abc' is not a whole number" "$hnn" train --data "$dir/spring.csv" --width abc --out "$dir/x.hnn"
expect_msg "--steps '0' is not in 1..100000000" "$hnn" rollout "$dir/m.hnn" --x0 1 0 --steps 0 --csv "$dir/r2.csv"
expect_msg "--h '0' is zero" "$hnn" rollout "$dir/m.hnn" --x0 1 0 --h 0 --csv "$dir/r2.csv"
expect_msg "'frobnicate' is not a command" "$hnn" frobnicate
expect_msg "depth 17: a net has 1 to 16 hidden layers" "$hnn" train --data "$dir/spring.csv" --depth 17 --out "$dir/x.hnn"
[ ! -e "$dir/x.hnn" ] || fail "a refused train wrote a model"

# --help: the usage with defaults and limits on stdout, exit 0
"$hnn" --help > "$dir/help.out" 2> "$dir/help.err" || fail "--help exited non-zero"
[ ! -s "$dir/help.err" ] || fail "--help wrote to stderr"
grep -q "(default 128)" "$dir/help.out" && grep -q "n <= 64" "$dir/help.out" \
  || fail "--help lists no defaults or limits"

# a rollout whose step fails keeps the rows before it and says which step failed
expect_msg "step 1 of 5 failed" "$hnn" rollout "$dir/m.hnn" --x0 1 0 --integrator implicit-midpoint \
  --h 1e6 --steps 5 --csv "$dir/fail.csv"
grep -q "keeps steps 0..0" "$dir/err" || fail "rollout failure: which rows were kept"
[ "$(wc -l < "$dir/fail.csv")" -eq 2 ] || fail "rollout failure: the good rows were not kept"
# --resume continues bit for bit: 60 steps, then 40 more, equal 100 in one go (same data,
# seed and batch; eval prints every number with 17 digits)
common=(--data "$dir/spring.csv" --width 8 --depth 2 --batch 32 --seed 5)
"$hnn" train "${common[@]}" --steps 100 --out "$dir/r100.hnn" > /dev/null 2>&1 || fail "train 100"
"$hnn" train "${common[@]}" --steps 60 --out "$dir/r60.hnn" > /dev/null 2>&1 || fail "train 60"
"$hnn" train --data "$dir/spring.csv" --batch 32 --resume "$dir/r60.hnn" --steps 40 \
  --out "$dir/r60.hnn" > "$dir/resume.out" 2>&1 || fail "resume"
grep -q "for 40 steps (100 in all)" "$dir/resume.out" || fail "resume: step count"
"$hnn" eval "$dir/r100.hnn" 0.3 -0.7 > "$dir/e100"
"$hnn" eval "$dir/r60.hnn" 0.3 -0.7 > "$dir/e60"
cmp -s "$dir/e100" "$dir/e60" || fail "60 + 40 resumed steps differ from 100"
"$hnn" info "$dir/r60.hnn" | grep -q "training:    100 steps" || fail "resume: stored progress"
# and a 60-step model alone differs, so the comparison can fail
"$hnn" train "${common[@]}" --steps 60 --out "$dir/r60b.hnn" > /dev/null 2>&1
"$hnn" eval "$dir/r60b.hnn" 0.3 -0.7 > "$dir/e60b"
if cmp -s "$dir/e100" "$dir/e60b"; then fail "60 and 100 steps gave the same net"; fi

# a different model is never overwritten unless asked
cp "$dir/r100.hnn" "$dir/keep.hnn"
expect_msg "keep.hnn exists: pass --force" "$hnn" train "${common[@]}" --steps 5 --out "$dir/keep.hnn"
cmp -s "$dir/r100.hnn" "$dir/keep.hnn" || fail "a refused train changed the existing model"
"$hnn" train "${common[@]}" --steps 5 --force --out "$dir/keep.hnn" > /dev/null 2>&1 || fail "--force"
if cmp -s "$dir/r100.hnn" "$dir/keep.hnn"; then fail "--force did not replace the model"; fi

# validation split, weight decay, optimizer, a separable model of positions with a kinetic term
"$hnn" train "${common[@]}" --steps 50 --val-split 0.2 --optimizer adamw --weight-decay 0.01 \
  --features positions --kinetic-mass 1 --out "$dir/sep.hnn" > "$dir/sep.out" 2>&1 \
  || { cat "$dir/sep.out"; fail "train with features, kinetic mass, validation"; }
grep -q "validation loss .* on 45 states" "$dir/sep.out" || fail "validation loss not reported"
"$hnn" info "$dir/sep.hnn" > "$dir/sep.info"
grep -q "positions only" "$dir/sep.info" && grep -q "kinetic:" "$dir/sep.info" \
  && grep -q "AdamW" "$dir/sep.info" || fail "info: features, kinetic term or optimizer"
grep -q "validation loss [0-9]" "$dir/sep.info" || fail "info: the stored validation loss"
expect_msg "--val-split '1' is not in [0, 1)" "$hnn" train "${common[@]}" --val-split 1 --out "$dir/v.hnn"
expect_msg "--features 'polar' is not identity" "$hnn" train "${common[@]}" --features polar --out "$dir/v.hnn"
expect_msg "--optimizer 'lbfgs' is not sgd" "$hnn" train "${common[@]}" --optimizer lbfgs --out "$dir/v.hnn"
expect_msg "kinetic" "$hnn" train "${common[@]}" --model mlp --kinetic-mass 1 --out "$dir/v.hnn"
# every model kind: dissipative (Helmholtz) and port-Hamiltonian models train, show their
# kind, activation and both nets in info, evaluate and roll out; each resumes bit for bit
for kind in dissipative port; do
  dcommon=(--data "$dir/spring.csv" --model "$kind" --activation softplus --width 6 --depth 2
           --batch 32 --seed 3)
  "$hnn" train "${dcommon[@]}" --steps 100 --out "$dir/$kind.100.hnn" > /dev/null 2>&1 \
    || fail "$kind: train 100"
  "$hnn" train "${dcommon[@]}" --steps 60 --out "$dir/$kind.60.hnn" > /dev/null 2>&1 \
    || fail "$kind: train 60"
  "$hnn" train --data "$dir/spring.csv" --batch 32 --resume "$dir/$kind.60.hnn" --steps 40 \
    --out "$dir/$kind.60.hnn" > "$dir/resume.out" 2>&1 || { cat "$dir/resume.out"; fail "$kind: resume"; }
  grep -q "for 40 steps (100 in all)" "$dir/resume.out" || fail "$kind: resume step count"
  "$hnn" eval "$dir/$kind.100.hnn" 0.3 -0.7 > "$dir/e100"
  "$hnn" eval "$dir/$kind.60.hnn" 0.3 -0.7 > "$dir/e60"
  grep -q "^H " "$dir/e100" && grep -q "^field " "$dir/e100" || fail "$kind: eval output"
  cmp -s "$dir/e100" "$dir/e60" || fail "$kind: 60 + 40 resumed steps differ from 100"
  "$hnn" info "$dir/$kind.60.hnn" > "$dir/$kind.info"
  grep -q "format version 3" "$dir/$kind.info" && grep -q "2 softplus layers: 6 6" "$dir/$kind.info" \
    && grep -q "training:    100 steps" "$dir/$kind.info" || fail "$kind: info"
  "$hnn" rollout "$dir/$kind.60.hnn" --x0 1 0 --steps 20 --csv "$dir/$kind.csv" > /dev/null \
    || fail "$kind: rollout"
  [ "$(head -1 "$dir/$kind.csv")" = "t,q1,p1,H" ] && [ "$(wc -l < "$dir/$kind.csv")" -eq 22 ] \
    || fail "$kind: rollout rows"
done
grep -q "Helmholtz dissipative" "$dir/dissipative.info" && grep -q "^D net: .*6 6" "$dir/dissipative.info" \
  || fail "info: the D net"
grep -q "port-Hamiltonian.*(3 entries of L)" "$dir/port.info" || fail "info: port"
# a port model's H decays along its own flow (dH/dt = -grad H . R grad H <= 0)
awk -F, 'NR > 2 && $4 > prev + 1e-12 { exit 1 } NR > 1 { prev = $4 }' "$dir/port.csv" \
  || fail "rollout: a port model's H grew"
# activations: the library's own refusal of ReLU for a Hamiltonian net, printed by the tool
expect_msg "ReLU is refused for a Hamiltonian net" "$hnn" train "${common[@]}" --activation relu \
  --out "$dir/v.hnn"
expect_msg "--activation 'gelu' is not tanh" "$hnn" train "${common[@]}" --activation gelu --out "$dir/v.hnn"
expect_msg "--model 'lstm' is not hnn, mlp, dissipative or port" "$hnn" train "${common[@]}" --model lstm \
  --out "$dir/v.hnn"
"$hnn" train "${common[@]}" --model mlp --activation relu --steps 5 --out "$dir/relu.hnn" > /dev/null 2>&1 \
  || fail "a ReLU direct-field net"
"$hnn" info "$dir/relu.hnn" | grep -q "2 ReLU layers" || fail "info: ReLU"
"$hnn" --help | grep -q "dissipative" && "$hnn" --help | grep -q "activation NAME tanh" \
  || fail "--help: model kinds or activations"
# --f32: the float path agrees with the double one to float precision; a float rollout steps
# with the float stepper (implicit midpoint for this non-separable net) and keeps its H
"$hnn" eval "$dir/m.hnn" --f32 1 0 > "$dir/eval32.out" || fail "eval --f32"
paste "$dir/eval.out" "$dir/eval32.out" | awk '{ n = NF / 2; for (i = 2; i <= n; i++) {
    d = $i - $(i + n); if (d < 0) d = -d; a = $i < 0 ? -$i : $i; if (!(d <= 1e-5 * (1 + a))) exit 1 } }' \
  || fail "eval --f32 differs from the double evaluation"
[ "$(awk '{ print $2 }' "$dir/eval32.out" | head -1 | tr -cd 0-9 | wc -c)" -le 9 ] \
  || fail "eval --f32 prints more digits than a float has"
"$hnn" rollout "$dir/m.hnn" --x0 1 0 --f32 --h 0.1 --steps 50 --csv "$dir/r32.csv" \
  > "$dir/r32.out" || fail "rollout --f32"
grep -q "50 steps of implicit-midpoint in float" "$dir/r32.out" || fail "rollout --f32: method"
[ "$(wc -l < "$dir/r32.csv")" -eq 52 ] || fail "rollout --f32 rows"
# against the double rollout by the same method: the float one tracks it to float round-off
"$hnn" rollout "$dir/m.hnn" --x0 1 0 --integrator implicit-midpoint --h 0.1 --steps 50 \
  --csv "$dir/r64.csv" > /dev/null || fail "rollout, implicit midpoint"
paste -d, "$dir/r32.csv" "$dir/r64.csv" | awk -F, 'NR > 1 { for (i = 2; i <= 4; i++) {
    d = $i - $(i + 4); if (d < 0) d = -d; if (!(d <= 1e-4)) exit 1 } last = $2 }
    END { if (last == 1) exit 1 }' || fail "rollout --f32 strays from the double rollout"
expect_msg "--integrator 'rk4' is not one --f32 steps with" "$hnn" rollout "$dir/m.hnn" --x0 1 0 \
  --f32 --integrator rk4 --csv "$dir/r2.csv"
expect_msg "explicit only for a separable net" "$hnn" rollout "$dir/m.hnn" --x0 1 0 --f32 \
  --integrator leapfrog --csv "$dir/r2.csv"
# trajectories: 12 orbits of the unit spring at uneven steps (no derivative columns); every
# --loss trains, --test-split holds out whole trajectories (or, with --split time, each one's
# end), and the learned field is the spring's
awk 'BEGIN { print "trajectory,t,q1,p1"; srand(5);
  for (i = 0; i < 12; i++) { r = 0.4 + 0.08 * i; ph = 0.5 * i; t = 0;
    for (k = 0; k < 40; k++) { printf "%d,%.6f,%.9f,%.9f\n", i, t, r * cos(t + ph), -r * sin(t + ph);
      t += 0.15 + 0.1 * rand() } } }' > "$dir/orbits.csv"
"$hnn" train --trajectories "$dir/orbits.csv" --test-split 0.25 --width 16 --steps 1500 --batch 0 \
  --lr 0.01 --out "$dir/traj.hnn" > "$dir/traj.out" 2>&1 || { cat "$dir/traj.out"; fail "train --trajectories"; }
grep -q "on 351 states" "$dir/traj.out" && grep -q "validation loss .* on 117 states" "$dir/traj.out" \
  || fail "train --trajectories: 9 x 39 midpoint pairs to train, 3 x 39 to test"
"$hnn" eval "$dir/traj.hnn" 0.5 0.3 | awk '/^field/ { d1 = $2 - 0.3; d2 = $3 + 0.5;
    if (!(d1 * d1 + d2 * d2 <= 0.01)) exit 1; ok = 1 } END { if (!ok) exit 1 }' \
  || fail "train --trajectories: the learned field at (0.5, 0.3) is not the spring's (0.3, -0.5)"
for rule in fd central; do
  "$hnn" train --trajectories "$dir/orbits.csv" --loss "$rule" --split time --test-split 0.2 \
    --width 8 --steps 20 --out "$dir/traj_$rule.hnn" > "$dir/traj.out" 2>&1 || fail "--loss $rule"
  grep -q "validation loss" "$dir/traj.out" || fail "--loss $rule: no validation loss"
done
# the rollout loss: 4 RK4 steps from each observation, matched to the next 4
"$hnn" train --trajectories "$dir/orbits.csv" --loss rollout --horizon 4 --test-split 0.25 \
  --width 16 --steps 600 --batch 64 --lr 0.01 --out "$dir/roll.hnn" > "$dir/roll.out" 2>&1 \
  || { cat "$dir/roll.out"; fail "--loss rollout"; }
grep -q "on 324 windows" "$dir/roll.out" && grep -q "validation loss .* on 108 windows" "$dir/roll.out" \
  || fail "--loss rollout: 9 x 36 windows of 4 steps to train, 3 x 36 to test"
"$hnn" eval "$dir/roll.hnn" 0.5 0.3 | awk '/^field/ { d1 = $2 - 0.3; d2 = $3 + 0.5;
    if (!(d1 * d1 + d2 * d2 <= 0.01)) exit 1; ok = 1 } END { if (!ok) exit 1 }' \
  || fail "--loss rollout: the learned field at (0.5, 0.3) is not the spring's (0.3, -0.5)"
expect_msg "--horizon and --scheme are the rollout loss's" "$hnn" train --trajectories "$dir/orbits.csv" \
  --horizon 4 --out "$dir/v.hnn"
expect_msg "no window of 40 steps" "$hnn" train --trajectories "$dir/orbits.csv" --loss rollout \
  --horizon 40 --out "$dir/v.hnn"
# a port model and a separable net stepped by leapfrog on the rollout loss
"$hnn" train --trajectories "$dir/orbits.csv" --loss rollout --horizon 3 --model port --width 8 \
  --steps 300 --batch 64 --lr 0.01 --out "$dir/roll_port.hnn" > "$dir/roll.out" 2>&1 \
  || { cat "$dir/roll.out"; fail "--loss rollout --model port"; }
grep -q "trained a port.* on 444 windows" "$dir/roll.out" \
  || { cat "$dir/roll.out"; fail "--loss rollout --model port: 12 x 37 windows"; }
"$hnn" train --trajectories "$dir/orbits.csv" --loss rollout --horizon 4 --scheme leapfrog \
  --features positions --kinetic-mass 1 --width 16 --steps 600 --batch 64 --lr 0.01 \
  --out "$dir/roll_lf.hnn" > "$dir/roll.out" 2>&1 || { cat "$dir/roll.out"; fail "--scheme leapfrog"; }
"$hnn" eval "$dir/roll_lf.hnn" 0.5 0.3 | awk '/^field/ { d1 = $2 - 0.3; d2 = $3 + 0.5;
    if (!(d1 * d1 + d2 * d2 <= 0.01)) exit 1; ok = 1 } END { if (!ok) exit 1 }' \
  || fail "--scheme leapfrog: the learned field at (0.5, 0.3) is not the spring's (0.3, -0.5)"
expect_msg "explicit leapfrog needs a separable net" "$hnn" train --trajectories "$dir/orbits.csv" \
  --loss rollout --scheme leapfrog --steps 1 --out "$dir/v.hnn"
expect_msg "field is not separable: use rk4" "$hnn" train --trajectories "$dir/orbits.csv" \
  --loss rollout --scheme leapfrog --model dissipative --out "$dir/v.hnn"
expect_msg "--scheme 'euler' is not rk4 or leapfrog" "$hnn" train --trajectories "$dir/orbits.csv" \
  --loss rollout --scheme euler --out "$dir/v.hnn"
expect_msg "--horizon and --scheme are the rollout loss's" "$hnn" train --trajectories \
  "$dir/orbits.csv" --scheme rk4 --out "$dir/v.hnn"
"$hnn" train --trajectories "$dir/orbits.csv" --model port --width 6 --steps 10 \
  --out "$dir/traj_port.hnn" > /dev/null 2>&1 || fail "a port model from trajectories"
printf 'trajectory,t,q1,p1\n0,0,1,0\n1,0,1,0\n0,1,1,0\n' > "$dir/split.csv"
expect_msg "split.csv:4: trajectory 0 starts again" "$hnn" train --trajectories "$dir/split.csv" \
  --out "$dir/v.hnn"
expect_msg "--loss 'rk4' is not fd, central, midpoint or rollout" "$hnn" train --trajectories \
  "$dir/orbits.csv" --loss rk4 --out "$dir/v.hnn"
expect_msg "hold data out with --test-split" "$hnn" train --trajectories "$dir/orbits.csv" \
  --val-split 0.2 --out "$dir/v.hnn"
expect_msg "need --trajectories" "$hnn" train --data "$dir/spring.csv" --loss fd --out "$dir/v.hnn"
expect_msg "give --test-split too" "$hnn" train --trajectories "$dir/orbits.csv" --split time \
  --out "$dir/v.hnn"
printf 'trajectory,t,q1,p1\n0,0,1,0\n0,1,1,0\n0,2,1,0\n1,0,1,0\n1,1,1,0\n1,2,1,0\n2,0,1,0\n2,1,1,0\n' \
  > "$dir/short.csv" # the last trajectory is too short for central differences
expect_msg "--test-split 0.34 by trajectories, the held-out part: the central rule" "$hnn" train \
  --trajectories "$dir/short.csv" --loss central --test-split 0.34 --out "$dir/v.hnn"
expect_msg "--test-split '1' is not in (0, 1)" "$hnn" train --trajectories "$dir/orbits.csv" \
  --test-split 1 --out "$dir/v.hnn"
echo "OK: hnn train, info, eval, rollout and their errors, for every model kind, from trajectories too"
