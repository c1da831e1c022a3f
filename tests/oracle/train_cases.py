#!/usr/bin/python3
"""Training-parity fixtures computed by PyTorch (autograd + torch.optim). Usage:

    /usr/bin/python3 tests/oracle/train_cases.py OUT_DIR

Writes one folder per case and prints one line per case; everything is seeded from a hash of the
case name, so running it twice gives identical files. tests/oracle/train_parity_test.cpp trains
the same model with recur (Model::fit, shuffle=false) and compares the final weights and the
per-epoch training loss.

One folder per case, `<OUT_DIR>/<case name>/`:

| file | content |
|---|---|
| `train.json` | `{"name", "oracle": "torch-train", "description", "loss": {"name", "from_logits", "delta"}, "optimizer": <Keras optimizer config for recur::optimizer_from_json>, "epochs", "batch_size", "rtol", "atol"}` |
| `model.safetensors` | the initial model in the binding recur format (DESIGN.md section 3) |
| `x.npy` | float32 `[N, T, F]` |
| `y.npy` | float32 targets: `[N, U]`, `[N, T, U]` (per-step output), or class ids `[N]` (sparse) |
| `expected.safetensors` | every weight after training, named like the model file, plus `history/loss` `[epochs]`: each epoch's mean of the batch losses weighted by the batch's row count (Keras) |

How a case is computed:
  1. Random float32 weights in Keras layouts (uniform in +-0.5), standard normal inputs.
  2. The model is built in PyTorch from hand-written cells that hold their parameters in the Keras
     layouts (kernel [in, G*u], recurrent_kernel [u, G*u], bias [G*u] or GRU [2, 3u]), so every
     PyTorch parameter is one model-file variable: per-variable clipnorm and the optimizer state
     match one to one. Self-check: at the initial weights, the hand model's output equals that of
     nn.RNN / nn.LSTM / nn.GRU with the weights mapped as DESIGN.md section 3 says (torch_cases.py's
     TorchModel, pack_padded_sequence for masked cases).
  3. Training: consecutive batches (no shuffling; the last partial batch is kept); each batch's
     loss is the mean over its rows (Keras reductions: mean over the last axis for mse / mae /
     huber / binary_crossentropy, sum over classes for the categorical ones; masked per-step
     losses are divided by the number of real steps); loss.backward(); clipping as Keras
     (clipvalue: clamp; clipnorm: each variable on its own, g * c / max(|g|, c);
     global_clipnorm: torch.nn.utils.clip_grad_norm_); then torch.optim's step (SGD, Adam,
     AdamW, RMSprop, Adagrad: the formulas recur implements) with the hyperparameters written in
     train.json (nothing is left to defaults).
  4. The reference is trained in float64 on the float32 initial values and rounded to float32;
     the same training in float32 (what a float32 implementation such as recur can achieve) must
     stay within half of the case's tolerance, else the case is rejected (too chaotic to compare).
     Every clipping case must actually clip on some step.
"""

import json
import os
import shutil
import sys
import time
import zlib

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean (no __pycache__ for the helpers)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_writer import prepare_case_dir, write_npy, write_safetensors  # noqa: E402
from torch_cases import (  # noqa: E402
    TorchModel, assign_names, dense, gru, keras_model_json, lstm, make_weights, masking, srnn)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ORACLE = 'torch-train'
EPS = 1e-7  # Keras backend epsilon (probability clipping in the crossentropies)
N, T, FEAT, UNITS, BATCH, EPOCHS = 20, 6, 3, 5, 8, 3
RTOL, ATOL = 1e-4, 1e-5


# ------------------------------------------------------------------------------------------------
# The model in Keras layouts

