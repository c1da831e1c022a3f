#!/usr/bin/python3
"""Oracle fixtures computed by PyTorch (nn.RNN / nn.LSTM / nn.GRU, autograd). Usage:

    /usr/bin/python3 tests/oracle/torch_cases.py OUT_DIR

Writes one folder per case in the format of tests/oracle/README.md and prints one line per case.
Everything is seeded (each case from a hash of its name): running it twice gives identical files.

How a case is computed:
  1. Random weights are drawn in the Keras layouts of the model file (DESIGN.md section 3), as
     float32, uniform in +-0.5 (embeddings +-1); inputs and dy are standard normal float32.
  2. The weights are mapped to PyTorch modules (batch_first) and the model is run in float64 on
     exactly those float32 values; autograd of sum(y * dy) gives every gradient, which is mapped
     back to the Keras layouts. The float64 results, rounded to float32, are the fixture.
     Variable lengths use pack_padded_sequence(enforce_sorted=False); the outputs at padded steps
     are then rewritten to what Keras gives there (see below).
  3. Self-checks, so that a mapping mistake cannot slip into the fixtures:
     - an independent numpy implementation of the Keras formulas, reading the model file's
       tensors and Keras semantics (masking included), must reproduce y and the final states;
     - for every gradient tensor, a central difference of that numpy model along a random
       direction must match the dot product of the gradient with that direction;
     - the same PyTorch model run in float32 must agree with the fixture within the case's
       tolerances (so the tolerances are achievable by a float32 implementation).

Keras semantics at padded steps (post-padding, Masking(0.0) first): the state is carried over;
a plain recurrent layer with return_sequences repeats its last real output there, while
Bidirectional with return_sequences outputs zeros (Python Keras forces zero_output_for_mask).
Layers after it see those values (a per-step Dense turns them into Dense(...) values). dy is zero
at padded steps, so the gradients do not depend on what is there.
"""

import json
import os
import sys
import time
import zlib

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean (no __pycache__ for the helper)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_writer import (  # noqa: E402
    prepare_case_dir, remove_stale_cases, write_case_json, write_npy, write_safetensors)

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

ORACLE = 'torch'
GATES = {'lstm': 4, 'gru': 3, 'simple_rnn': 1}
KERAS_CLASS = {
    'lstm': 'LSTM', 'gru': 'GRU', 'simple_rnn': 'SimpleRNN', 'bidirectional': 'Bidirectional',
    'dense': 'Dense', 'embedding': 'Embedding', 'masking': 'Masking',
}


# ------------------------------------------------------------------------------------------------
# Layer specifications (names are assigned per case, Keras style: lstm, lstm_1, ...)

def lstm(units, seq=False):
    return {'type': 'lstm', 'units': units, 'seq': seq, 'activation': 'tanh'}


def gru(units, seq=False):
    return {'type': 'gru', 'units': units, 'seq': seq, 'activation': 'tanh'}


def srnn(units, seq=False, activation='tanh'):
    return {'type': 'simple_rnn', 'units': units, 'seq': seq, 'activation': activation}


def bidi(layer):
    return {'type': 'bidirectional', 'layer': layer}


def dense(units):
    return {'type': 'dense', 'units': units}


def masking():
    return {'type': 'masking'}


def embedding(input_dim, output_dim):
    return {'type': 'embedding', 'input_dim': input_dim, 'output_dim': output_dim}


def is_recurrent(spec):
    return spec['type'] in GATES or spec['type'] == 'bidirectional'


def cell_of(spec):
    return spec['layer'] if spec['type'] == 'bidirectional' else spec


def assign_names(layers):
    """Copies the specs and names them like Keras does (first 'lstm', then 'lstm_1', ...)."""
    counts = {}

    def name_for(kind):
        k = counts.get(kind, 0)
        counts[kind] = k + 1
        return kind if k == 0 else f'{kind}_{k}'

    out = []
    for spec in layers:
        s = dict(spec)
        if s['type'] == 'bidirectional':
            s['layer'] = dict(s['layer'], name=name_for(s['layer']['type']))
        s['name'] = name_for(s['type'])
        out.append(s)
    return out


