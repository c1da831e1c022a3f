#!/usr/bin/python3
"""Oracle fixtures for recur's optimizers, computed by torch.optim (PyTorch 1.13). Usage:

    /usr/bin/python3 tests/oracle/optimizer_cases.py OUT_DIR

tests/unit/optimizer_test.cpp runs this itself when OUT_DIR/index.json is missing or older than
this script. Each case is a folder OUT_DIR/<case>/ with
    case.json             {"oracle": "torch_optimizer", "optimizer": <Keras-style JSON>, "steps": n}
    init_<k>.npy          variable k's initial value (k = 0: [3, 4], k = 1: [5]), float32
    grads_<k>.npy         its gradient at every step, [steps, ...shape], float32
    final_<k>.npy         its value after the steps
    slot_<k>_<slot>.npy   the optimizer's state after the steps, named as recur names its slots
and OUT_DIR/index.json lists the cases. Everything is seeded (each case from a hash of its name).

The reference runs torch.optim in float32 (foreach=False, the single-tensor code path) on the same
float32 values, with recur's gradient clipping done first, in recur's order:
  clipvalue        g.clamp_(-c, c)
  clipnorm         per variable, tf.clip_by_norm by hand: g · c / max(‖g‖, c)
  global_clipnorm  torch.nn.utils.clip_grad_norm_(all parameters, c)
Learning-rate schedules: StepDecay is torch.optim.lr_scheduler.StepLR stepped after every update;
the Keras closed forms (ExponentialDecay, CosineDecay) are written into param_groups by hand.
"""

import json
import math
import os
import sys
import zlib

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_writer import (  # noqa: E402
    prepare_case_dir, remove_stale_cases, write_case_json, write_npy)

import torch  # noqa: E402

ORACLE = 'torch_optimizer'
STEPS = 5
SHAPES = [(3, 4), (5,)]
GRAD_SCALES = [1.0, 0.3]  # variable 0 is clipped by clipnorm 1.5, variable 1 is not
KERAS_EPSILON = 1e-7

# torch state key -> recur slot name
SLOT_NAMES = {
    'momentum_buffer': 'momentum', 'exp_avg': 'm', 'exp_avg_sq': 'v', 'max_exp_avg_sq': 'v_max',
    'square_avg': 'square_avg', 'grad_avg': 'grad_avg', 'sum': 'sum',
}


# ------------------------------------------------------------------------------------------------
# Option sets: (case name, Keras-style optimizer JSON, torch factory(params))

def sgd(params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov,
                           weight_decay=weight_decay, foreach=False)


def adam(params, lr=0.001, betas=(0.9, 0.999), eps=KERAS_EPSILON, amsgrad=False, weight_decay=0.0):
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad,
                            weight_decay=weight_decay, foreach=False)


def adamw(params, lr=0.001, betas=(0.9, 0.999), eps=KERAS_EPSILON, amsgrad=False,
          weight_decay=0.004):
    return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad,
                             weight_decay=weight_decay, foreach=False)


def rmsprop(params, lr=0.001, alpha=0.9, eps=KERAS_EPSILON, momentum=0.0, centered=False,
            weight_decay=0.0):
    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                               centered=centered, weight_decay=weight_decay, foreach=False)


def adagrad(params, lr=0.001, initial_accumulator_value=0.1, eps=KERAS_EPSILON, weight_decay=0.0):
    return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=initial_accumulator_value,
                               eps=eps, weight_decay=weight_decay, foreach=False)


def keras(class_name, **config):
    return {'class_name': class_name, 'config': config}


