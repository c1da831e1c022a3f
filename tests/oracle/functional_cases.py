#!/usr/bin/python3
"""Functional-model parity fixtures computed by PyTorch (nn.LSTM / nn.GRU / nn.Linear). Usage:

    /usr/bin/python3 tests/oracle/functional_cases.py OUT_DIR

Writes one folder per case and prints one line per case; every case is seeded from a hash of its
name, so running it twice gives identical files. tests/oracle/functional_parity_test.cpp loads
each model with recur::load_model, runs forward_batch / backward_batch and compares the output,
every weight gradient and every input gradient.

The graphs are the functional API's two reasons to exist:
  - seq2seq: an encoder whose final states (h, c) start a decoder (nn.LSTM(x_dec, (h_n, c_n))),
    then a Dense on every decoder step; the gradient reaches the encoder through the states only.
    A masked variant post-pads the encoder input (Keras Masking; PyTorch pack_padded_sequence,
    whose h_n is the state at each sequence's last real step).
  - branches: an LSTM and a GRU on one input, their last outputs concatenated into one Dense;
    and two inputs whose per-step LSTM / GRU outputs are added.

One folder per case, `<OUT_DIR>/<case name>/`:

| file | content |
|---|---|
| `case.json` | `{"name", "oracle": "torch-functional", "description", "inputs": number of inputs, "atol", "grad_atol", "grad_rtol"}` |
| `model.safetensors` | the model in the binding recur format (DESIGN.md section 3): `recur.model` is a Keras 2 functional config written here by hand (initial states as extra inbound tensors, as tf.keras 2 writes them); tensors in Keras layouts |
| `x0.npy`, `x1.npy`, ... | float32 inputs, batch-first `[N, T, F]`, in the model's input order |
| `dy.npy` | float32 upstream gradient shaped like the output; the scalar is `sum(y * dy)` |
| `expected.safetensors` | `y` (batch-first), `grad/<layer>/<weight>` for every weight (Keras layout), `grad/input/<i>` for every input |

Weights are uniform in +-0.5 (float32 values), inputs standard normal; the reference runs in
float64. Keras <-> PyTorch layouts as DESIGN.md section 3: LSTM kernel = weight_ih^T (gates i, f,
c, o = PyTorch i, f, g, o), bias = bias_ih + bias_hh; GRU (reset_after) blocks z, r, h = PyTorch
z, r, n reordered from r, z, n, bias[0] = bias_ih, bias[1] = bias_hh; Dense kernel = weight^T.
"""

import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_writer import (prepare_case_dir, remove_stale_cases, write_case_json,  # noqa: E402
                            write_npy, write_safetensors)

ORACLE = 'torch-functional'


def seed_of(name):
    return int.from_bytes(hashlib.sha256(name.encode('utf-8')).digest()[:4], 'little')


# ---- Keras 2 functional config ------------------------------------------------------------------

def input_layer(name, features):
    return {'class_name': 'InputLayer',
            'config': {'batch_input_shape': [None, None, features], 'dtype': 'float32',
                       'sparse': False, 'ragged': False, 'name': name},
            'name': name, 'inbound_nodes': []}


def layer(class_name, config, inbound):
    """inbound: [(layer name, tensor index), ...] -> one Keras 2 inbound node."""
    return {'class_name': class_name, 'config': config, 'name': config['name'],
            'inbound_nodes': [[[n, 0, i, {}] for n, i in inbound]]}


def rnn_config(name, units, return_sequences=False, return_state=False):
    return {'name': name, 'trainable': True, 'dtype': 'float32', 'units': units,
            'return_sequences': return_sequences, 'return_state': return_state,
            'activation': 'tanh', 'recurrent_activation': 'sigmoid', 'use_bias': True}


def model_json(name, layers, inputs, outputs):
    return {'class_name': 'Functional',
            'config': {'name': name, 'layers': layers,
                       'input_layers': [[n, 0, 0] for n in inputs],
                       'output_layers': [[n, 0, i] for n, i in outputs]}}