class KerasLayoutModel:
    """Sequential model of Masking / SimpleRNN / LSTM / GRU(reset_after) / Dense layers whose
    parameters are the model file's tensors, {name: leaf tensor}."""

    def __init__(self, layers, tensors, dtype):
        self.layers = layers
        self.params = {name: torch.tensor(np.asarray(value), dtype=dtype, requires_grad=True)
                       for name, value in sorted(tensors.items())}

    def forward(self, x):
        """x [B, T, F] -> (output after the last Dense's activation, logits before it, mask of the
        output or None)."""
        h = x
        mask = None
        logits = None
        for spec in self.layers:
            t, name = spec['type'], spec['name']
            if t == 'masking':
                mask = (h != 0.0).any(dim=-1)
                continue
            if t == 'dense':
                logits = h @ self.params[f'{name}/kernel'] + self.params[f'{name}/bias']
                act = spec.get('activation', 'linear')
                h = {'linear': lambda z: z, 'sigmoid': torch.sigmoid,
                     'softmax': lambda z: torch.softmax(z, dim=-1)}[act](logits)
                continue
            h = self._recurrent(spec, h, mask)
            if not spec['seq']:
                mask = None
        return h, logits, mask

    def _recurrent(self, spec, x, mask):
        kernel = self.params[f"{spec['name']}/kernel"]
        rec = self.params[f"{spec['name']}/recurrent_kernel"]
        bias = self.params[f"{spec['name']}/bias"]
        u = spec['units']
        batch, steps = x.shape[0], x.shape[1]
        h = x.new_zeros((batch, u))
        c = x.new_zeros((batch, u))
        outs = []
        for t in range(steps):
            xt = x[:, t]
            c_new = c
            if spec['type'] == 'lstm':
                z = xt @ kernel + h @ rec + bias
                i, f, g, o = torch.split(z, u, dim=1)
                c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
            elif spec['type'] == 'gru':  # reset_after=True: gates z, r, h
                mx = xt @ kernel + bias[0]
                mh = h @ rec + bias[1]
                zg = torch.sigmoid(mx[:, :u] + mh[:, :u])
                r = torch.sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
                cand = torch.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
                h_new = zg * h + (1.0 - zg) * cand
            else:
                h_new = torch.tanh(xt @ kernel + h @ rec + bias)
            if mask is not None:  # Keras: carry the state (and repeat the output) at masked steps
                m = mask[:, t, None]
                h, c = torch.where(m, h_new, h), torch.where(m, c_new, c)
            else:
                h, c = h_new, c_new
            outs.append(h)
        return torch.stack(outs, dim=1) if spec['seq'] else h


def cross_check(layers, tensors, x):
    """The hand model (float64) equals nn.RNN / nn.LSTM / nn.GRU with mapped weights."""
    mine = KerasLayoutModel(layers, tensors, torch.float64)
    xt = torch.from_numpy(x).to(torch.float64)
    with torch.no_grad():
        _, logits, _ = mine.forward(xt)
    lengths = None
    if any(s['type'] == 'masking' for s in layers):
        valid = np.any(x != 0.0, axis=-1)
        lengths = [int(v.sum()) for v in valid]
        if any(not v[:n].all() for v, n in zip(valid, lengths)):
            raise AssertionError('masked inputs must be post-padded')
    plain = [dict(s) for s in layers]  # TorchModel's Dense is linear: compare the logits
    ref = TorchModel(plain, tensors, x.shape[2], torch.float64)
    with torch.no_grad():
        want, _ = ref.forward(xt, lengths, None)
    diff = float((logits - want).abs().max())
    if diff > 1e-10:
        raise AssertionError(f'hand-written Keras-layout cells differ from torch.nn by {diff:g}')


def model_json(layers):
    """keras_model_json with each Dense's activation filled in."""
    j = json.loads(keras_model_json(layers, FEAT))
    for spec, entry in zip(layers, j['config']['layers']):
        if spec['type'] == 'dense':
            entry['config']['activation'] = spec.get('activation', 'linear')
    return json.dumps(j)


# ------------------------------------------------------------------------------------------------
# Losses (Keras formulas) and optimizers (torch.optim, Keras-style configs)