def keras_config(spec):
    t = spec['type']
    if t in GATES:
        c = {'name': spec['name'], 'units': spec['units'], 'activation': spec['activation']}
        if t != 'simple_rnn':
            c['recurrent_activation'] = 'sigmoid'
        c.update({'use_bias': True, 'return_sequences': spec['seq'], 'return_state': False,
                  'go_backwards': False, 'stateful': False, 'dropout': 0.0,
                  'recurrent_dropout': 0.0})
        if t == 'gru':
            c['reset_after'] = True
        return c
    if t == 'bidirectional':
        inner = spec['layer']
        return {'name': spec['name'], 'merge_mode': 'concat',
                'layer': {'class_name': KERAS_CLASS[inner['type']], 'config': keras_config(inner)}}
    if t == 'dense':
        return {'name': spec['name'], 'units': spec['units'], 'activation': 'linear',
                'use_bias': True}
    if t == 'embedding':
        return {'name': spec['name'], 'input_dim': spec['input_dim'],
                'output_dim': spec['output_dim'], 'mask_zero': False}
    if t == 'masking':
        return {'name': spec['name'], 'mask_value': 0.0}
    raise ValueError(f'unknown layer type {t}')


def keras_model_json(layers, feature_dim):
    out = []
    for i, spec in enumerate(layers):
        config = keras_config(spec)
        if i == 0:
            shape = [None, None] if spec['type'] == 'embedding' else [None, None, feature_dim]
            config = {'batch_input_shape': shape, **config}
        out.append({'class_name': KERAS_CLASS[spec['type']], 'config': config})
    return json.dumps({'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': out}})


# ------------------------------------------------------------------------------------------------
# Weights in Keras layouts, and their mapping to and from PyTorch

def cell_prefixes(spec):
    """(model-file prefix, PyTorch parameter suffix) for each direction of a recurrent layer."""
    if spec['type'] == 'bidirectional':
        return [(f"{spec['name']}/forward", ''), (f"{spec['name']}/backward", '_reverse')]
    return [(spec['name'], '')]


def make_weights(layers, feature_dim, rng):
    """Random float32 weights, {model-file name: array}, and the output width of the model."""
    tensors = {}
    width = feature_dim

    def uniform(shape, scale=0.5):
        return rng.uniform(-scale, scale, size=shape).astype(np.float32)

    for spec in layers:
        t = spec['type']
        if t == 'embedding':
            tensors[f"{spec['name']}/embeddings"] = uniform((spec['input_dim'], spec['output_dim']),
                                                            1.0)
            width = spec['output_dim']
        elif is_recurrent(spec):
            cell = cell_of(spec)
            u, g = cell['units'], GATES[cell['type']]
            for prefix, _ in cell_prefixes(spec):
                tensors[f'{prefix}/kernel'] = uniform((width, g * u))
                tensors[f'{prefix}/recurrent_kernel'] = uniform((u, g * u))
                tensors[f'{prefix}/bias'] = uniform((2, g * u) if cell['type'] == 'gru' else (g * u,))
            width = u * (2 if t == 'bidirectional' else 1)
        elif t == 'dense':
            tensors[f"{spec['name']}/kernel"] = uniform((width, spec['units']))
            tensors[f"{spec['name']}/bias"] = uniform((spec['units'],))
            width = spec['units']
    return tensors


def gru_swap(a, axis):
    """Swaps the first two of the three gate blocks along `axis`: Keras (z, r, h) <-> PyTorch
    (r, z, n). The permutation is its own inverse, so it maps both ways."""
    z, r, h = np.split(a, 3, axis=axis)
    return np.concatenate([r, z, h], axis=axis)


def keras_to_torch(cell_type, kernel, recurrent, bias):
    """-> weight_ih [G*u, in], weight_hh [G*u, u], bias_ih, bias_hh (numpy)."""
    if cell_type == 'gru':
        return (gru_swap(kernel, 1).T, gru_swap(recurrent, 1).T,
                gru_swap(bias[0], 0), gru_swap(bias[1], 0))
    # LSTM (i, f, c, o) == PyTorch (i, f, g, o); SimpleRNN: one block. PyTorch adds two biases:
    # split the Keras bias in halves (exact in binary floating point, so they sum back exactly).
    return kernel.T, recurrent.T, bias / 2, bias / 2


def torch_to_keras_grads(cell_type, g_ih, g_hh, g_bih, g_bhh):
    """Gradients of the PyTorch parameters -> gradients of kernel, recurrent_kernel, bias."""
    if cell_type == 'gru':
        return (gru_swap(g_ih.T, 1), gru_swap(g_hh.T, 1),
                np.stack([gru_swap(g_bih, 0), gru_swap(g_bhh, 0)]))
    # Keras bias = bias_ih + bias_hh, and both PyTorch biases enter the same sum.
    tol = 1e-12 if g_bih.dtype == np.float64 else 1e-5
    if np.max(np.abs(g_bih - g_bhh)) > tol * (1.0 + np.max(np.abs(g_bih))):
        raise AssertionError('PyTorch bias_ih and bias_hh gradients differ')
    return g_ih.T, g_hh.T, g_bih


