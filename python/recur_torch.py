#!/usr/bin/python3
"""recur_torch: write a recur model file straight from a PyTorch nn.Module (stdlib + numpy + torch).

    from recur_torch import save_recur
    save_recur(model, "model.safetensors")            # then: recur predict --model model.safetensors ...

The file is recur's model format (DESIGN.md section 3, docs/FORMAT.md): safetensors, whose
__metadata__ holds {"recur.format": "1", "recur.model": <Keras-shaped architecture JSON>}, with the
weights as F32 tensors named <layer>/<weight> in Keras layouts (gate orders i,f,c,o and z,r,h).

What a model may be (docs/interop/pytorch.md): the layers, in the order forward() applies them, are
the module's children (an nn.Sequential, any nn.Module whose submodules were assigned in that
order, or a plain list of modules):

    [nn.Embedding]  one or more of nn.LSTM / nn.GRU / nn.RNN  then any of nn.Linear,
    nn.ReLU / nn.Tanh / nn.Sigmoid / nn.Softmax(dim=-1), nn.Dropout, nn.Identity

save_recur cannot read forward(); it assumes the usual one:
  * every recurrent module gets the previous module's output (its full output sequence);
  * the LAST recurrent module's output is used as `take` says: "last" (default) = the last time
    step, out[:, -1, :] — for a bidirectional module recur (like Keras) returns both directions'
    final states, torch.cat([h_n[-2], h_n[-1]], dim=1), which is NOT out[:, -1, :];
    "all" = every step, out;
  * Linear and the activations apply to the last axis; Dropout is inactive (inference).
recur models are batch-first: a batch_first=False module's recur model takes [N, T, F] input.
Modules outside this list raise UnsupportedModule naming the module.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

__all__ = ["save_recur", "UnsupportedModule"]

ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softmax: "softmax"}


class UnsupportedModule(ValueError):
    """A module save_recur cannot express as recur layers."""


def _f32(t):
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def _flatten(module):
    """(name, module) of each layer: a list/tuple as given, a single layer as itself, any other
    module by its children in registration order; nn.Sequential / nn.ModuleList are flattened."""
    if isinstance(module, (list, tuple)):
        named = [(str(k), m) for k, m in enumerate(module)]
    elif isinstance(module, (nn.LSTM, nn.GRU, nn.RNN, nn.Linear, nn.Embedding)):
        named = [("0", module)]
    else:
        named = list(module.named_children())
    out = []
    for n, m in named:
        if isinstance(m, (nn.Sequential, nn.ModuleList)):
            out += [(f"{n}.{cn}", c) for cn, c in _flatten(m)]
        else:
            out.append((n, m))
    return out


def _describe(name, m):
    return f"'{name}' ({type(m).__name__})"


def _rnn_weights(m, layer, reverse):
    """Keras-layout (kernel [in, G*H], recurrent_kernel [H, G*H], bias) for one direction of one
    layer of an nn.LSTM / nn.GRU / nn.RNN."""
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih = _f32(getattr(m, "weight_ih" + sfx))
    w_hh = _f32(getattr(m, "weight_hh" + sfx))
    H = m.hidden_size
    G = w_ih.shape[0] // H
    if m.bias:
        b_ih = _f32(getattr(m, "bias_ih" + sfx))
        b_hh = _f32(getattr(m, "bias_hh" + sfx))
    else:
        b_ih = np.zeros(G * H, np.float32)
        b_hh = np.zeros(G * H, np.float32)
    if isinstance(m, nn.GRU):
        # torch gate blocks r, z, n -> Keras z, r, h; reset_after bias rows: input, recurrent.
        order = [1, 0, 2]

        def blocks(a):
            return np.concatenate([a[g * H:(g + 1) * H] for g in order], axis=0)
        return (np.ascontiguousarray(blocks(w_ih).T), np.ascontiguousarray(blocks(w_hh).T),
                np.stack([blocks(b_ih), blocks(b_hh)]))
    # LSTM: torch i, f, g, o is Keras i, f, c, o. RNN: one block. One bias: b_ih + b_hh.
    return (np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T), b_ih + b_hh)


def save_recur(module, path, input_size=None, take="last", name="sequential"):
    """Writes `module` as a recur model file at `path` (atomically: path.tmp, then rename).

    module      nn.Sequential, an nn.Module whose children are the layers in order, or a list
    path        the .safetensors file to write
    input_size  features per step for float input (default: the first layer's input_size /
                in_features); not used when the first layer is an nn.Embedding (token ids)
    take        "last" or "all": what the model keeps of the last recurrent layer's output
    Returns the architecture (a dict, Keras-shaped). Raises UnsupportedModule / ValueError."""
    if take not in ("last", "all"):
        raise ValueError(f"take must be 'last' or 'all', got {take!r}")
    items = [(n, m) for n, m in _flatten(module) if not isinstance(m, (nn.Dropout, nn.Identity))]
    if not items:
        raise ValueError("save_recur: the module has no layers")
    for n, m in items:
        if not isinstance(m, (nn.LSTM, nn.GRU, nn.RNN, nn.Linear, nn.Embedding,
                              *ACTIVATIONS.keys())):
            raise UnsupportedModule(
                f"save_recur: unsupported module {_describe(n, m)}; supported: Embedding, LSTM, "
                "GRU, RNN, Linear, ReLU, Tanh, Sigmoid, Softmax(dim=-1), Dropout, Identity")
    last_rnn = max([k for k, (_, m) in enumerate(items) if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN))],
                   default=-1)

    layers, tensors = [], []
    counts = {}

    def new_name(base):
        k = counts.get(base, 0)
        counts[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    # The running feature size and rank ([N, T, F] = 3, [N, F] = 2) of the data.
    first_name, first = items[0]
    if isinstance(first, nn.Embedding):
        batch_shape = [None, None]
        feat = None
    else:
        declared = getattr(first, "input_size", getattr(first, "in_features", None))
        if input_size is not None and declared is not None and input_size != declared:
            raise ValueError(f"save_recur: input_size={input_size} but {_describe(first_name, first)} "
                             f"expects {declared} features")
        feat = input_size if input_size is not None else declared
        if feat is None:
            raise ValueError("save_recur: give input_size (the first layer does not say it)")
        batch_shape = [None, None, int(feat)]
    rank = 3

    for k, (n, m) in enumerate(items):
        where = _describe(n, m)
        if isinstance(m, nn.Embedding):
            if k != 0:
                raise UnsupportedModule(f"save_recur: {where} must be the first layer")
            if m.max_norm is not None:
                raise UnsupportedModule(f"save_recur: {where}: max_norm is not supported")
            nm = new_name("embedding")
            layers.append({"class_name": "Embedding", "config": {
                "name": nm, "input_dim": m.num_embeddings, "output_dim": m.embedding_dim}})
            tensors.append((f"{nm}/embeddings", _f32(m.weight)))
            feat = m.embedding_dim
        elif isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)):
            if rank != 3:
                raise UnsupportedModule(f"save_recur: {where} comes after the last step was taken")
            if getattr(m, "proj_size", 0):
                raise UnsupportedModule(f"save_recur: {where}: proj_size is not supported")
            if m.input_size != feat:
                raise ValueError(f"save_recur: {where} expects {m.input_size} input features, "
                                 f"the previous layer gives {feat}")
            cls = "LSTM" if isinstance(m, nn.LSTM) else "GRU" if isinstance(m, nn.GRU) else "SimpleRNN"
            for layer in range(m.num_layers):
                seqs = layer < m.num_layers - 1 or k != last_rnn or take == "all"
                cfg = {"units": m.hidden_size, "return_sequences": bool(seqs)}
                if cls == "SimpleRNN":
                    cfg["activation"] = m.nonlinearity  # "tanh" or "relu"
                if cls == "GRU":
                    cfg["reset_after"] = True
                base = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}[cls]
                if m.bidirectional:
                    nm = new_name("bidirectional")
                    cfg["name"] = nm
                    layers.append({"class_name": "Bidirectional", "config": {
                        "name": nm, "merge_mode": "concat",
                        "layer": {"class_name": cls, "config": cfg}}})
                    for d, half in enumerate(("forward", "backward")):
                        kern, rec, bias = _rnn_weights(m, layer, d == 1)
                        tensors += [(f"{nm}/{half}/kernel", kern),
                                    (f"{nm}/{half}/recurrent_kernel", rec),
                                    (f"{nm}/{half}/bias", bias)]
                    feat = 2 * m.hidden_size
                else:
                    nm = new_name(base)
                    cfg["name"] = nm
                    layers.append({"class_name": cls, "config": cfg})
                    kern, rec, bias = _rnn_weights(m, layer, False)
                    tensors += [(f"{nm}/kernel", kern), (f"{nm}/recurrent_kernel", rec),
                                (f"{nm}/bias", bias)]
                    feat = m.hidden_size
                rank = 3 if seqs else 2
        elif isinstance(m, nn.Linear):
            if m.in_features != feat:
                raise ValueError(f"save_recur: {where} expects {m.in_features} input features, "
                                 f"the previous layer gives {feat}")
            nm = new_name("dense")
            layers.append({"class_name": "Dense", "config": {
                "name": nm, "units": m.out_features, "activation": "linear",
                "use_bias": m.bias is not None}})
            tensors.append((f"{nm}/kernel", np.ascontiguousarray(_f32(m.weight).T)))
            if m.bias is not None:
                tensors.append((f"{nm}/bias", _f32(m.bias)))
            feat = m.out_features
        else:  # an activation
            act = ACTIVATIONS[type(m)]
            if act == "softmax" and m.dim not in (-1, rank - 1):
                raise UnsupportedModule(f"save_recur: {where}: softmax over dim {m.dim}; only the "
                                        "last (feature) axis is supported")
            prev = layers[-1] if layers else None
            if prev and prev["class_name"] == "Dense" and prev["config"]["activation"] == "linear":
                prev["config"]["activation"] = act
            else:
                # Nothing to fold into: an identity Dense carries the activation (x·I is exact).
                if feat is None:
                    raise UnsupportedModule(f"save_recur: {where} cannot come first")
                nm = new_name("activation")
                layers.append({"class_name": "Dense", "config": {
                    "name": nm, "units": feat, "activation": act, "use_bias": False}})
                tensors.append((f"{nm}/kernel", np.eye(feat, dtype=np.float32)))
    layers[0]["config"]["batch_input_shape"] = batch_shape
    arch = {"class_name": "Sequential", "config": {"name": name, "layers": layers}}
    _write_safetensors(path, {"recur.format": "1", "recur.model": json.dumps(arch)}, tensors)
    return arch


def _write_safetensors(path, metadata, tensors):
    """safetensors: 8-byte little-endian header length, JSON header padded with spaces to a
    multiple of 8, then the tensors' bytes in order (F32, C order, little-endian)."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for tname, a in tensors:
        a = np.ascontiguousarray(a, dtype="<f4")
        header[tname] = {"dtype": "F32", "shape": list(a.shape),
                         "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class _Demo(nn.Module):
    """The documented model shape: Embedding -> 2-layer LSTM -> Linear -> Softmax, last step."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.rnn = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 3)
        self.act = nn.Softmax(dim=-1)

    def forward(self, ids):
        out, _ = self.rnn(self.embed(ids))
        return self.act(self.fc(out[:, -1, :]))


def _main(argv):
    out_dir = argv[1] if len(argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = _Demo().eval()
    ids = torch.randint(0, 30, (4, 7))
    with torch.no_grad():
        probs = model(ids)
    path = os.path.join(out_dir, "demo.safetensors")
    save_recur(model, path)
    np.save(os.path.join(out_dir, "demo_x.npy"), ids.numpy())
    np.save(os.path.join(out_dir, "demo_y.npy"), probs.numpy())
    print(f"wrote {path}, demo_x.npy (token ids [4, 7]) and demo_y.npy (torch's output)\n"
          f"try: recur predict --model {path} --input {os.path.join(out_dir, 'demo_x.npy')} "
          f"--output /tmp/demo_pred.npy")


if __name__ == "__main__":
    _main(sys.argv)
