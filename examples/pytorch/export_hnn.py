#!/usr/bin/env python3
"""Export a PyTorch HNN to a libhnn model file (docs/format.md: version 1 for tanh, 3 else).

The model is a chain of Linear layers with one activation between them (Tanh, Softplus,
SiLU, a sine module, or for a direct-field net ReLU), ending in a
Linear with one output (a Hamiltonian net, H(q, p)) or 2n outputs (a direct-field net).
libhnn stores parameters in nn.Linear order (weight [out][in] row-major, then bias), so the
export is a flat copy of state_dict() in float64.

    python3 export_hnn.py MODEL.pt OUT.hnn          # a module saved with torch.save(model, ...)
    python3 export_hnn.py --import IN.hnn OUT.pt    # back into an nn.Sequential (float64)
    python3 export_hnn.py --fixture OUT_DIR         # write the test fixture

Any module whose forward is that chain is accepted (its leaf modules are walked in order and
the result checked against its forward); an activation is recognised by what it computes
(so a custom `class Sine(nn.Module)` whose forward is torch.sin is one), and a ReLU in a
Hamiltonian net is refused, saying why; Linear(bias=False) is exported with zero biases; a
float32 model is widened to float64 with a warning.

As a library:  from export_hnn import export, import_hnn;  export(model, "model.hnn")
"""
import argparse
import math
import os
import struct
import sys
import zlib

MAGIC = b"\x89HNN\r\n\x1a\n"

# libhnn's activations (hnn_activation), by the number the file stores
ACTIVATIONS = ("tanh", "softplus", "sine", "silu", "relu")


def _reference(name, x):
    import torch
    import torch.nn.functional as F
    return {"tanh": torch.tanh, "softplus": F.softplus, "sine": torch.sin, "silu": F.silu,
            "relu": F.relu}[name](x)


def activation_of(module):
    """The name of the activation `module` computes (one of ACTIVATIONS), judged by its
    outputs on probe values in float64, or None: nn.Softplus(beta=2) is not softplus."""
    import torch
    if list(module.parameters()):
        return None
    x = torch.cat([torch.linspace(-8.0, 8.0, 161, dtype=torch.float64),
                   torch.tensor([-30.0, -0.3, 0.0, 1e-3, 0.7, 30.0], dtype=torch.float64)])
    try:
        with torch.no_grad():
            y = module(x)
    except Exception:  # not an element-wise function of a tensor
        return None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return None
    for name in ACTIVATIONS:
        if torch.allclose(y, _reference(name, x), rtol=1e-12, atol=1e-15):
            return name
    return None


def __getattr__(name):
    """export_hnn.Sine, an nn.Module computing sin(x) (PyTorch has none; --import needs one),
    made when first asked for, so that this module loads without torch."""
    if name != "Sine":
        raise AttributeError(name)
    if "Sine" in globals():  # one class, however often asked for (pickle checks identity)
        return globals()["Sine"]
    import torch
    import torch.nn as nn

    class Sine(nn.Module):
        def forward(self, x):
            return torch.sin(x)
    Sine.__module__, Sine.__qualname__ = __name__, "Sine"
    globals()["Sine"] = Sine
    return Sine


def chain_layers(model):
    """The chain libhnn holds: the model's Linear layers in registration order with its one
    activation between each two, and that activation's name. The leaf modules are walked (a
    module used twice, as one `self.act` between every layer often is, counts once), so
    export() then checks that forward() is that chain. The error names the first piece
    libhnn cannot hold."""
    import torch.nn as nn
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    if not leaves:
        leaves = [("", model)]
    linears, acts = [], []
    for name, m in leaves:
        if isinstance(m, (nn.Identity, nn.Flatten)):
            continue
        if isinstance(m, nn.Linear):
            linears.append(m)
            continue
        act = activation_of(m)
        if act is None:
            raise ValueError(f"{name or 'the model'} ({type(m).__name__}) is not supported: "
                             "libhnn nets are Linear layers with one activation between them "
                             "(" + ", ".join(ACTIVATIONS) + ")")
        acts.append((name, type(m).__name__, act, m))
    if not linears:
        raise ValueError("the model has no nn.Linear")
    for other in acts[1:]:
        if other[2] != acts[0][2]:
            raise ValueError(f"{acts[0][0]} is {acts[0][1]} ({acts[0][2]}) but {other[0]} is "
                             f"{other[1]} ({other[2]}): a libhnn net has one activation for "
                             "all its hidden layers")
    if len(linears) > 1 and not acts:
        raise ValueError("no activation between the Linear layers: libhnn nets have one "
                         "(" + ", ".join(ACTIVATIONS) + ")")
    layers = [linears[0]]
    for lin in linears[1:]:
        layers += [acts[0][3], lin]
    return layers, acts[0][2] if acts else "tanh"


def layer_shapes(layers):
    """The (in, out) of each Linear of the chain."""
    import torch.nn as nn
    return [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)]