# ------------------------------------------------------------------------------------------------
# The PyTorch model

class TorchModel:
    def __init__(self, layers, tensors, feature_dim, dtype):
        self.layers = layers
        self.dtype = dtype
        self.modules = []
        width = feature_dim
        for spec in layers:
            t = spec['type']
            mod = None
            if t == 'embedding':
                mod = nn.Embedding(spec['input_dim'], spec['output_dim'])
                self._set(mod.weight, tensors[f"{spec['name']}/embeddings"])
                width = spec['output_dim']
            elif is_recurrent(spec):
                cell = cell_of(spec)
                u = cell['units']
                kw = {'input_size': width, 'hidden_size': u, 'batch_first': True,
                      'bidirectional': t == 'bidirectional'}
                if cell['type'] == 'lstm':
                    mod = nn.LSTM(**kw)
                elif cell['type'] == 'gru':
                    mod = nn.GRU(**kw)
                else:
                    mod = nn.RNN(nonlinearity=cell['activation'], **kw)
                mod = mod.to(dtype)
                for prefix, suffix in cell_prefixes(spec):
                    mapped = keras_to_torch(cell['type'], tensors[f'{prefix}/kernel'],
                                            tensors[f'{prefix}/recurrent_kernel'],
                                            tensors[f'{prefix}/bias'])
                    for pname, value in zip(('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'),
                                            mapped):
                        self._set(getattr(mod, f'{pname}_l0{suffix}'), value)
                width = u * (2 if t == 'bidirectional' else 1)
            elif t == 'dense':
                mod = nn.Linear(width, spec['units'])
                self._set(mod.weight, tensors[f"{spec['name']}/kernel"].T)
                self._set(mod.bias, tensors[f"{spec['name']}/bias"])
                width = spec['units']
            if mod is not None:
                mod = mod.to(dtype)
            self.modules.append(mod)

    def _set(self, param, value):
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    def forward(self, x, lengths, init):
        """x: [N, T, F] float tensor or [N, T] ids; lengths: list or None; init: list of [N, u]
        tensors for the single recurrent layer, or None. Returns y and the final states."""
        h = x
        finals = None
        for spec, mod in zip(self.layers, self.modules):
            t = spec['type']
            if t == 'masking':
                continue  # the padded steps are zeros already; packing does the masking
            if t in ('embedding', 'dense'):
                h = mod(h)
                continue
            cell = cell_of(spec)
            hx = None
            if init is not None:
                hx = tuple(s.unsqueeze(0) for s in init) if cell['type'] == 'lstm' else init[0][None]
            steps = h.shape[1]
            if lengths is not None:
                packed = pack_padded_sequence(h, torch.as_tensor(lengths, dtype=torch.int64),
                                              batch_first=True, enforce_sorted=False)
                out_packed, hn = mod(packed, hx)
                out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=steps)
            else:
                out, hn = mod(h, hx)
            h_n = hn[0] if cell['type'] == 'lstm' else hn  # [directions, N, u]
            if init is not None:
                finals = [h_n[0]] + ([hn[1][0]] if cell['type'] == 'lstm' else [])
            if cell['seq']:
                if lengths is not None and t != 'bidirectional':
                    # Keras repeats the last real output at padded steps (PyTorch gives zeros).
                    idx = torch.tensor([[min(s, n - 1) for s in range(steps)] for n in lengths])
                    out = torch.gather(out, 1, idx[:, :, None].expand(-1, -1, out.shape[2]))
                h = out  # bidirectional: zeros at padded steps, as in Keras
            else:
                h = torch.cat([h_n[0], h_n[1]], dim=-1) if t == 'bidirectional' else h_n[0]
        return h, finals

    def keras_grads(self):
        """Gradients of every weight, {model-file name: array}, after backward()."""
        out = {}
        for spec, mod in zip(self.layers, self.modules):
            t = spec['type']
            if t == 'embedding':
                out[f"{spec['name']}/embeddings"] = mod.weight.grad.numpy()
            elif t == 'dense':
                out[f"{spec['name']}/kernel"] = mod.weight.grad.numpy().T
                out[f"{spec['name']}/bias"] = mod.bias.grad.numpy()
            elif is_recurrent(spec):
                for prefix, suffix in cell_prefixes(spec):
                    g = [getattr(mod, f'{p}_l0{suffix}').grad.numpy()
                         for p in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh')]
                    k, r, b = torch_to_keras_grads(cell_of(spec)['type'], *g)
                    out[f'{prefix}/kernel'] = k
                    out[f'{prefix}/recurrent_kernel'] = r
                    out[f'{prefix}/bias'] = b
        return {k: np.ascontiguousarray(v) for k, v in out.items()}


def run_torch(layers, tensors, feature_dim, x, lengths, init, dy, dtype):
    """Forward and backward in the given dtype. Returns y, final states, and the gradients
    (Keras names, plus 'input' and 'initial_state/k')."""
    model = TorchModel(layers, tensors, feature_dim, dtype)
    if x.dtype == np.int64:
        xt = torch.from_numpy(x)
    else:
        xt = torch.from_numpy(x).to(dtype).requires_grad_(True)
    it = None
    if init is not None:
        it = [torch.from_numpy(s).to(dtype).requires_grad_(True) for s in init]
    y, finals = model.forward(xt, lengths, it)
    (y * torch.from_numpy(dy).to(dtype)).sum().backward()
    grads = model.keras_grads()
    if xt.requires_grad:
        grads['input'] = xt.grad.numpy()
    if it is not None:
        for k, s in enumerate(it):
            grads[f'initial_state/{k}'] = s.grad.numpy()
    finals = None if finals is None else [f.detach().numpy() for f in finals]
    return y.detach().numpy(), finals, grads


# ------------------------------------------------------------------------------------------------
# Independent numpy implementation of the Keras formulas (float64), reading Keras layouts

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


NP_ACT = {'tanh': np.tanh, 'relu': lambda z: np.maximum(z, 0.0), 'sigmoid': _sigmoid,
          'linear': lambda z: z}


def np_recurrent(cell, kernel, recurrent, bias, x, mask, init, reverse):
    """One Keras recurrent layer. Returns (outputs [N, T, u] in time order, last output, states)."""
    n, steps, _ = x.shape
    u = recurrent.shape[0]
    act = NP_ACT[cell['activation']]
    h = np.zeros((n, u)) if init is None else init[0]
    c = np.zeros((n, u)) if init is None or len(init) < 2 else init[1]
    prev = np.zeros((n, u))
    outs = np.zeros((n, steps, u))
    for t in (reversed(range(steps)) if reverse else range(steps)):
        xt = x[:, t]
        c_new = c
        if cell['type'] == 'lstm':
            z = xt @ kernel + h @ recurrent + bias
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            c_new = _sigmoid(f) * c + _sigmoid(i) * act(g)
            h_new = _sigmoid(o) * act(c_new)
        elif cell['type'] == 'gru':  # reset_after=True
            mx = xt @ kernel + bias[0]
            mh = h @ recurrent + bias[1]
            z = _sigmoid(mx[:, :u] + mh[:, :u])
            r = _sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
            cand = act(mx[:, 2 * u:] + r * mh[:, 2 * u:])
            h_new = z * h + (1.0 - z) * cand
        else:
            h_new = act(xt @ kernel + h @ recurrent + bias)
        if mask is not None:
            m = mask[:, t, None]
            h, c, out = np.where(m, h_new, h), np.where(m, c_new, c), np.where(m, h_new, prev)
        else:
            h, c, out = h_new, c_new, h_new
        outs[:, t] = out
        prev = out
    return outs, prev, ([h, c] if cell['type'] == 'lstm' else [h])


def np_forward(layers, tensors, x, init):
    """The Keras Sequential model on float64 numpy arrays. Returns y and the final states of the
    (single) recurrent layer when init is given."""
    h = x
    mask = None
    finals = None
    for spec in layers:
        t, name = spec['type'], spec['name']
        if t == 'masking':
            mask = np.any(h != 0.0, axis=-1)
            h = h * mask[..., None]
        elif t == 'embedding':
            h = tensors[f'{name}/embeddings'][h]
            mask = None  # mask_zero=False
        elif t == 'dense':
            h = h @ tensors[f'{name}/kernel'] + tensors[f'{name}/bias']
        else:
            cell = cell_of(spec)
            results = []
            for (prefix, _), reverse in zip(cell_prefixes(spec), (False, True)):
                results.append(np_recurrent(cell, tensors[f'{prefix}/kernel'],
                                            tensors[f'{prefix}/recurrent_kernel'],
                                            tensors[f'{prefix}/bias'], h, mask, init, reverse))
            if init is not None:
                finals = results[0][2]
            if cell['seq']:
                h = np.concatenate([r[0] for r in results], axis=-1)
                if t == 'bidirectional' and mask is not None:
                    h = h * mask[..., None]  # Keras forces zero_output_for_mask here
            else:
                h = np.concatenate([r[1] for r in results], axis=-1)
                mask = None
    return h, finals


def check_against_numpy(case, layers, tensors, x, init, dy, y, finals, grads, rng):
    """Asserts that the numpy Keras model reproduces PyTorch's results (all in float64)."""
    t64 = {k: v.astype(np.float64) for k, v in tensors.items()}
    x64 = x if x.dtype == np.int64 else x.astype(np.float64)
    i64 = None if init is None else [s.astype(np.float64) for s in init]
    y_np, finals_np = np_forward(layers, t64, x64, i64)
    err = np.max(np.abs(y_np - y))
    if err > 1e-9:
        raise AssertionError(f"{case['name']}: numpy Keras model differs from PyTorch by {err:.3g}")
    for k, f in enumerate(finals or []):
        err = np.max(np.abs(finals_np[k] - f))
        if err > 1e-9:
            raise AssertionError(f"{case['name']}: final state {k} differs from numpy by {err:.3g}")

    # Directional derivatives, one tensor at a time.
    dy64 = dy.astype(np.float64)

    def objective(tensors_, x_, init_):
        return float(np.sum(np_forward(layers, tensors_, x_, init_)[0] * dy64))

    eps = 1e-5
    for key in sorted(grads):
        g = grads[key]
        v = rng.standard_normal(g.shape)
        if key == 'input' and case.get('lengths') is not None:
            v = v * (x != 0.0).any(axis=-1, keepdims=True)  # keep the padding (the mask) intact

        def perturbed(sign):
            tp, xp, ip = t64, x64, i64
            if key == 'input':
                xp = x64 + sign * eps * v
            elif key.startswith('initial_state/'):
                k = int(key.split('/')[1])
                ip = list(i64)
                ip[k] = i64[k] + sign * eps * v
            else:
                tp = dict(t64)
                tp[key] = t64[key] + sign * eps * v
            return objective(tp, xp, ip)

        numeric = (perturbed(1.0) - perturbed(-1.0)) / (2 * eps)
        analytic = float(np.sum(g * v))
        scale = float(np.sum(np.abs(g * v))) + 1e-6
        if abs(numeric - analytic) > 1e-6 * scale:
            raise AssertionError(f"{case['name']}: gradient {key}: autograd {analytic:.9g} vs "
                                 f"central difference {numeric:.9g}")


# ------------------------------------------------------------------------------------------------
# Running one case

def tolerance_ratio(actual, expected, atol, rtol=0.0):
    """max |a - e| / (atol + rtol |e|): <= 1 means within tolerance."""
    return float(np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected))))


