#!/usr/bin/env python3
"""The PyTorch bridge as a user runs it: export_hnn.py's command line on a custom module
(bias=False, float32) with each activation (a custom Sine module among them), its refusals,
and the import back. libhnn's numbers come from the hnn tool (`hnn eval`, 17 digits),
PyTorch's from autograd in float64.
Usage: test_export.py <examples/pytorch dir> <hnn tool>"""
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

bridge, hnn = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, bridge)
from export_hnn import import_hnn  # noqa: E402

script = os.path.join(bridge, "export_hnn.py")
tmp = tempfile.mkdtemp()


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def run(*args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                          cwd=tmp)


CLASSES = '''class MyHNN(nn.Module):  # not a Sequential: layers as attributes, a forward of its own
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 9)
        self.act1 = nn.Tanh()
        self.mid = nn.Linear(9, 7, bias=False)
        self.act2 = nn.Tanh()
        self.out = nn.Linear(7, 1)

    def forward(self, x):
        return self.out(self.act2(self.mid(self.act1(self.inp(x)))))


class Skip(MyHNN):  # the same layers, but forward is not their chain
    def forward(self, x):
        h = self.act1(self.inp(x))
        return self.out(self.act2(self.mid(h)) + h[:, :7])


class Sine(nn.Module):  # PyTorch has no sine module: users write their own
    def forward(self, x):
        return torch.sin(x)


class Chain(nn.Module):  # an HNN with a chosen activation module
    def __init__(self, act, out=1):
        super().__init__()
        self.a = nn.Linear(4, 6)
        self.s1 = act
        self.b = nn.Linear(6, 5)
        self.s2 = act
        self.c = nn.Linear(5, out)

    def forward(self, x):
        return self.c(self.s2(self.b(self.s1(self.a(x)))))


class WithReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 4)
        self.r = nn.ReLU()
        self.b = nn.Linear(4, 1)

    def forward(self, x):
        return self.b(self.r(self.a(x)))


'''


# the user's classes live in a module of their own (a pickled module names them)
with open(os.path.join(tmp, "mymodels.py"), "w") as f:
    f.write("import torch\nimport torch.nn as nn\n\n\n" + CLASSES)
sys.path.insert(0, tmp)
from mymodels import Chain, MyHNN, Sine, Skip, WithReLU  # noqa: E402

torch.manual_seed(3)
model = MyHNN()  # float32, as PyTorch makes it
pt, out = os.path.join(tmp, "m.pt"), os.path.join(tmp, "m.hnn")
torch.save(model, pt)
r = run(pt, out)
if r.returncode != 0:
    fail("export of a custom float32 module: " + r.stderr)
if "not float64" not in r.stderr:
    fail("no warning for a float32 model")

STATES = ([0.0, 0.0, 0.0, 0.0], [1.0, -0.5, 0.25, 2.0], [-1.5, 0.75, -0.3, 0.1])


def agreement(ref, path, field=False):
    """The worst relative difference between the hnn tool on `path` and autograd on `ref`
    (float64): H and grad H, or a direct-field net's outputs."""
    worst = 0.0
    for state in STATES:
        x = torch.tensor([state], dtype=torch.float64, requires_grad=True)
        out_t = ref(x)
        if field:
            want, key = out_t[0].tolist(), ["field"]
        else:
            g, = torch.autograd.grad(out_t.sum(), x)
            want, key = [out_t.item()] + g[0].tolist(), ["H", "grad"]
        e = subprocess.run([hnn, "eval", path] + [repr(v) for v in state], capture_output=True,
                           text=True)
        if e.returncode != 0:
            fail("hnn eval: " + e.stderr)
        lines = {l.split()[0]: [float(v) for v in l.split()[1:]] for l in e.stdout.splitlines()}
        got = sum((lines[k] for k in key), [])
        if len(got) != len(want):
            fail(f"hnn eval printed {got}, expected {len(want)} numbers")
        for a, b in zip(got, want):
            err = abs(a - b) / max(1.0, abs(b))
            if not err <= 1e-12:  # NaN fails too
                fail(f"libhnn {a!r} against autograd {b!r} at {state} ({path})")
            worst = max(worst, err)
    return worst


# H and grad H: the hnn tool on the file against autograd on the same numbers in float64
ref = MyHNN()
ref.load_state_dict(model.state_dict())
ref = ref.double()
worst = agreement(ref, out)