def per_element_loss(loss, out, logits, y):
    """Loss per row (or per row and step), reduced over the last axis as Keras does."""
    name, from_logits = loss['name'], loss.get('from_logits', False)
    p = logits if from_logits else out
    if name == 'mse':
        return ((p - y) ** 2).mean(dim=-1)
    if name == 'mae':
        return (p - y).abs().mean(dim=-1)
    if name == 'huber':
        d = loss.get('delta', 1.0)
        a = (p - y).abs()
        return torch.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d)).mean(dim=-1)
    if name == 'binary_crossentropy':
        if from_logits:
            return F.binary_cross_entropy_with_logits(p, y, reduction='none').mean(dim=-1)
        q = p.clamp(EPS, 1.0 - EPS)
        return -(y * torch.log(q) + (1.0 - y) * torch.log(1.0 - q)).mean(dim=-1)
    if name == 'categorical_crossentropy':
        if from_logits:
            return -(y * torch.log_softmax(p, dim=-1)).sum(dim=-1)
        q = (p / p.sum(dim=-1, keepdim=True)).clamp(EPS, 1.0 - EPS)
        return -(y * torch.log(q)).sum(dim=-1)
    if name == 'sparse_categorical_crossentropy':
        ids = y.long()
        if from_logits:
            return F.cross_entropy(p, ids, reduction='none')
        q = p.clamp(EPS, 1.0 - EPS)
        return -torch.log(q.gather(-1, ids[..., None])[..., 0])
    raise ValueError(name)


def batch_loss(loss, out, logits, y, mask):
    per = per_element_loss(loss, out, logits, y)
    if mask is not None and per.dim() == 2:  # [B, T]: mean over the real steps
        m = mask.to(per.dtype)
        return (per * m).sum() / m.sum()
    return per.mean()


OPTIMIZERS = {
    'sgd': ('SGD', {'learning_rate': 0.1, 'momentum': 0.0, 'nesterov': False}),
    'sgd_momentum': ('SGD', {'learning_rate': 0.05, 'momentum': 0.9, 'nesterov': False}),
    'sgd_nesterov': ('SGD', {'learning_rate': 0.05, 'momentum': 0.9, 'nesterov': True}),
    'adam': ('Adam', {'learning_rate': 0.01, 'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-7,
                      'amsgrad': False}),
    'adam_amsgrad': ('Adam', {'learning_rate': 0.01, 'beta_1': 0.8, 'beta_2': 0.99,
                              'epsilon': 1e-7, 'amsgrad': True}),
    'adamw': ('AdamW', {'learning_rate': 0.01, 'weight_decay': 0.05, 'beta_1': 0.9,
                        'beta_2': 0.999, 'epsilon': 1e-7, 'amsgrad': False}),
    'rmsprop': ('RMSprop', {'learning_rate': 0.005, 'rho': 0.9, 'momentum': 0.0, 'epsilon': 1e-7,
                            'centered': False}),
    'rmsprop_centered_momentum': ('RMSprop', {'learning_rate': 0.002, 'rho': 0.9,
                                              'momentum': 0.5, 'epsilon': 1e-7,
                                              'centered': True}),
    'adagrad': ('Adagrad', {'learning_rate': 0.1, 'initial_accumulator_value': 0.1,
                            'epsilon': 1e-7}),
}

CLIPS = {
    'noclip': {},
    'clipnorm': {'clipnorm': 0.1},
    'clipvalue': {'clipvalue': 0.02},
    'globalclip': {'global_clipnorm': 0.2},
    'allclips': {'clipvalue': 0.05, 'clipnorm': 0.1, 'global_clipnorm': 0.15},
}


def make_optimizer(class_name, config, params):
    lr = config['learning_rate']
    if class_name == 'SGD':
        return torch.optim.SGD(params, lr=lr, momentum=config['momentum'],
                               nesterov=config['nesterov'])
    if class_name in ('Adam', 'AdamW'):
        kind = torch.optim.Adam if class_name == 'Adam' else torch.optim.AdamW
        kw = {'weight_decay': config['weight_decay']} if class_name == 'AdamW' else {}
        return kind(params, lr=lr, betas=(config['beta_1'], config['beta_2']),
                    eps=config['epsilon'], amsgrad=config['amsgrad'], **kw)
    if class_name == 'RMSprop':
        return torch.optim.RMSprop(params, lr=lr, alpha=config['rho'], eps=config['epsilon'],
                                   momentum=config['momentum'], centered=config['centered'])
    if class_name == 'Adagrad':
        return torch.optim.Adagrad(params, lr=lr, eps=config['epsilon'],
                                   initial_accumulator_value=config['initial_accumulator_value'])
    raise ValueError(class_name)