def run_case(out_dir, case):
    rng = np.random.default_rng(zlib.crc32(case['name'].encode()))
    layers = assign_names(case['layers'])
    n, steps = case['N'], case['T']
    lengths = case.get('lengths')
    tokens = layers[0]['type'] == 'embedding'
    feature_dim = None if tokens else case['F']
    initial = case.get('initial_state', False)
    recurrent = [s for s in layers if is_recurrent(s)]
    if initial and (len(recurrent) != 1 or recurrent[0]['type'] == 'bidirectional'):
        raise ValueError(f"{case['name']}: initial states need exactly one unidirectional "
                         'recurrent layer')
    if lengths is not None:
        if layers[0]['type'] != 'masking' or len(lengths) != n or max(lengths) > steps \
                or min(lengths) < 1:
            raise ValueError(f"{case['name']}: bad lengths or no Masking layer")

    tensors = make_weights(layers, feature_dim, rng)
    valid = np.ones((n, steps), dtype=bool)
    if lengths is not None:
        valid = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    if tokens:
        x = rng.integers(0, layers[0]['input_dim'], size=(n, steps), dtype=np.int64)
    else:
        x = rng.standard_normal((n, steps, feature_dim)).astype(np.float32)
        x = np.where(valid[:, :, None], x, np.float32(0.0))  # +0.0 padding (not -0.0)
    init = None
    if initial:
        cell = recurrent[0]
        count = 2 if cell['type'] == 'lstm' else 1
        init = [(0.5 * rng.standard_normal((n, cell['units']))).astype(np.float32)
                for _ in range(count)]

    # The output shape, then dy (zero at padded steps).
    y_shape = run_torch_shape(layers, tensors, feature_dim, x, lengths, init)
    dy = rng.standard_normal(y_shape).astype(np.float32)
    if len(y_shape) == 3:
        dy = np.where(valid[:, :, None], dy, np.float32(0.0))

    y, finals, grads = run_torch(layers, tensors, feature_dim, x, lengths, init, dy, torch.float64)
    check_against_numpy(case, layers, tensors, x, init, dy, y, finals, grads,
                        np.random.default_rng(zlib.crc32(case['name'].encode()) + 1))

    atol = case.get('atol', 1e-5)
    grad_atol = case.get('grad_atol', 1e-4)
    grad_rtol = case.get('grad_rtol', 1e-3)

    # A float32 implementation (PyTorch's own) must pass this case's tolerances.
    y32, finals32, grads32 = run_torch(layers, tensors, feature_dim, x, lengths, init, dy,
                                       torch.float32)
    worst_out = tolerance_ratio(y32, y.astype(np.float32), atol)
    for k, f in enumerate(finals or []):
        worst_out = max(worst_out, tolerance_ratio(finals32[k], f.astype(np.float32), atol))
    worst_grad = max(tolerance_ratio(grads32[k], g.astype(np.float32), grad_atol, grad_rtol)
                     for k, g in grads.items())
    if worst_out > 0.5 or worst_grad > 0.5:
        raise AssertionError(f"{case['name']}: PyTorch float32 uses {worst_out:.2f} (outputs) / "
                             f"{worst_grad:.2f} (gradients) of the tolerances; loosen them")

    # Write the case folder.
    out = prepare_case_dir(out_dir, case['name'])
    write_case_json(out, {
        'name': case['name'],
        'oracle': ORACLE,
        'description': case['description'],
        'atol': atol,
        'grad_atol': grad_atol,
        'grad_rtol': grad_rtol,
        'check_grads': True,
        'initial_state': initial,
        'final_states': initial,
    })
    write_safetensors(os.path.join(out, 'model.safetensors'), tensors, {
        'recur.format': '1',
        'recur.model': keras_model_json(layers, feature_dim),
    })
    write_npy(os.path.join(out, 'x.npy'), x)
    write_npy(os.path.join(out, 'dy.npy'), dy)
    if initial:
        write_safetensors(os.path.join(out, 'initial_state.safetensors'),
                          {f'initial_state/{k}': s for k, s in enumerate(init)},
                          {'recur.format': '1'})
    expected = {'y': y.astype(np.float32)}
    for k, f in enumerate(finals or []):
        expected[f'final_state/{k}'] = f.astype(np.float32)
    for key, g in grads.items():
        expected[f'grad/{key}'] = g.astype(np.float32)
    write_safetensors(os.path.join(out, 'expected.safetensors'), expected, {'recur.format': '1'})

    return (f"{case['name']}: y {list(y.shape)} max|y| {np.max(np.abs(y)):.3g}, "
            f"{len(grads)} gradients" + (', initial/final states' if initial else '') +
            f'; float32 PyTorch within {worst_out:.2g} / {worst_grad:.2g} of the tolerances')