# ---- Weights, Keras layouts <-> PyTorch modules ------------------------------------------------

def uniform(rng, shape):
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


def rnn_weights(rng, kind, name, features, units, weights):
    g = 4 if kind == 'LSTM' else 3
    weights[name + '/kernel'] = uniform(rng, (features, g * units))
    weights[name + '/recurrent_kernel'] = uniform(rng, (units, g * units))
    weights[name + '/bias'] = uniform(rng, (g * units,) if kind == 'LSTM' else (2, g * units))


def dense_weights(rng, name, features, units, weights):
    weights[name + '/kernel'] = uniform(rng, (features, units))
    weights[name + '/bias'] = uniform(rng, (units,))


def swap_zr(a, axis):
    """GRU gate blocks: Keras (z, r, h) <-> PyTorch (r, z, n) (the swap is its own inverse)."""
    z, r, h = np.split(a, 3, axis=axis)
    return np.concatenate([r, z, h], axis=axis)


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def torch_rnn(kind, name, weights):
    k, rk, b = (weights[name + '/' + w] for w in ('kernel', 'recurrent_kernel', 'bias'))
    features, units = k.shape[0], rk.shape[0]
    mod = (torch.nn.LSTM if kind == 'LSTM' else torch.nn.GRU)(features, units, batch_first=True)
    mod = mod.double()
    with torch.no_grad():
        if kind == 'LSTM':
            mod.weight_ih_l0.copy_(t64(k.T))
            mod.weight_hh_l0.copy_(t64(rk.T))
            mod.bias_ih_l0.copy_(t64(b))
            mod.bias_hh_l0.zero_()
        else:
            mod.weight_ih_l0.copy_(t64(swap_zr(k, 1).T))
            mod.weight_hh_l0.copy_(t64(swap_zr(rk, 1).T))
            mod.bias_ih_l0.copy_(t64(swap_zr(b[0], 0)))
            mod.bias_hh_l0.copy_(t64(swap_zr(b[1], 0)))
    return mod


def rnn_grads(kind, name, mod, grads):
    gih, ghh = mod.weight_ih_l0.grad.numpy(), mod.weight_hh_l0.grad.numpy()
    gbi, gbh = mod.bias_ih_l0.grad.numpy(), mod.bias_hh_l0.grad.numpy()
    if kind == 'LSTM':
        grads[name + '/kernel'] = gih.T
        grads[name + '/recurrent_kernel'] = ghh.T
        grads[name + '/bias'] = gbi  # bias = bias_ih + bias_hh: the same gradient as either
    else:
        grads[name + '/kernel'] = swap_zr(gih.T, 1)
        grads[name + '/recurrent_kernel'] = swap_zr(ghh.T, 1)
        grads[name + '/bias'] = np.stack([swap_zr(gbi, 0), swap_zr(gbh, 0)])


def torch_dense(name, weights):
    k, b = weights[name + '/kernel'], weights[name + '/bias']
    mod = torch.nn.Linear(k.shape[0], k.shape[1]).double()
    with torch.no_grad():
        mod.weight.copy_(t64(k.T))
        mod.bias.copy_(t64(b))
    return mod


def dense_grads(name, mod, grads):
    grads[name + '/kernel'] = mod.weight.grad.numpy().T
    grads[name + '/bias'] = mod.bias.grad.numpy()


def run_rnn(mod, x, lengths=None, init=None):
    """x [N, T, F]; lengths: real steps per row (post-padding) or None. Returns (outputs, states):
    states are (h_n, c_n) for LSTM, h_n for GRU, each [1, N, H], at each row's last real step."""
    if lengths is None:
        return mod(x, init)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out, states = mod(packed, init)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, states


# ---- Cases ---------------------------------------------------------------------------------------