def clip_(params, clip):
    """Keras's order: clipvalue, then clipnorm (per variable), then global_clipnorm. Returns
    whether anything was changed."""
    active = False
    if 'clipvalue' in clip:
        c = clip['clipvalue']
        for p in params:
            active |= bool((p.grad.abs() > c).any())
            p.grad.clamp_(-c, c)
    if 'clipnorm' in clip:
        c = clip['clipnorm']
        for p in params:
            norm = float(p.grad.norm())
            if norm > c:
                active = True
                p.grad.mul_(c / norm)
    if 'global_clipnorm' in clip:
        total = float(torch.nn.utils.clip_grad_norm_(params, clip['global_clipnorm']))
        active |= total > clip['global_clipnorm']
    return active


def train(case, tensors, x, y, dtype):
    """Returns the final weights {name: float64 numpy}, the epoch losses, and the number of steps
    on which clipping changed the gradients."""
    model = KerasLayoutModel(case['layers'], tensors, dtype)
    params = list(model.params.values())
    class_name, config = case['optimizer']
    opt = make_optimizer(class_name, config, params)
    xt = torch.from_numpy(x).to(dtype)
    yt = torch.from_numpy(y).to(dtype)
    rows = x.shape[0]
    bs = case['batch_size']
    history = []
    clipped = 0
    for _ in range(case['epochs']):
        total = 0.0
        for b0 in range(0, rows, bs):
            b1 = min(rows, b0 + bs)
            out, logits, mask = model.forward(xt[b0:b1])
            loss = batch_loss(case['loss'], out, logits, yt[b0:b1], mask)
            opt.zero_grad()
            loss.backward()
            clipped += clip_(params, case['clip'])
            opt.step()
            total += float(loss) * (b1 - b0)
        history.append(total / rows)
    weights = {k: v.detach().to(torch.float64).numpy() for k, v in model.params.items()}
    return weights, np.array(history), clipped


# ------------------------------------------------------------------------------------------------
# Data

def make_targets(loss, rng, rows, steps, units, per_step):
    shape = (rows, steps, units) if per_step else (rows, units)
    name = loss['name']
    if name in ('mse', 'mae'):
        return rng.standard_normal(shape).astype(np.float32)
    if name == 'huber':  # wide enough that some residuals are beyond delta
        return (2.0 * rng.standard_normal(shape)).astype(np.float32)
    if name == 'binary_crossentropy':
        return rng.integers(0, 2, size=shape).astype(np.float32)
    ids = rng.integers(0, units, size=shape[:-1])
    if name == 'categorical_crossentropy':
        return np.eye(units, dtype=np.float32)[ids]
    return ids.astype(np.float32)  # sparse: class ids as floats


def tolerance_ratio(actual, expected, atol, rtol):
    """max |a - e| / (atol + rtol |e|): <= 1 passes."""
    return float(np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected))))