def run_torch_shape(layers, tensors, feature_dim, x, lengths, init):
    model = TorchModel(layers, tensors, feature_dim, torch.float32)
    xt = torch.from_numpy(x)
    it = None if init is None else [torch.from_numpy(s) for s in init]
    with torch.no_grad():
        return tuple(model.forward(xt, lengths, it)[0].shape)


# ------------------------------------------------------------------------------------------------
# The cases

CASES = []


def add(name, description, layers, **kw):
    CASES.append({'name': name, 'description': description, 'layers': layers, **kw})


PADDED = ('At padded steps the output follows Keras: a plain recurrent layer with '
          'return_sequences repeats its last real output, Bidirectional outputs zeros, and later '
          'layers (Dense) are applied to those values; dy is zero at padded steps.')
LENGTHS = [7, 3, 5, 1]

CELLS = [('rnn_tanh', lambda u, seq=False: srnn(u, seq), 'SimpleRNN(tanh)'),
         ('rnn_relu', lambda u, seq=False: srnn(u, seq, 'relu'), 'SimpleRNN(relu)'),
         ('lstm', lstm, 'LSTM'),
         ('gru', gru, 'GRU(reset_after=true)')]

# 1. One recurrent layer with a Dense head: on the last step, and on every step.
for label, make, text in CELLS:
    add(f'{label}_last_dense', f'{text}(8), last output, then Dense(1).',
        [make(8), dense(1)], N=4, T=6, F=3)
    add(f'{label}_seq_dense', f'{text}(6) with return_sequences, then Dense(2) on every step.',
        [make(6, True), dense(2)], N=3, T=5, F=4)