def seq2seq_case(name, kind, masked):
    rng = np.random.default_rng(seed_of(name))
    n, t1, t2, f1, f2, units, out = 3, 6, 4, 3, 2, 5, 2
    weights = {}
    rnn_weights(rng, kind, 'enc', f1, units, weights)
    rnn_weights(rng, kind, 'dec', f2, units, weights)
    dense_weights(rng, 'out', units, out, weights)
    lengths = [t1, t1 - 2, 2] if masked else None
    x_enc = rng.standard_normal((n, t1, f1)).astype(np.float32)
    if masked:
        for row, length in enumerate(lengths):
            x_enc[row, length:] = 0.0
    x_dec = rng.standard_normal((n, t2, f2)).astype(np.float32)
    dy = rng.standard_normal((n, t2, out)).astype(np.float32)

    states = [('enc', 1), ('enc', 2)] if kind == 'LSTM' else [('enc', 1)]
    enc_source = 'enc_mask' if masked else 'enc_in'
    layers = [input_layer('enc_in', f1)]
    if masked:
        layers.append(layer('Masking', {'name': 'enc_mask', 'mask_value': 0.0},
                            [('enc_in', 0)]))
    layers += [layer(kind, rnn_config('enc', units, return_state=True), [(enc_source, 0)]),
               input_layer('dec_in', f2),
               layer(kind, rnn_config('dec', units, return_sequences=True),
                     [('dec_in', 0)] + states),
               layer('Dense', {'name': 'out', 'units': out, 'activation': 'linear'},
                     [('dec', 0)])]
    model = model_json(name, layers, ['enc_in', 'dec_in'], [('out', 0)])

    enc, dec, dense = torch_rnn(kind, 'enc', weights), torch_rnn(kind, 'dec', weights), \
        torch_dense('out', weights)
    xe, xd = t64(x_enc).requires_grad_(), t64(x_dec).requires_grad_()
    _, s = run_rnn(enc, xe, lengths)
    h, _ = run_rnn(dec, xd, None, s)
    y = dense(h)
    (y * t64(dy)).sum().backward()
    grads = {}
    rnn_grads(kind, 'enc', enc, grads)
    rnn_grads(kind, 'dec', dec, grads)
    dense_grads('out', dense, grads)
    description = (f'{kind} encoder ({f1} -> {units}, return_state) whose final states start a '
                   f'{kind} decoder ({f2} -> {units}, return_sequences), then Dense({out})' +
                   (', encoder input post-padded (Masking / pack_padded_sequence)' if masked
                    else ''))
    return model, weights, [x_enc, x_dec], dy, y, grads, [xe.grad, xd.grad], description


def branches_case(name):
    rng = np.random.default_rng(seed_of(name))
    n, t, f, u1, u2, out = 4, 5, 3, 4, 3, 2
    weights = {}
    rnn_weights(rng, 'LSTM', 'lstm', f, u1, weights)
    rnn_weights(rng, 'GRU', 'gru', f, u2, weights)
    dense_weights(rng, 'out', u1 + u2, out, weights)
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    dy = rng.standard_normal((n, out)).astype(np.float32)
    layers = [input_layer('x', f),
              layer('LSTM', rnn_config('lstm', u1), [('x', 0)]),
              layer('GRU', rnn_config('gru', u2), [('x', 0)]),
              layer('Concatenate', {'name': 'cat', 'axis': -1}, [('lstm', 0), ('gru', 0)]),
              layer('Dense', {'name': 'out', 'units': out, 'activation': 'tanh'}, [('cat', 0)])]
    model = model_json(name, layers, ['x'], [('out', 0)])
    lstm, gru, dense = torch_rnn('LSTM', 'lstm', weights), torch_rnn('GRU', 'gru', weights), \
        torch_dense('out', weights)
    xt = t64(x).requires_grad_()
    a, _ = lstm(xt)
    b, _ = gru(xt)
    y = torch.tanh(dense(torch.cat([a[:, -1], b[:, -1]], dim=1)))
    (y * t64(dy)).sum().backward()
    grads = {}
    rnn_grads('LSTM', 'lstm', lstm, grads)
    rnn_grads('GRU', 'gru', gru, grads)
    dense_grads('out', dense, grads)
    description = (f'LSTM({u1}) and GRU({u2}) on one input, last outputs concatenated into '
                   f'Dense({out}, tanh): LSTM and GRU trained together')
    return model, weights, [x], dy, y, grads, [xt.grad], description