def run_case(out_dir, case):
    rng = np.random.default_rng(zlib.crc32(case['name'].encode()))
    layers = case['layers']
    tensors = make_weights(layers, FEAT, rng)
    rows = case.get('N', N)
    x = rng.standard_normal((rows, T, FEAT)).astype(np.float32)
    if case.get('masked'):
        lengths = rng.integers(2, T + 1, size=rows)
        lengths[0] = T
        valid = np.arange(T)[None, :] < lengths[:, None]
        x = np.where(valid[:, :, None], x, np.float32(0.0))
    units = layers[-1]['units']
    y = make_targets(case['loss'], rng, rows, T, units, layers[-2]['seq'])

    cross_check(layers, tensors, x)
    w64, hist64, clipped = train(case, tensors, x, y, torch.float64)
    w32, hist32, _ = train(case, tensors, x, y, torch.float32)
    if case['clip'] and clipped == 0:
        raise AssertionError(f"{case['name']}: the clipping never changed a gradient")
    expected = {k: v.astype(np.float32) for k, v in w64.items()}
    worst_f32 = max(tolerance_ratio(w32[k], expected[k], ATOL, RTOL) for k in expected)
    worst_f32 = max(worst_f32, tolerance_ratio(hist32, hist64, ATOL, RTOL))
    moved = max(float(np.max(np.abs(expected[k] - tensors[k]))) for k in expected)
    if worst_f32 > 0.5:
        raise AssertionError(f"{case['name']}: float32 PyTorch training uses {worst_f32:.2f} of "
                             'the tolerance; the case is too sensitive to rounding')
    if not np.all(np.isfinite(hist64)) or moved < 1e-3:
        raise AssertionError(f"{case['name']}: training did not move the weights ({moved:g})")

    class_name, config = case['optimizer']
    optimizer = {'class_name': class_name, 'config': {**config, **case['clip']}}
    out = prepare_case_dir(out_dir, case['name'])
    with open(os.path.join(out, 'train.json'), 'w', encoding='utf-8') as f:
        json.dump({'name': case['name'], 'oracle': ORACLE, 'description': case['description'],
                   'loss': case['loss'], 'optimizer': optimizer, 'epochs': case['epochs'],
                   'batch_size': case['batch_size'], 'rtol': RTOL, 'atol': ATOL}, f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(out, 'model.safetensors'), tensors,
                      {'recur.format': '1', 'recur.model': model_json(layers)})
    write_npy(os.path.join(out, 'x.npy'), x)
    write_npy(os.path.join(out, 'y.npy'), y)
    expected['history/loss'] = hist64.astype(np.float32)
    write_safetensors(os.path.join(out, 'expected.safetensors'), expected, {'recur.format': '1'})
    return (f"{case['name']}: loss {hist64[0]:.4g} -> {hist64[-1]:.4g}, max weight change "
            f'{moved:.3g}, clipped on {clipped} steps, float32 PyTorch within {worst_f32:.2g} '
            'of the tolerance')


# ------------------------------------------------------------------------------------------------
# The cases

CASES = []

LOSSES = [
    ('mse', {'name': 'mse'}, 'linear', 2),
    ('mae', {'name': 'mae'}, 'linear', 2),
    ('huber', {'name': 'huber', 'delta': 1.0}, 'linear', 2),
    ('bce', {'name': 'binary_crossentropy', 'from_logits': False}, 'sigmoid', 2),
    ('bce_logits', {'name': 'binary_crossentropy', 'from_logits': True}, 'linear', 2),
    ('cce', {'name': 'categorical_crossentropy', 'from_logits': False}, 'softmax', 3),
    ('cce_logits', {'name': 'categorical_crossentropy', 'from_logits': True}, 'linear', 3),
    ('scce', {'name': 'sparse_categorical_crossentropy', 'from_logits': False}, 'softmax', 3),
    ('scce_logits', {'name': 'sparse_categorical_crossentropy', 'from_logits': True}, 'linear',
     3),
]
LOSS_BY_LABEL = {label: (loss, act, units) for label, loss, act, units in LOSSES}
CELLS = [('rnn', srnn, 'SimpleRNN(tanh)'), ('lstm', lstm, 'LSTM'),
         ('gru', gru, 'GRU(reset_after=true)')]
CELL_BY_LABEL = {label: (make, text) for label, make, text in CELLS}


def dense_spec(units, activation):
    return dict(dense(units), activation=activation)