# 2. Stacks.
add('stacked_lstm2_last', 'LSTM(8, return_sequences) -> LSTM(6) -> Dense(1).',
    [lstm(8, True), lstm(6), dense(1)], N=3, T=6, F=3)
add('stacked_gru2_seq', 'GRU(6, return_sequences) -> GRU(5, return_sequences) -> Dense(2).',
    [gru(6, True), gru(5, True), dense(2)], N=3, T=6, F=4)
add('stacked_gru_lstm_rnn3_last',
    'GRU(8, seq) -> LSTM(7, seq) -> SimpleRNN(5, tanh) last output -> Dense(1).',
    [gru(8, True), lstm(7, True), srnn(5), dense(1)], N=3, T=6, F=3)
add('stacked_lstm_rnnrelu_gru3_seq',
    'LSTM(6, seq) -> SimpleRNN(5, relu, seq) -> GRU(4, seq) -> Dense(2) on every step.',
    [lstm(6, True), srnn(5, True, 'relu'), gru(4, True), dense(2)], N=3, T=6, F=3)

# 3. Bidirectional (merge_mode concat: [forward, backward]).
for label, make, text in CELLS:
    add(f'bidi_{label}_last',
        f'Bidirectional({text}(5)), concat of the forward last output and the backward output '
        'after reading the whole sequence backwards, then Dense(1).',
        [bidi(make(5)), dense(1)], N=3, T=6, F=3)
    add(f'bidi_{label}_seq',
        f'Bidirectional({text}(5), return_sequences), per-step concat [forward, backward], then '
        'Dense(2) on every step.',
        [bidi(make(5, True)), dense(2)], N=3, T=6, F=3)