def add_case(name):
    rng = np.random.default_rng(seed_of(name))
    n, t, f1, f2, units, out = 3, 4, 3, 2, 4, 2
    weights = {}
    rnn_weights(rng, 'LSTM', 'lstm', f1, units, weights)
    rnn_weights(rng, 'GRU', 'gru', f2, units, weights)
    dense_weights(rng, 'out', units, out, weights)
    x1 = rng.standard_normal((n, t, f1)).astype(np.float32)
    x2 = rng.standard_normal((n, t, f2)).astype(np.float32)
    dy = rng.standard_normal((n, t, out)).astype(np.float32)
    layers = [input_layer('x1', f1), input_layer('x2', f2),
              layer('LSTM', rnn_config('lstm', units, return_sequences=True), [('x1', 0)]),
              layer('GRU', rnn_config('gru', units, return_sequences=True), [('x2', 0)]),
              layer('Add', {'name': 'add'}, [('lstm', 0), ('gru', 0)]),
              layer('Dense', {'name': 'out', 'units': out, 'activation': 'linear'},
                    [('add', 0)])]
    model = model_json(name, layers, ['x1', 'x2'], [('out', 0)])
    lstm, gru, dense = torch_rnn('LSTM', 'lstm', weights), torch_rnn('GRU', 'gru', weights), \
        torch_dense('out', weights)
    a1, a2 = t64(x1).requires_grad_(), t64(x2).requires_grad_()
    y = dense(lstm(a1)[0] + gru(a2)[0])
    (y * t64(dy)).sum().backward()
    grads = {}
    rnn_grads('LSTM', 'lstm', lstm, grads)
    rnn_grads('GRU', 'gru', gru, grads)
    dense_grads('out', dense, grads)
    description = 'two inputs: per-step LSTM and GRU outputs added, then Dense per step'
    return model, weights, [x1, x2], dy, y, grads, [a1.grad, a2.grad], description


CASES = {
    'seq2seq_lstm': lambda n: seq2seq_case(n, 'LSTM', False),
    'seq2seq_gru': lambda n: seq2seq_case(n, 'GRU', False),
    'seq2seq_lstm_masked_encoder': lambda n: seq2seq_case(n, 'LSTM', True),
    'seq2seq_gru_masked_encoder': lambda n: seq2seq_case(n, 'GRU', True),
    'branches_lstm_gru_concat_dense': branches_case,
    'add_two_inputs_per_step': add_case,
}


def main(argv):
    if len(argv) != 2:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    remove_stale_cases(out_dir, ORACLE, set(CASES))
    torch.set_grad_enabled(True)
    for name, make in CASES.items():
        model, weights, xs, dy, y, grads, dxs, description = make(name)
        case_dir = prepare_case_dir(out_dir, name)
        meta = {'recur.format': '1', 'recur.model': json.dumps(model)}
        write_safetensors(os.path.join(case_dir, 'model.safetensors'), weights, meta)
        for i, x in enumerate(xs):
            write_npy(os.path.join(case_dir, f'x{i}.npy'), x)
        write_npy(os.path.join(case_dir, 'dy.npy'), dy)
        expected = {'y': y.detach().numpy().astype(np.float32)}
        for k, g in grads.items():
            expected['grad/' + k] = np.ascontiguousarray(g).astype(np.float32)
        for i, g in enumerate(dxs):
            expected[f'grad/input/{i}'] = g.numpy().astype(np.float32)
        write_safetensors(os.path.join(case_dir, 'expected.safetensors'), expected)
        write_case_json(case_dir, {'name': name, 'oracle': ORACLE, 'description': description,
                                   'inputs': len(xs), 'atol': 1e-5, 'grad_atol': 2e-5,
                                   'grad_rtol': 1e-4})
        print(f'{name}: {description}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