def add(cell, opt, clip, loss_label, seq=False, masked=False, stacked=None, batch_size=BATCH,
        epochs=EPOCHS, note=''):
    loss, act, units = LOSS_BY_LABEL[loss_label]
    make, text = CELL_BY_LABEL[cell]
    layers = ([masking()] if masked else []) + ([stacked(6, True)] if stacked else []) + \
        [make(UNITS, seq), dense_spec(units, act)]
    name = '_'.join(p for p in ([('masked' if masked else ''), cell, 'seq' if seq else '', opt,
                                 clip, loss_label]) if p and p != 'noclip')
    arch = ' -> '.join(([('Masking(0.0)')] if masked else []) +
                       (['6 units, return_sequences'] if stacked else []) +
                       [f"{text}({UNITS}{', return_sequences' if seq else ''})",
                        f"Dense({units}, {act}){' per step' if seq else ''}"])
    clip_text = ', '.join(f'{k}={v}' for k, v in CLIPS[clip].items()) or 'no clipping'
    description = (f"{arch}; {OPTIMIZERS[opt][0]} {OPTIMIZERS[opt][1]}, {clip_text}; loss "
                   f"{loss}; N={N}, T={T}, F={FEAT}, batch {batch_size}, {epochs} epochs, "
                   f"no shuffling.{' ' + note if note else ''}")
    if stacked:
        name = f'stacked_{name}'
    CASES.append({'name': name, 'description': description,
                  'layers': assign_names(layers), 'optimizer': OPTIMIZERS[opt],
                  'clip': CLIPS[clip], 'loss': loss, 'epochs': epochs, 'batch_size': batch_size,
                  'masked': masked})


# 1. Every optimizer with every cell; the losses and clipping modes rotate so that each cell
#    meets every loss once and each clipping mode meets several optimizers.
OPT_NAMES = list(OPTIMIZERS)
CLIP_ROTATION = ['noclip', 'clipnorm', 'clipvalue', 'globalclip']
for ci, (cell, _, _) in enumerate(CELLS):
    for oi, opt in enumerate(OPT_NAMES):
        add(cell, opt, CLIP_ROTATION[(oi + ci) % 4], LOSSES[(oi + 3 * ci) % len(LOSSES)][0])

# 2. Per-step outputs, masking, stacks, every clipping mode at once, one batch per epoch.
add('lstm', 'adam', 'noclip', 'mse', seq=True,
    note='Targets [N, T, 2]: the loss is the mean over rows, steps and units.')
add('gru', 'sgd_momentum', 'clipnorm', 'mse', seq=True)
add('lstm', 'rmsprop', 'noclip', 'mse', masked=True,
    note='Zero-padded tails (lengths 2..6); the last output is the state at the last real step.')
add('gru', 'adam', 'noclip', 'mse', seq=True, masked=True,
    note='Zero-padded tails (lengths 2..6); the loss is the mean over the real steps only.')
add('rnn', 'sgd_nesterov', 'noclip', 'huber', seq=True, masked=True)
add('gru', 'adamw', 'noclip', 'cce_logits', stacked=lstm,
    note='LSTM(6, return_sequences) below the GRU.')
add('rnn', 'sgd_momentum', 'allclips', 'mse',
    note='clipvalue, then clipnorm per variable, then global_clipnorm, as Keras orders them.')
add('lstm', 'adam_amsgrad', 'allclips', 'bce_logits')
add('lstm', 'adagrad', 'noclip', 'mse', batch_size=32, epochs=5,
    note='batch_size > N: one batch per epoch.')


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(f'usage: {argv[0]} OUT_DIR\n')
        return 2
    out_dir = argv[1]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(out_dir, exist_ok=True)
    names = [c['name'] for c in CASES]
    if len(set(names)) != len(names):
        raise ValueError('duplicate case names')
    for entry in os.listdir(out_dir):  # cases no longer generated
        if entry not in names and os.path.isfile(os.path.join(out_dir, entry, 'train.json')):
            shutil.rmtree(os.path.join(out_dir, entry))
    start = time.time()
    for case in CASES:
        print(run_case(out_dir, case), flush=True)
    print(f'{len(CASES)} PyTorch {torch.__version__} training cases in '
          f'{time.time() - start:.1f} s -> {out_dir}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