add('bidi_rnn_tanh_seq_nohead', 'Bidirectional(SimpleRNN(tanh)(5), return_sequences), no head.',
    [bidi(srnn(5, True))], N=3, T=6, F=3)
add('stacked_bidi_lstm_bidi_gru_last',
    'Bidirectional(LSTM(5, seq)) -> Bidirectional(GRU(4)) last -> Dense(1).',
    [bidi(lstm(5, True)), bidi(gru(4)), dense(1)], N=3, T=6, F=3)

# 4. Variable lengths: Masking(0.0), post-padded, PyTorch with pack_padded_sequence.
for label, make, text in [c for c in CELLS if c[0] != 'rnn_relu']:
    add(f'masked_{label}_last',
        f'Masking(0.0) -> {text}(5), last output = state at each sequence\'s last real step '
        f'(lengths {LENGTHS} of T=7) -> Dense(1).',
        [masking(), make(5), dense(1)], N=4, T=7, F=3, lengths=LENGTHS)
    add(f'masked_{label}_seq',
        f'Masking(0.0) -> {text}(5, return_sequences) -> Dense(2) on every step, lengths '
        f'{LENGTHS} of T=7. ' + PADDED,
        [masking(), make(5, True), dense(2)], N=4, T=7, F=3, lengths=LENGTHS)
for label, make, text in CELLS[2:]:
    add(f'masked_bidi_{label}_last',
        f'Masking(0.0) -> Bidirectional({text}(5)) -> Dense(1), lengths {LENGTHS} of T=7: '
        'forward half = state at the last real step, backward half = state after reading the '
        'real steps from last to first.',
        [masking(), bidi(make(5)), dense(1)], N=4, T=7, F=3, lengths=LENGTHS)
    add(f'masked_bidi_{label}_seq',
        f'Masking(0.0) -> Bidirectional({text}(5), return_sequences) -> Dense(2) on every step, '
        f'lengths {LENGTHS} of T=7; the backward half reads each sequence backwards within its '
        'own length. ' + PADDED,
        [masking(), bidi(make(5, True)), dense(2)], N=4, T=7, F=3, lengths=LENGTHS)
add('masked_stacked_lstm_gru_last',
    f'Masking(0.0) -> LSTM(6, seq) -> GRU(5) last -> Dense(1), lengths {LENGTHS} of T=7 (the mask '
    'passes through the first layer).',
    [masking(), lstm(6, True), gru(5), dense(1)], N=4, T=7, F=3, lengths=LENGTHS)