# every activation, exported from a module and imported back
for name, act in (("softplus", nn.Softplus()), ("sine", Sine()), ("silu", nn.SiLU()),
                  ("tanh", nn.Tanh())):
    torch.manual_seed(5)
    m = Chain(act).double()
    mpt, mout = os.path.join(tmp, name + ".pt"), os.path.join(tmp, name + ".hnn")
    torch.save(m, mpt)
    r = run(mpt, mout)
    if r.returncode != 0:
        fail(f"export with {name}: " + r.stderr)
    worst = max(worst, agreement(m, mout))
    back = import_hnn(mout)
    xs = torch.randn(6, 4, dtype=torch.float64)
    if not torch.allclose(back(xs), m(xs), rtol=0, atol=1e-15):
        fail(f"the import of a {name} net computes something else")
    info = subprocess.run([hnn, "info", mout], capture_output=True, text=True)
    shown = [l for l in info.stdout.lower().splitlines() if not l.startswith("file:")]
    if info.returncode != 0 or not any(name in l for l in shown):
        fail(f"hnn info does not name the activation {name}: {info.stdout} {info.stderr}")

# ReLU: a direct-field net exports; a Hamiltonian net is refused, saying why
torch.manual_seed(6)
m = Chain(nn.ReLU(), out=4).double()
torch.save(m, os.path.join(tmp, "relu_field.pt"))
r = run(os.path.join(tmp, "relu_field.pt"), os.path.join(tmp, "relu_field.hnn"))
if r.returncode != 0:
    fail("export of a ReLU field net: " + r.stderr)
worst = max(worst, agreement(m, os.path.join(tmp, "relu_field.hnn"), field=True))

# refusals, each naming what is wrong
torch.save(Skip(), os.path.join(tmp, "skip.pt"))
r = run(os.path.join(tmp, "skip.pt"), os.path.join(tmp, "skip.hnn"))
if r.returncode == 0 or "not the chain" not in r.stderr:
    fail("a module with a skip connection was not refused: " + r.stderr)
torch.save(WithReLU(), os.path.join(tmp, "relu.pt"))
r = run(os.path.join(tmp, "relu.pt"), os.path.join(tmp, "relu.hnn"))
if r.returncode == 0 or "ReLU in a Hamiltonian net" not in r.stderr or \
        "second derivative" not in r.stderr:
    fail("ReLU in an HNN was not refused with its reason: " + r.stderr)
mixed = Chain(nn.Tanh())
mixed.s2 = nn.SiLU()
torch.save(mixed, os.path.join(tmp, "mixed.pt"))
r = run(os.path.join(tmp, "mixed.pt"), os.path.join(tmp, "mixed.hnn"))
if r.returncode == 0 or "s1 is Tanh (tanh) but s2 is SiLU (silu)" not in r.stderr:
    fail("two activations in one net were not refused: " + r.stderr)
torch.save(Chain(nn.Softplus(beta=2.0)), os.path.join(tmp, "beta.pt"))
r = run(os.path.join(tmp, "beta.pt"), os.path.join(tmp, "beta.hnn"))
if r.returncode == 0 or "s1 (Softplus) is not supported" not in r.stderr:
    fail("Softplus(beta=2), which libhnn does not compute, was not refused: " + r.stderr)
torch.save(model.state_dict(), os.path.join(tmp, "sd.pt"))
r = run(os.path.join(tmp, "sd.pt"), os.path.join(tmp, "sd.hnn"))
if r.returncode == 0 or "not a module" not in r.stderr:
    fail("a state_dict was not refused: " + r.stderr)
if any(os.path.exists(os.path.join(tmp, f))
       for f in ("skip.hnn", "relu.hnn", "sd.hnn", "mixed.hnn", "beta.hnn")):
    fail("a refused export wrote a file")

# back into PyTorch: the same numbers, and the same outputs
back_pt = os.path.join(tmp, "back.pt")
r = run("--import", out, back_pt)
if r.returncode != 0:
    fail("--import: " + r.stderr)
back = torch.load(back_pt, weights_only=False) if torch.__version__ >= "1.13" else torch.load(back_pt)
x = torch.randn(5, 4, dtype=torch.float64)
if not torch.equal(back(x), import_hnn(out)(x)):
    fail("--import and import_hnn differ")
if not torch.allclose(back(x), ref(x), rtol=0, atol=1e-15):
    fail("the imported net computes something else")
# a sine net through --import: the .pt holds export_hnn.Sine, found again with the bridge on
# the path
r = run("--import", os.path.join(tmp, "sine.hnn"), os.path.join(tmp, "sine_back.pt"))
if r.returncode != 0:
    fail("--import of a sine net: " + r.stderr)
sine_back = torch.load(os.path.join(tmp, "sine_back.pt"), weights_only=False) \
    if torch.__version__ >= "1.13" else torch.load(os.path.join(tmp, "sine_back.pt"))
if type(sine_back[1]).__module__ != "export_hnn" or not torch.equal(
        sine_back(x), import_hnn(os.path.join(tmp, "sine.hnn"))(x)):
    fail("the imported sine net differs")
print(f"OK: exports of custom modules (bias=False, float32; tanh, softplus, sine, SiLU, a ReLU "
      f"field net) match autograd to {worst:.1e}; refusals named; imports back equal")
