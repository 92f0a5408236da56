#!/usr/bin/env python3
"""The PyTorch bridge as a user runs it: export_hnn.py's command line on a custom module
(bias=False, float32), its refusals, and the import back. libhnn's numbers come from the hnn
tool (`hnn eval`, 17 digits), PyTorch's from autograd in float64.
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
    f.write("import torch.nn as nn\n\n\n" + CLASSES)
sys.path.insert(0, tmp)
from mymodels import MyHNN, Skip, WithReLU  # noqa: E402

torch.manual_seed(3)
model = MyHNN()  # float32, as PyTorch makes it
pt, out = os.path.join(tmp, "m.pt"), os.path.join(tmp, "m.hnn")
torch.save(model, pt)
r = run(pt, out)
if r.returncode != 0:
    fail("export of a custom float32 module: " + r.stderr)
if "not float64" not in r.stderr:
    fail("no warning for a float32 model")

# H and grad H: the hnn tool on the file against autograd on the same numbers in float64
ref = MyHNN()
ref.load_state_dict(model.state_dict())
ref = ref.double()
worst = 0.0
for state in ([0.0, 0.0, 0.0, 0.0], [1.0, -0.5, 0.25, 2.0], [-1.5, 0.75, -0.3, 0.1]):
    x = torch.tensor([state], dtype=torch.float64, requires_grad=True)
    H = ref(x).sum()
    g, = torch.autograd.grad(H, x)
    e = subprocess.run([hnn, "eval", out] + [repr(v) for v in state], capture_output=True,
                       text=True)
    if e.returncode != 0:
        fail("hnn eval: " + e.stderr)
    lines = {l.split()[0]: [float(v) for v in l.split()[1:]] for l in e.stdout.splitlines()}
    want = [H.item()] + g[0].tolist()
    got = lines["H"] + lines["grad"]
    for a, b in zip(got, want):
        err = abs(a - b) / max(1.0, abs(b))
        if not err <= 1e-12:  # NaN fails too
            fail(f"libhnn {a!r} against autograd {b!r} at {state}")
        worst = max(worst, err)

# refusals, each naming what is wrong
torch.save(Skip(), os.path.join(tmp, "skip.pt"))
r = run(os.path.join(tmp, "skip.pt"), os.path.join(tmp, "skip.hnn"))
if r.returncode == 0 or "not the chain" not in r.stderr:
    fail("a module with a skip connection was not refused: " + r.stderr)
torch.save(WithReLU(), os.path.join(tmp, "relu.pt"))
r = run(os.path.join(tmp, "relu.pt"), os.path.join(tmp, "relu.hnn"))
if r.returncode == 0 or "r (ReLU) is not supported" not in r.stderr:
    fail("ReLU was not refused by name: " + r.stderr)
torch.save(model.state_dict(), os.path.join(tmp, "sd.pt"))
r = run(os.path.join(tmp, "sd.pt"), os.path.join(tmp, "sd.hnn"))
if r.returncode == 0 or "not a module" not in r.stderr:
    fail("a state_dict was not refused: " + r.stderr)
if any(os.path.exists(os.path.join(tmp, f)) for f in ("skip.hnn", "relu.hnn", "sd.hnn")):
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
print(f"OK: export of a custom module (bias=False, float32) matches autograd to {worst:.1e}; "
      "refusals named; import back equal")