def check_forward_is_chain(model, layers, dim):
    """Raise unless model(x) equals the chain of `layers` on a few random states: a module
    whose forward() does something else (a skip connection, a reordering) is refused."""
    import torch
    dtype = next(model.parameters()).dtype
    x = torch.randn(7, dim, dtype=dtype, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = model(x)
        got = x
        for m in layers:
            got = m(got)
    if want.shape != got.shape or not torch.allclose(want, got, rtol=1e-5, atol=1e-7):
        raise ValueError("the module's forward() is not the chain of its Linear layers and "
                         "activations in the order they were registered: libhnn cannot hold "
                         "it")


def export(model, path, seed=0):
    """Write `model` (a Sequential of Linear layers and one activation, or any module whose
    forward is such a chain) as a libhnn model file, in float64 (a float32 model is widened,
    with a warning)."""
    import torch
    layers, activation = chain_layers(model)
    shapes = layer_shapes(layers)
    dim = shapes[0][0]
    if dim % 2 != 0 or dim < 2:
        raise ValueError("the input must be a state [q1..qn, p1..pn] of even length")
    n, out = dim // 2, shapes[-1][1]
    if out == 1:
        kind = 0  # Hamiltonian
    elif out == dim:
        kind = 1  # direct field
    else:
        raise ValueError(f"the last layer has {out} outputs: 1 (H) or {dim} (a field) expected")
    if activation == "relu" and kind == 0:
        raise ValueError("ReLU in a Hamiltonian net: libhnn refuses it, since its second "
                         "derivative is 0, so the field J grad H is piecewise constant in the "
                         "state and training cannot move the biases (use Softplus, SiLU, a "
                         "sine or Tanh)")
    widths = [o for (_, o) in shapes[:-1]]
    # the format's caps (docs/format.md): a file over them would not load
    if not 1 <= len(widths) <= 16:
        raise ValueError(f"{len(widths)} hidden layers: libhnn takes 1 to 16")
    if n > 4096 or any(w > 1048576 for w in widths):
        raise ValueError("n over 4096 or a layer wider than 1048576: over libhnn's caps")
    for (i, o), prev in zip(shapes[1:], widths):
        if i != prev:
            raise ValueError("consecutive layers do not connect")
    check_forward_is_chain(model, layers, dim)
    if any(p.dtype != torch.float64 for p in model.parameters()):
        print("export_hnn: warning: the model is not float64; its parameters are widened "
              "exactly, but a net trained in float32 is only as accurate as float32",
              file=sys.stderr)
    params = []
    for m in layers:
        if isinstance(m, torch.nn.Linear):
            params.extend(m.weight.detach().double().reshape(-1).tolist())
            if m.bias is None:  # bias=False: libhnn layers have biases, here zero
                params.extend([0.0] * m.out_features)
            else:
                params.extend(m.bias.detach().double().reshape(-1).tolist())
    if not all(math.isfinite(v) for v in params):
        raise ValueError("a parameter is not finite")
    if len(params) > 1 << 27:
        raise ValueError(f"{len(params)} parameters: the format holds at most 2^27")
    body = encode(kind, n, widths, ACTIVATIONS.index(activation), seed, params)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def encode(kind, n, widths, activation, seed, params):
    """The bytes of a model file for one net without a feature map or kinetic term and no
    optional sections (docs/format.md): version 1 for tanh, else version 3, whose header
    adds the model kind (0, one net), bodies, kinetic mass and the activation's number."""
    body = bytearray(MAGIC)
    if activation == 0:
        body += struct.pack("<6I", 1, 0, kind, 0, n, len(widths))
    else:
        body += struct.pack("<6IdI", 3, 0, 0, kind, 0, 0, 0.0, activation)
        body += struct.pack("<2I", n, len(widths))
    body += struct.pack(f"<{len(widths)}I", *widths)
    body += struct.pack("<QQ", seed, len(params))
    if activation != 0:
        body += struct.pack("<Q", len(params))  # the model's flat count: this net's
    body += struct.pack(f"<{len(params)}d", *params)
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    return body


def decode(path, data):
    """(kind, n, widths, activation, params) of a one-net file without a feature map or
    kinetic term (version 1, or 3); any other is refused: no nn.Sequential holds it."""
    if len(data) < 8 + 24 or data[:8] != MAGIC:
        raise ValueError(f"{path}: not a libhnn model")
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != struct.unpack("<I", data[-4:])[0]:
        raise ValueError(f"{path}: checksum mismatch")
    version, = struct.unpack_from("<I", data, 8)
    if version == 1:
        _flags, kind, features, n, depth = struct.unpack_from("<5I", data, 12)
        activation, at = 0, 32
    elif version == 3:
        _flags, model, kind, features, bodies, mass, activation = \
            struct.unpack_from("<5IdI", data, 12)
        n, depth = struct.unpack_from("<2I", data, 44)
        at = 52
        if model != 0:
            raise ValueError(f"{path}: a dissipative model (several nets): no nn.Sequential "
                             "holds it")
        if features != 0 or mass != 0.0:
            raise ValueError(f"{path}: a feature map or a kinetic term: no nn.Sequential "
                             "holds it")
        if activation >= len(ACTIVATIONS):
            raise ValueError(f"{path}: unknown activation {activation}")
    else:
        raise ValueError(f"{path}: format version {version} (a feature map or a kinetic term, "
                         "or newer than this script): no nn.Sequential holds it")
    widths = list(struct.unpack_from(f"<{depth}I", data, at))
    at += 4 * depth
    _seed, count = struct.unpack_from("<QQ", data, at)
    at += 16 + (8 if version == 3 else 0)
    return kind, n, widths, activation, struct.unpack_from(f"<{count}d", data, at)


def activation_module(name):
    import torch.nn as nn
    if name == "sine":
        return __getattr__("Sine")()
    return {"tanh": nn.Tanh, "softplus": nn.Softplus, "silu": nn.SiLU, "relu": nn.ReLU}[name]()


def import_hnn(path):
    """The nn.Sequential (float64) a libhnn model file of one plain net holds: its Linear
    layers and activation (a sine as export_hnn.Sine) with its parameters. Files with a
    feature map, a kinetic term or several nets have no Sequential form and are refused."""
    import torch
    import torch.nn as nn
    kind, n, widths, activation, params = decode(path, open(path, "rb").read())
    count = len(params)
    sizes = [2 * n] + widths + [1 if kind == 0 else 2 * n]
    layers, k = [], 0
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1]).double()
        w, b = sizes[i] * sizes[i + 1], sizes[i + 1]
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(params[k:k + w], dtype=torch.float64).reshape(sizes[i + 1], sizes[i]))
            lin.bias.copy_(torch.tensor(params[k + w:k + w + b], dtype=torch.float64))
        k += w + b
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(activation_module(ACTIVATIONS[activation]))
    if k != count:
        raise ValueError(f"{path}: {count} parameters, the shape takes {k}")
    return nn.Sequential(*layers)


