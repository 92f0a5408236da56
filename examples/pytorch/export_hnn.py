#!/usr/bin/env python3
"""Export a PyTorch HNN to a libhnn model file (docs/format.md, version 1).

The model must be a torch.nn.Sequential of Linear and Tanh layers, alternating, ending in a
Linear with one output (a Hamiltonian net, H(q, p)) or 2n outputs (a direct-field net).
libhnn stores parameters in nn.Linear order (weight [out][in] row-major, then bias), so the
export is a flat copy of state_dict() in float64.

    python3 export_hnn.py --fixture OUT_DIR     # write the test fixture (needs torch)

As a library:  from export_hnn import export;  export(model, "model.hnn")
"""
import argparse
import math
import os
import struct
import sys
import zlib

MAGIC = b"\x89HNN\r\n\x1a\n"
FORMAT_VERSION = 1


def layer_shapes(model):
    """The (in, out) of each Linear, checking the Linear/Tanh alternation."""
    import torch.nn as nn
    mods = list(model)
    if not mods or not isinstance(mods[-1], nn.Linear):
        raise ValueError("the model must end with an nn.Linear")
    shapes = []
    for i, m in enumerate(mods):
        want_linear = i % 2 == 0
        if want_linear and not isinstance(m, nn.Linear):
            raise ValueError(f"layer {i} should be nn.Linear, found {type(m).__name__}")
        if not want_linear and not isinstance(m, nn.Tanh):
            raise ValueError(f"layer {i} should be nn.Tanh, found {type(m).__name__}")
        if want_linear:
            if m.bias is None:
                raise ValueError(f"layer {i}: libhnn layers have biases")
            shapes.append((m.in_features, m.out_features))
    return shapes


def export(model, path, seed=0):
    """Write `model` (a Sequential of Linear/Tanh) as a libhnn model file."""
    shapes = layer_shapes(model)
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
    widths = [o for (_, o) in shapes[:-1]]
    # the format's caps (docs/format.md): a file over them would not load
    if not 1 <= len(widths) <= 16:
        raise ValueError(f"{len(widths)} hidden layers: libhnn takes 1 to 16")
    if n > 4096 or any(w > 1048576 for w in widths):
        raise ValueError("n over 4096 or a layer wider than 1048576: over libhnn's caps")
    for (i, o), prev in zip(shapes[1:], widths):
        if i != prev:
            raise ValueError("consecutive layers do not connect")
    params = []
    for m in model:
        if hasattr(m, "weight"):
            params.extend(m.weight.detach().double().reshape(-1).tolist())
            params.extend(m.bias.detach().double().reshape(-1).tolist())
    if not all(math.isfinite(v) for v in params):
        raise ValueError("a parameter is not finite")
    if len(params) > 1 << 27:
        raise ValueError(f"{len(params)} parameters: the format holds at most 2^27")
    body = bytearray(MAGIC)
    body += struct.pack("<6I", FORMAT_VERSION, 0, kind, 0, n, len(widths))
    body += struct.pack(f"<{len(widths)}I", *widths)
    body += struct.pack("<QQ", seed, len(params))
    body += struct.pack(f"<{len(params)}d", *params)
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
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
    ap.add_argument("--fixture", metavar="OUT_DIR", help="write the test fixture into OUT_DIR")
    args = ap.parse_args()
    if args.fixture is None:
        ap.print_help()
        return 2
    write_fixture(args.fixture)
    return 0


if __name__ == "__main__":
    sys.exit(main())
