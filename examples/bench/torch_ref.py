#!/usr/bin/env python3
"""PyTorch reference for examples/bench: the same configurations as libhnn's benchmark, in
double precision on one thread, measured the same way (best of several repetitions).

For each width w in 32, 128, 512 (n = 1, two hidden tanh layers of w):
  latency    one state's field J grad H (autograd.grad), microseconds
  batch      fields of 4096 states, states per second
  train_hnn  Adam steps per second on the seed's HNN, batch 256 (create_graph=True)
  train_mlp  the same for the direct-field MLP
  rk4        RK4 steps per second of one state with the HNN

    python3 torch_ref.py [--lines | --json] [--quick] [--threads T]
    python3 torch_ref.py --sweep [--width W] [--depth D] [--quick] [--threads T]
--lines prints "w latency_us batch train_hnn train_mlp rk4" per width (read by bench).
--sweep prints "n latency_us batch train_hnn" for n = 1, 2, 4, 8, 16, 64 degrees of freedom
(D hidden layers of W, default 2 of 200; n independent unit springs as data), read by
bench --sweep.
Needs PyTorch (Debian: apt-get install python3-torch).
"""
import argparse
import json
import os
import sys
import time


def _threads_from_argv(argv):
    """--threads T, read before torch is imported (see below); 1 if absent."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return argv[i + 1]
    return "1"


# torch.set_num_threads does not reach OpenBLAS's own pthreads: without this, Debian's
# PyTorch runs its large products on every core (measured: 60 GFLOP/s instead of 44 for a
# 512 x 512 x 256 product on the 2-core machine, with "1 thread"). The variables must be set
# before the BLAS is loaded.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv(sys.argv)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

MIN_TIME, REPS = 0.25, 3


def per_call(fn):
    fn()  # warm-up
    best = float("inf")
    for _ in range(REPS):
        calls, t0 = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            t = time.perf_counter() - t0
            if t >= MIN_TIME:
                break
        best = min(best, t / calls)
    return best


class Sine(nn.Module):
    def forward(self, x):
        return torch.sin(x)


ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "sine": Sine, "silu": nn.SiLU}
ACTIVATION = nn.Tanh  # the hidden layers' (--activation)


def mlp(w, out, dim=2, depth=2):
    layers = [nn.Linear(dim, w), ACTIVATION()]
    for _ in range(depth - 1):
        layers += [nn.Linear(w, w), ACTIVATION()]
    return nn.Sequential(*layers, nn.Linear(w, out)).double()


def hnn_field(model, x, create_graph=False):
    """J grad H for states x = [q_1..q_n, p_1..p_n] (rows)."""
    x = x.requires_grad_(True) if not x.requires_grad else x
    H = model(x).sum()
    g, = torch.autograd.grad(H, x, create_graph=create_graph)
    n = x.shape[1] // 2
    return torch.cat([g[:, n:], -g[:, :n]], dim=1)


def sweep_dof(n, w, depth):
    """One row of the n-sweep: latency, batched field, HNN training at batch 256."""
    torch.manual_seed(0)
    dim = 2 * n
    hnn = mlp(w, 1, dim, depth)
    i = torch.arange(4096 * dim, dtype=torch.float64)
    batch = torch.sin(0.37 * i).reshape(4096, dim)
    one = batch[:1].clone()
    latency = per_call(lambda: hnn_field(hnn, one.clone())) * 1e6
    batch_rate = 4096 / per_call(lambda: hnn_field(hnn, batch.clone()))
    xs = torch.sin(0.71 * torch.arange(1024 * dim, dtype=torch.float64)).reshape(1024, dim)
    xs[:, n:] = torch.cos(0.53 * torch.arange(1024 * dim, dtype=torch.float64)).reshape(1024, dim)[:, n:]
    ys = torch.cat([xs[:, n:], -xs[:, :n]], dim=1)
    opt = torch.optim.Adam(hnn.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)

    def step():
        idx = torch.randint(0, 1024, (256,), generator=gen)
        loss = ((hnn_field(hnn, xs[idx].clone(), create_graph=True) - ys[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    train = 1.0 / per_call(step)
    return latency, batch_rate, train


def bench_width(w):
    torch.manual_seed(0)
    hnn = mlp(w, 1)
    one = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    batch = torch.sin(0.37 * torch.arange(8192, dtype=torch.float64)).reshape(4096, 2)
    latency = per_call(lambda: hnn_field(hnn, one.clone())) * 1e6
    batch_rate = 4096 / per_call(lambda: hnn_field(hnn, batch.clone()))

    def rk4_steps(steps=50, h=0.05):
        x = one.clone()
        for _ in range(steps):
            k1 = hnn_field(hnn, x.clone()).detach()
            k2 = hnn_field(hnn, (x + 0.5 * h * k1).clone()).detach()
            k3 = hnn_field(hnn, (x + 0.5 * h * k2).clone()).detach()
            k4 = hnn_field(hnn, (x + h * k3).clone()).detach()
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    rk4 = 50 / per_call(rk4_steps)

    r = torch.rand(1024, dtype=torch.float64).sqrt() * 1.5
    a = torch.rand(1024, dtype=torch.float64) * 6.283185307179586
    xs = torch.stack([r * torch.cos(a), r * torch.sin(a)], dim=1)
    ys = torch.stack([xs[:, 1], -xs[:, 0]], dim=1)

    def train_rate(model, field_of):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)

        def step():
            idx = torch.randint(0, 1024, (256,), generator=gen)
            loss = ((field_of(model, xs[idx].clone()) - ys[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return 1.0 / per_call(step)
    train_hnn = train_rate(hnn, lambda m, x: hnn_field(m, x, create_graph=True))
    train_mlp = train_rate(mlp(w, 2), lambda m, x: m(x))
    return {"width": w, "latency_us": latency, "batch_states_per_s": batch_rate,
            "train_hnn_steps_per_s": train_hnn, "train_mlp_steps_per_s": train_mlp,
            "rk4_steps_per_s": rk4}


def main():
    global MIN_TIME, REPS, ACTIVATION
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    args = ap.parse_args()
    ACTIVATION = ACTIVATIONS[args.activation]
    torch.set_num_threads(args.threads)
    if args.quick:
        MIN_TIME, REPS = 0.02, 1
    if args.sweep:
        for n in (1, 2, 4, 8, 16, 64):
            lat, batch, train = sweep_dof(n, args.width, args.depth)
            print(n, lat, batch, train, flush=True)
        return 0
    rows = [bench_width(w) for w in (32, 128, 512)]
    if args.lines:
        for r in rows:
            print(r["width"], r["latency_us"], r["batch_states_per_s"], r["train_hnn_steps_per_s"],
                  r["train_mlp_steps_per_s"], r["rk4_steps_per_s"])
    elif args.json:
        print(json.dumps({"torch": torch.__version__, "threads": args.threads, "rows": rows}, indent=1))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s), float64")
        for r in rows:
            print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