def write_fixture(out_dir):
    """A small random HNN (n = 2, hidden 8 and 5), its file, and H and grad H at a few states
    computed by PyTorch autograd in float64."""
    import torch
    import torch.nn as nn
    torch.manual_seed(1234)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 5), nn.Tanh(),
                          nn.Linear(5, 1)).double()
    export(model, os.path.join(out_dir, "torch_hnn.hnn"), seed=1234)
    states = torch.tensor([[0.0, 0.0, 0.0, 0.0],
                           [1.0, -0.5, 0.25, 2.0],
                           [-1.5, 0.75, -0.3, 0.1],
                           [0.3, 0.3, -2.0, -1.0],
                           [2.5, -1.25, 1.5, -0.75]], dtype=torch.float64, requires_grad=True)
    H = model(states).sum()
    grad, = torch.autograd.grad(H, states)
    values = model(states).detach().reshape(-1)
    with open(os.path.join(out_dir, "torch_hnn_expected.csv"), "w") as f:
        f.write("q1,q2,p1,p2,H,dH/dq1,dH/dq2,dH/dp1,dH/dp2\n")
        for s in range(states.shape[0]):
            row = states[s].tolist() + [values[s].item()] + grad[s].tolist()
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="a saved PyTorch module (torch.save(model, ...))")
    ap.add_argument("out", nargs="?", help="the libhnn model file to write")
    ap.add_argument("--import", dest="import_from", metavar="IN_HNN",
                    help="read a libhnn file back into an nn.Sequential saved at OUT (a .pt)")
    ap.add_argument("--seed", type=int, default=0, help="the seed recorded in the file")
    ap.add_argument("--fixture", metavar="OUT_DIR", help="write the test fixture into OUT_DIR")
    args = ap.parse_args()
    import torch
    if args.fixture is not None:
        write_fixture(args.fixture)
        return 0
    try:
        if args.import_from is not None:
            if args.model is None or args.out is not None:
                ap.error("--import IN.hnn takes one more argument: OUT.pt")
            torch.save(import_hnn(args.import_from), args.model)
            return 0
        if args.model is None or args.out is None:
            ap.error("give MODEL.pt and OUT.hnn")
        # a whole module is a pickle that names its classes: they must be importable, from
        # the current directory, the model file's, or PYTHONPATH
        sys.path[:0] = [os.getcwd(), os.path.dirname(os.path.abspath(args.model))]
        try:
            try:  # newer torch loads only weights by default
                model = torch.load(args.model, weights_only=False)
            except TypeError:  # torch before 1.13 has no weights_only
                model = torch.load(args.model)
        except (AttributeError, ImportError) as e:
            raise ValueError(f"{args.model}: its classes cannot be imported ({e}); run from "
                             "the directory of the module that defines them, or set "
                             "PYTHONPATH") from None
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"{args.model} holds a {type(model).__name__}, not a module (save "
                             "the model itself, torch.save(model, path), not its state_dict)")
        export(model, args.out, seed=args.seed)
    except (ValueError, OSError, struct.error) as e:  # struct: a short or odd file, a bad seed
        print(f"export_hnn: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # run as the module export_hnn, so that what --import pickles (export_hnn.Sine) is found
    # again by whoever loads it with export_hnn on their path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import export_hnn
    sys.exit(export_hnn.main())