add('masked_stacked_bidi_lstm_lstm_seq',
    f'Masking(0.0) -> Bidirectional(LSTM(4, seq)) -> LSTM(5, seq) -> Dense(2), lengths {LENGTHS} '
    'of T=7. ' + PADDED,
    [masking(), bidi(lstm(4, True)), lstm(5, True), dense(2)], N=4, T=7, F=3, lengths=LENGTHS)

# 5. Initial and final states of a single recurrent layer.
add('lstm_initial_state',
    'LSTM(5, return_sequences) called with initial states (h, c), then Dense(2); final states '
    '(h_T, c_T); gradients include the initial states.',
    [lstm(5, True), dense(2)], N=3, T=5, F=3, initial_state=True)
add('gru_initial_state',
    'GRU(5) with an initial state, last output (= final state); gradient w.r.t. the initial state.',
    [gru(5)], N=3, T=5, F=3, initial_state=True)
add('rnn_tanh_initial_state',
    'SimpleRNN(tanh)(5, return_sequences) with an initial state; final state; gradient w.r.t. '
    'the initial state.',
    [srnn(5, True)], N=3, T=5, F=3, initial_state=True)
add('masked_lstm_initial_state',
    'Masking(0.0) -> LSTM(5) with initial states, last output, lengths [5, 2, 4] of T=5; the final '
    'states are those at each sequence\'s last real step.',
    [masking(), lstm(5)], N=3, T=5, F=3, lengths=[5, 2, 4], initial_state=True)

# 6. Sizes: odd, one step, one sample, long sequences.
add('lstm_odd_sizes', 'LSTM(7, return_sequences) -> Dense(3) with F=3, N=5, T=9 (odd sizes).',
    [lstm(7, True), dense(3)], N=5, T=9, F=3)
add('gru_odd_sizes', 'GRU(7) last -> Dense(1) with F=3, N=5, T=9 (odd sizes).',
    [gru(7), dense(1)], N=5, T=9, F=3)
add('rnn_relu_odd_sizes', 'SimpleRNN(relu)(7, return_sequences) with F=3, N=5, T=9, no head.',
    [srnn(7, True, 'relu')], N=5, T=9, F=3)
add('lstm_t1_last', 'LSTM(6) -> Dense(1) on sequences of one step (T=1).',
    [lstm(6), dense(1)], N=3, T=1, F=4)
add('gru_t1_seq', 'GRU(6, return_sequences) -> Dense(2) with T=1.',
    [gru(6, True), dense(2)], N=3, T=1, F=4)
add('lstm_batch1_seq', 'LSTM(8, return_sequences) -> Dense(1) with a batch of one (N=1).',
    [lstm(8, True), dense(1)], N=1, T=6, F=3)
add('gru_batch1_last', 'GRU(8) -> Dense(1) with a batch of one (N=1).',
    [gru(8), dense(1)], N=1, T=6, F=3)
add('lstm_long_t300_seq',
    'LSTM(16, return_sequences) -> Dense(1) on every step, T=300, N=2, F=4. Long sequence: '
    'output atol 1e-5 scaled to 5e-5 and gradient atol to 5e-4 (errors grow with sqrt(T*H)).',
    [lstm(16, True), dense(1)], N=2, T=300, F=4, atol=5e-5, grad_atol=5e-4)
add('gru_long_t300_last',
    'GRU(16) last -> Dense(1), T=300, N=2, F=4. Long sequence: output atol scaled to 5e-5 and '
    'gradient atol to 5e-4 (errors grow with sqrt(T*H)).',
    [gru(16), dense(1)], N=2, T=300, F=4, atol=5e-5, grad_atol=5e-4)

# 7. Token ids.
add('embedding_lstm_dense3',
    'Embedding(12, 5, mask_zero=false) on int64 ids in [0, 12) -> LSTM(6) last -> Dense(3); '
    'id 0 is an ordinary token here.',
    [embedding(12, 5), lstm(6), dense(3)], N=3, T=6)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(f'usage: {argv[0]} OUT_DIR\n')
        return 2
    out_dir = argv[1]
    torch.set_num_threads(1)
    torch.manual_seed(0)  # module construction draws default weights (all overwritten)
    os.makedirs(out_dir, exist_ok=True)
    names = [c['name'] for c in CASES]
    if len(set(names)) != len(names):
        raise ValueError('duplicate case names')
    remove_stale_cases(out_dir, ORACLE, set(names))
    start = time.time()
    for case in CASES:
        print(run_case(out_dir, case), flush=True)
    print(f'{len(CASES)} PyTorch {torch.__version__} cases in {time.time() - start:.1f} s '
          f'-> {out_dir}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