BASE = [
    ('sgd', keras('SGD', learning_rate=0.1), lambda p: sgd(p, lr=0.1)),
    ('sgd_momentum', keras('SGD', learning_rate=0.1, momentum=0.9),
     lambda p: sgd(p, lr=0.1, momentum=0.9)),
    ('sgd_nesterov', keras('SGD', learning_rate=0.1, momentum=0.9, nesterov=True),
     lambda p: sgd(p, lr=0.1, momentum=0.9, nesterov=True)),
    ('adam', keras('Adam', learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
     lambda p: adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ('adam_amsgrad', keras('Adam', learning_rate=0.01, amsgrad=True),
     lambda p: adam(p, lr=0.01, amsgrad=True)),
    ('adamw', keras('AdamW', learning_rate=0.01, weight_decay=0.05),
     lambda p: adamw(p, lr=0.01, weight_decay=0.05)),
    ('rmsprop', keras('RMSprop', learning_rate=0.01), lambda p: rmsprop(p, lr=0.01)),
    ('rmsprop_momentum_centered',
     keras('RMSprop', learning_rate=0.01, rho=0.8, momentum=0.5, centered=True),
     lambda p: rmsprop(p, lr=0.01, alpha=0.8, momentum=0.5, centered=True)),
    ('adagrad', keras('Adagrad', learning_rate=0.1), lambda p: adagrad(p, lr=0.1)),
]

CLIPS = [
    ('', {}),
    ('_clipnorm', {'clipnorm': 1.5}),
    ('_clipvalue', {'clipvalue': 0.5}),
    ('_global_clipnorm', {'global_clipnorm': 2.0}),
]

# Keras defaults (plain names), coupled L2 weight decay, and learning-rate schedules.
EXTRA = [
    ('default_sgd', 'sgd', lambda p: sgd(p)),
    ('default_adam', 'Adam', lambda p: adam(p)),
    ('default_adamw', 'adamw', lambda p: adamw(p)),
    ('default_rmsprop', 'RMSprop', lambda p: rmsprop(p)),
    ('default_adagrad', 'adagrad', lambda p: adagrad(p)),
    ('sgd_momentum_weight_decay', keras('SGD', learning_rate=0.1, momentum=0.9, weight_decay=0.1),
     lambda p: sgd(p, lr=0.1, momentum=0.9, weight_decay=0.1)),
    ('adam_weight_decay', keras('Adam', learning_rate=0.01, weight_decay=0.1),
     lambda p: adam(p, lr=0.01, weight_decay=0.1)),
    ('rmsprop_weight_decay', keras('RMSprop', learning_rate=0.01, momentum=0.5, weight_decay=0.1),
     lambda p: rmsprop(p, lr=0.01, momentum=0.5, weight_decay=0.1)),
    ('adagrad_weight_decay', keras('Adagrad', learning_rate=0.1, weight_decay=0.1),
     lambda p: adagrad(p, lr=0.1, weight_decay=0.1)),
]

SCHEDULES = [
    ('sgd_momentum_step_decay',
     keras('SGD', momentum=0.9, learning_rate={
         'class_name': 'StepDecay',
         'config': {'initial_learning_rate': 0.1, 'step_size': 2, 'gamma': 0.5}}),
     lambda p: sgd(p, lr=0.1, momentum=0.9), ('steplr', 2, 0.5)),
    ('adam_exponential_decay',
     keras('Adam', learning_rate={
         'class_name': 'ExponentialDecay',
         'config': {'initial_learning_rate': 0.01, 'decay_steps': 3, 'decay_rate': 0.5}}),
     lambda p: adam(p, lr=0.01),
     ('closed', lambda s: 0.01 * 0.5 ** (s / 3))),
    ('adamw_exponential_staircase',
     keras('AdamW', learning_rate={
         'class_name': 'ExponentialDecay',
         'config': {'initial_learning_rate': 0.01, 'decay_steps': 2, 'decay_rate': 0.5,
                    'staircase': True}}),
     lambda p: adamw(p, lr=0.01),
     ('closed', lambda s: 0.01 * 0.5 ** math.floor(s / 2))),
    ('rmsprop_cosine_decay',
     keras('RMSprop', learning_rate={
         'class_name': 'CosineDecay',
         'config': {'initial_learning_rate': 0.01, 'decay_steps': 3, 'alpha': 0.1}}),
     lambda p: rmsprop(p, lr=0.01),
     ('closed', lambda s: 0.01 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 3) / 3)) + 0.1))),
]


# ------------------------------------------------------------------------------------------------

def check_margin(norm, c, what):
    """The case must not sit on a clipping threshold, where float rounding could flip the branch."""
    if abs(float(norm) - c) < 0.01 * c:
        raise RuntimeError(f'optimizer_cases: {what} norm {float(norm)} is too close to {c}')


def clip(params, clip_options):
    grads = [p.grad for p in params]
    if 'clipvalue' in clip_options:
        c = clip_options['clipvalue']
        for g in grads:
            g.clamp_(-c, c)
    if 'clipnorm' in clip_options:
        c = torch.tensor(clip_options['clipnorm'], dtype=torch.float32)
        for g in grads:
            check_margin(g.norm(), float(c), 'clipnorm')
            g.mul_(c / torch.maximum(g.norm(), c))
    if 'global_clipnorm' in clip_options:
        total = torch.nn.utils.clip_grad_norm_(params, clip_options['global_clipnorm'])
        check_margin(total, clip_options['global_clipnorm'], 'global_clipnorm')


def run_case(out_dir, name, optimizer_json, make, clip_options, schedule=None):
    rng = np.random.RandomState(zlib.crc32(name.encode()) & 0x7fffffff)
    inits = [(0.5 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
    grads = [(scale * rng.standard_normal((STEPS,) + s)).astype(np.float32)
             for s, scale in zip(SHAPES, GRAD_SCALES)]

    params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in inits]
    opt = make(params)
    scheduler = None
    if schedule is not None and schedule[0] == 'steplr':
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=schedule[1], gamma=schedule[2])
    for step in range(STEPS):
        if schedule is not None and schedule[0] == 'closed':
            for group in opt.param_groups:
                group['lr'] = schedule[1](step)
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g[step].copy())
        clip(params, clip_options)
        opt.step()
        if scheduler is not None:
            scheduler.step()

    case_dir = prepare_case_dir(out_dir, name)
    for k, p in enumerate(params):
        write_npy(os.path.join(case_dir, f'init_{k}.npy'), inits[k])
        write_npy(os.path.join(case_dir, f'grads_{k}.npy'), grads[k])
        write_npy(os.path.join(case_dir, f'final_{k}.npy'), p.detach().numpy())
        for key, value in opt.state[p].items():
            if key == 'step' or value is None:
                continue
            write_npy(os.path.join(case_dir, f'slot_{k}_{SLOT_NAMES[key]}.npy'), value.numpy())
    write_case_json(case_dir, {'oracle': ORACLE, 'optimizer': optimizer_json, 'steps': STEPS})
    return name


def with_clip(optimizer_json, clip_options):
    j = json.loads(json.dumps(optimizer_json))
    j['config'].update(clip_options)
    return j


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: optimizer_cases.py OUT_DIR')
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    names = []
    for base, optimizer_json, make in BASE:
        for suffix, clip_options in CLIPS:
            names.append(run_case(out_dir, base + suffix, with_clip(optimizer_json, clip_options),
                                  make, clip_options))
    for name, optimizer_json, make in EXTRA:
        names.append(run_case(out_dir, name, optimizer_json, make, {}))
    for name, optimizer_json, make, schedule in SCHEDULES:
        names.append(run_case(out_dir, name, optimizer_json, make, {}, schedule))
    remove_stale_cases(out_dir, ORACLE, set(names))
    index = os.path.join(out_dir, 'index.json')
    with open(index + '.tmp', 'w', encoding='utf-8') as f:
        json.dump({'oracle': ORACLE, 'cases': names}, f, indent=2)
        f.write('\n')
    os.replace(index + '.tmp', index)
    print(f'optimizer_cases: {len(names)} cases in {out_dir}')


if __name__ == '__main__':
    main()
