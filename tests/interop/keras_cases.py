"""Keras model files for tests/interop/keras_import_test.cpp, written with h5py + numpy (seeded).

Usage: /usr/bin/python3 keras_cases.py OUT_DIR

No Keras is installed here, so the files are written the way Keras writes them (layouts described
in docs/interop/keras-import.md):

  - Keras 2 full model .h5 (model.save): root attributes model_config / keras_version / backend,
    group model_weights with attribute layer_names, one group per layer with attribute
    weight_names, datasets at those names ("lstm/lstm_cell/kernel:0").
  - Keras 2 architecture JSON (model.to_json) + weights .h5 (model.save_weights: the same layer
    groups at the file root).
  - Keras 3 .keras zip: config.json, metadata.json, model.weights.h5 with
    layers/<snake_case class name>[_<n>]/vars/<i> (RNN layers: .../cell/vars/<i>, Bidirectional:
    .../forward_layer/cell/vars/<i> and .../backward_layer/cell/vars/<i>).

Configs copy the shape of real ones (tf.keras 2.11, standalone Keras 2.2.4, Keras 3.3).

Each case directory OUT_DIR/<case>/ gets the model file(s), x.npy (the input, batch-first) and
spec.json for the oracles:
  - "tfjs": the same architecture as TF.js layer constructor arguments (camelCase, every
    recurrentActivation explicit) plus the weights in getWeights() order as raw little-endian
    float32 files; tests/interop/keras_tfjs_cases.mjs builds it, predicts x and writes
    expected.npy.
  - cases TF.js cannot run (GRU reset_after=True) get expected.npy here from PyTorch (whose GRU is
    Keras's reset_after=True) and ref.safetensors, the same weights written directly as a recur
    model file (a second path into recur).
Error cases (err_*) are variants of the valid files with one thing broken.
"""

import copy
import io
import json
import os
import re
import shutil
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'oracle'))
from fixture_writer import safetensors_bytes, write_npy  # noqa: E402

RNN = ('LSTM', 'GRU', 'SimpleRNN')
GATES = {'LSTM': 4, 'GRU': 3, 'SimpleRNN': 1}


# ---------------------------------------------------------------------------------------------
# Neutral layer descriptions -> weights

def rnn_training_keys():
    """The keys Keras 2 and Keras 3 both write for a recurrent layer and that do not change its
    predictions: null regularizers and constraints, no dropout."""
    keys = {k + '_regularizer': None for k in ('kernel', 'recurrent', 'bias', 'activity')}
    keys.update({k + '_constraint': None for k in ('kernel', 'recurrent', 'bias')})
    keys.update({'dropout': 0.0, 'recurrent_dropout': 0.0})
    return keys


def layer(cls, name, **opts):
    return {'class_name': cls, 'name': name, **opts}


def rnn_weights(rng, cls, opts, features):
    """[kernel [F, G*u], recurrent_kernel [u, G*u], bias [G*u] or [2, 3u]] in Keras order."""
    u, g = opts['units'], GATES[cls]
    w = [rng.uniform(-0.6, 0.6, (features, g * u)), rng.uniform(-0.6, 0.6, (u, g * u))]
    if opts.get('use_bias', True):
        if cls == 'GRU' and opts.get('reset_after', False):
            w.append(rng.uniform(-0.3, 0.3, (2, g * u)))
        else:
            w.append(rng.uniform(-0.3, 0.3, (g * u,)))
    return [a.astype(np.float32) for a in w]


def make_weights(rng, layers, features):
    """Per layer (same order as `layers`): its weights in Keras / TF.js getWeights() order."""
    out = []
    for spec in layers:
        cls = spec['class_name']
        if cls == 'Embedding':
            w = [rng.uniform(-1, 1, (spec['input_dim'], spec['output_dim']))]
            features = spec['output_dim']
        elif cls == 'Dense':
            w = [rng.uniform(-0.8, 0.8, (features, spec['units'])),
                 rng.uniform(-0.2, 0.2, (spec['units'],))]
            features = spec['units']
        elif cls in RNN:
            w = rnn_weights(rng, cls, spec, features)
            features = spec['units']
        elif cls == 'Bidirectional':
            inner = spec['layer']
            w = rnn_weights(rng, inner['class_name'], inner, features) + \
                rnn_weights(rng, inner['class_name'], inner, features)
            mode = spec.get('merge_mode', 'concat')
            features = inner['units'] * (2 if mode == 'concat' else 1)
        else:
            raise ValueError(cls)
        out.append([np.asarray(a, dtype=np.float32) for a in w])
    return out


# ---------------------------------------------------------------------------------------------
# Configs in the dialect of each Keras version

def k2_initializers(cls):
    glorot = {'class_name': 'GlorotUniform', 'config': {'seed': None}}
    zeros = {'class_name': 'Zeros', 'config': {}}
    if cls == 'Embedding':
        return {'embeddings_initializer': {'class_name': 'RandomUniform',
                                           'config': {'minval': -0.05, 'maxval': 0.05,
                                                      'seed': None}}}
    if cls == 'Dense':
        return {'kernel_initializer': glorot, 'bias_initializer': zeros}
    return {'kernel_initializer': glorot,
            'recurrent_initializer': {'class_name': 'Orthogonal',
                                      'config': {'gain': 1.0, 'seed': None}},
            'bias_initializer': zeros}


def k2_rnn_config(spec, style, drop):
    """tf.keras 2.11 ('tf2') or standalone Keras 2.2.4 ('k22') RNN layer config."""
    cls = spec['class_name']
    c = {'name': spec['name'], 'trainable': True}
    if style == 'tf2':
        c['dtype'] = 'float32'
    c.update({'return_sequences': spec.get('return_sequences', False), 'return_state': False,
              'go_backwards': spec.get('go_backwards', False), 'stateful': False,
              'unroll': False})
    if style == 'tf2':
        c['time_major'] = False
    c.update({'units': spec['units'], 'activation': spec.get('activation', 'tanh')})
    if cls != 'SimpleRNN':
        c['recurrent_activation'] = spec.get('recurrent_activation', 'sigmoid')
    c['use_bias'] = spec.get('use_bias', True)
    c.update(k2_initializers(cls))
    if cls == 'LSTM':
        c['unit_forget_bias'] = True
    c.update(rnn_training_keys())
    if cls != 'SimpleRNN':
        c['implementation'] = 2 if style == 'tf2' else 1
    if cls == 'GRU':
        c['reset_after'] = spec.get('reset_after', style == 'tf2')
    for key in drop:  # keys the case wants absent (to exercise version defaults)
        c.pop(key, None)
    return c


def k2_layer(spec, style, first_shape=None):
    cls = spec['class_name']
    if cls in RNN:
        c = k2_rnn_config(spec, style, spec.get('drop', ()))
    elif cls == 'Bidirectional':
        c = {'name': spec['name'], 'trainable': True}
        if style == 'tf2':
            c['dtype'] = 'float32'
        inner = spec['layer']
        c['layer'] = {'class_name': inner['class_name'],
                      'config': k2_rnn_config(inner, style, inner.get('drop', ()))}
        c['merge_mode'] = spec.get('merge_mode', 'concat')
    elif cls == 'Dense':
        c = {'name': spec['name'], 'trainable': True, 'dtype': 'float32',
             'units': spec['units'], 'activation': spec.get('activation', 'linear'),
             'use_bias': True}
        c.update(k2_initializers(cls))
        c.update({'kernel_regularizer': None, 'bias_regularizer': None,
                  'activity_regularizer': None, 'kernel_constraint': None,
                  'bias_constraint': None})
    elif cls == 'Embedding':
        c = {'name': spec['name'], 'trainable': True, 'dtype': 'float32',
             'input_dim': spec['input_dim'], 'output_dim': spec['output_dim']}
        c.update(k2_initializers(cls))
        c.update({'embeddings_regularizer': None, 'activity_regularizer': None,
                  'embeddings_constraint': None, 'mask_zero': spec.get('mask_zero', False),
                  'input_length': None})
    else:
        raise ValueError(cls)
    if first_shape is not None:  # standalone Keras: the first layer carries the input shape
        items = list(c.items())
        c = dict(items[:2] + [('batch_input_shape', first_shape)] + items[2:])
    return {'class_name': cls, 'config': c}


def k2_sequential(case, style):
    shape = [None] + case['input_shape']
    layers = []
    if style == 'tf2':
        dtype = 'int32' if case.get('ids') else 'float32'
        layers.append({'class_name': 'InputLayer',
                       'config': {'batch_input_shape': shape, 'dtype': dtype, 'sparse': False,
                                  'ragged': False,
                                  'name': case['layers'][0]['name'] + '_input'}})
        layers += [k2_layer(s, style) for s in case['layers']]
    else:
        layers = [k2_layer(s, style, shape if i == 0 else None)
                  for i, s in enumerate(case['layers'])]
    return {'class_name': 'Sequential', 'config': {'name': case.get('model_name', 'sequential'),
                                                   'layers': layers}}


def k2_functional(case):
    """tf.keras 2.11 Functional: one input, a chain of layers (inbound_nodes Keras 2 style)."""
    shape = [None] + case['input_shape']
    layers = [{'class_name': 'InputLayer', 'config': {'batch_input_shape': shape,
                                                      'dtype': 'float32', 'sparse': False,
                                                      'ragged': False, 'name': 'input_1'},
               'name': 'input_1', 'inbound_nodes': []}]
    prev = 'input_1'
    for s in case['layers']:
        l = k2_layer(s, 'tf2')
        l['name'] = s['name']
        l['inbound_nodes'] = [[[prev, 0, 0, {}]]]
        layers.append(l)
        prev = s['name']
    return {'class_name': 'Functional',
            'config': {'name': 'model', 'layers': layers, 'input_layers': [['input_1', 0, 0]],
                       'output_layers': [[prev, 0, 0]]}}


def k3_obj(module, cls, config):
    return {'module': module, 'class_name': cls, 'config': config, 'registered_name': None}


def k3_policy():
    return k3_obj('keras', 'DTypePolicy', {'name': 'float32'})


def k3_initializers(cls):
    def init(name, cfg):
        return k3_obj('keras.initializers', name, cfg)
    if cls == 'Embedding':
        return {'embeddings_initializer': init('RandomUniform', {'seed': None, 'minval': -0.05,
                                                                 'maxval': 0.05})}
    if cls == 'Dense':
        return {'kernel_initializer': init('GlorotUniform', {'seed': None}),
                'bias_initializer': init('Zeros', {})}
    return {'kernel_initializer': init('GlorotUniform', {'seed': None}),
            'recurrent_initializer': init('Orthogonal', {'seed': None, 'gain': 1.0}),
            'bias_initializer': init('Zeros', {})}


def k3_rnn_config(spec, name=None, go_backwards=None, zero_output=False):
    cls = spec['class_name']
    c = {'name': name or spec['name'], 'trainable': True, 'dtype': k3_policy(),
         'return_sequences': spec.get('return_sequences', False), 'return_state': False,
         'go_backwards': spec.get('go_backwards', False) if go_backwards is None else go_backwards,
         'stateful': False, 'unroll': False, 'zero_output_for_mask': zero_output,
         'units': spec['units'], 'activation': spec.get('activation', 'tanh')}
    if cls != 'SimpleRNN':
        c['recurrent_activation'] = spec.get('recurrent_activation', 'sigmoid')
    c['use_bias'] = spec.get('use_bias', True)
    c.update(k3_initializers(cls))
    if cls == 'LSTM':
        c['unit_forget_bias'] = True
    c.update(rnn_training_keys())
    if cls == 'GRU':
        c['reset_after'] = spec.get('reset_after', True)
    c['seed'] = None
    return c


def k3_layer(spec, input_shape):
    cls = spec['class_name']
    if cls in RNN:
        c = k3_rnn_config(spec)
    elif cls == 'Bidirectional':
        inner = spec['layer']
        rs = inner.get('return_sequences', False)
        c = {'name': spec['name'], 'trainable': True, 'dtype': k3_policy(),
             'merge_mode': spec.get('merge_mode', 'concat'),
             'layer': k3_obj('keras.layers', inner['class_name'],
                             k3_rnn_config(inner, 'forward_' + inner['name'], False, rs)),
             'backward_layer': k3_obj('keras.layers', inner['class_name'],
                                      k3_rnn_config(inner, 'backward_' + inner['name'], True,
                                                    rs))}
    elif cls == 'Dense':
        c = {'name': spec['name'], 'trainable': True, 'dtype': k3_policy(),
             'units': spec['units'], 'activation': spec.get('activation', 'linear'),
             'use_bias': True}
        c.update(k3_initializers(cls))
        c.update({'kernel_regularizer': None, 'bias_regularizer': None,
                  'kernel_constraint': None, 'bias_constraint': None, 'lora_rank': None})
    elif cls == 'Embedding':
        c = {'name': spec['name'], 'trainable': True, 'dtype': k3_policy(),
             'input_dim': spec['input_dim'], 'output_dim': spec['output_dim']}
        c.update(k3_initializers(cls))
        c.update({'embeddings_regularizer': None, 'activity_regularizer': None,
                  'embeddings_constraint': None, 'mask_zero': spec.get('mask_zero', False),
                  'lora_rank': None})
    else:
        raise ValueError(cls)
    out = k3_obj('keras.layers', cls, c)
    out['build_config'] = {'input_shape': input_shape}
    return out


def layer_output_shape(spec, shape):
    """Batch shape after a layer (for Keras 3 build_config / keras tensors)."""
    cls = spec['class_name']
    if cls == 'Embedding':
        return shape + [spec['output_dim']]
    if cls == 'Dense':
        return shape[:-1] + [spec['units']]
    inner = spec['layer'] if cls == 'Bidirectional' else spec
    u = inner['units'] * (2 if cls == 'Bidirectional' and
                          spec.get('merge_mode', 'concat') == 'concat' else 1)
    return shape[:2] + [u] if inner.get('return_sequences') else [shape[0], u]


def k3_input_layer(case, name):
    dtype = 'int32' if case.get('ids') else 'float32'
    return k3_obj('keras.layers', 'InputLayer',
                  {'batch_shape': [None] + case['input_shape'], 'dtype': dtype,
                   'sparse': False, 'name': name})


def k3_sequential(case):
    shape = [None] + case['input_shape']
    layers = [k3_input_layer(case, 'input_layer')]
    for s in case['layers']:
        layers.append(k3_layer(s, shape))
        shape = layer_output_shape(s, shape)
    build = {'input_shape': [None] + case['input_shape']}
    return {'module': 'keras', 'class_name': 'Sequential',
            'config': {'name': 'sequential', 'trainable': True, 'dtype': k3_policy(),
                       'layers': layers, 'build_input_shape': [None] + case['input_shape']},
            'registered_name': None, 'build_config': build, 'compile_config': None}


def k3_functional(case):
    shape = [None] + case['input_shape']
    inp = k3_input_layer(case, 'input_layer')
    inp['name'] = 'input_layer'
    inp['inbound_nodes'] = []
    layers = [inp]
    prev = 'input_layer'
    for s in case['layers']:
        l = k3_layer(s, shape)
        l['name'] = s['name']
        tensor = {'class_name': '__keras_tensor__',
                  'config': {'shape': shape, 'dtype': 'float32', 'keras_history': [prev, 0, 0]}}
        l['inbound_nodes'] = [{'args': [tensor], 'kwargs': {'training': False, 'mask': None}
                               if s['class_name'] in RNN + ('Bidirectional',) else {}}]
        layers.append(l)
        shape = layer_output_shape(s, shape)
        prev = s['name']
    return {'module': 'keras.src.models.functional', 'class_name': 'Functional',
            'config': {'name': 'functional', 'trainable': True, 'layers': layers,
                       'input_layers': [['input_layer', 0, 0]],
                       'output_layers': [[prev, 0, 0]]},
            'registered_name': 'Functional', 'build_config': {'input_shape': None},
            'compile_config': None}


# ---------------------------------------------------------------------------------------------
# Weight names and file layouts

def k2_weight_names(spec, style, counters):
    """Keras 2 weight names of one layer (tf.keras: 'lstm/lstm_cell/kernel:0'; Keras 2.2:
    'lstm_1/kernel:0'), in weight order."""
    def cell_prefix(cls):
        base = {'LSTM': 'lstm_cell', 'GRU': 'gru_cell', 'SimpleRNN': 'simple_rnn_cell'}[cls]
        n = counters.get(base, 0)
        counters[base] = n + 1
        return base if n == 0 else f'{base}_{n}'

    def rnn(prefix, cls):
        if style == 'tf2':
            prefix = prefix + '/' + cell_prefix(cls)
        return [f'{prefix}/kernel:0', f'{prefix}/recurrent_kernel:0', f'{prefix}/bias:0']

    cls, name = spec['class_name'], spec['name']
    if cls in RNN:
        return rnn(name, cls)
    if cls == 'Bidirectional':
        inner = spec['layer']
        return (rnn(f'{name}/forward_{inner["name"]}', inner['class_name']) +
                rnn(f'{name}/backward_{inner["name"]}', inner['class_name']))
    if cls == 'Dense':
        return [f'{name}/kernel:0', f'{name}/bias:0']
    if cls == 'Embedding':
        return [f'{name}/embeddings:0']
    raise ValueError(cls)


def as_attr_strings(names, vlen):
    if vlen:
        return np.array(names, dtype=h5py.string_dtype())
    return np.array([n.encode('utf8') for n in names])


def write_k2_layer_groups(root, case, weights, style):
    """Layer groups with weight_names attributes and the datasets (model.save_weights layout).
    Keras 2 writes these attributes as numpy byte strings (fixed-length HDF5 strings); a layer
    without weights (a Functional model's InputLayer) gets an empty float64 weight_names."""
    counters = {}
    names = (['input_1'] if case.get('functional') else []) + [s['name'] for s in case['layers']]
    root.attrs['layer_names'] = as_attr_strings(names, False)
    root.attrs['backend'] = b'tensorflow'
    root.attrs['keras_version'] = case['keras_version'].encode()
    if case.get('functional'):
        root.create_group('input_1').attrs['weight_names'] = np.asarray([])
    for spec, ws in zip(case['layers'], weights):
        g = root.create_group(spec['name'])
        wnames = k2_weight_names(spec, style, counters)
        g.attrs['weight_names'] = as_attr_strings(wnames, False)
        for wn, a in zip(wnames, ws):
            g.create_dataset(wn, data=a)


def write_k2_h5(path, case, weights, style, vlen_attrs=True):
    """Keras 2 model.save(): model_config + model_weights. tf.keras writes the root attributes
    as str (variable-length strings), standalone Keras 2.2 as bytes (fixed-length)."""
    config = k2_functional(case) if case.get('functional') else k2_sequential(case, style)
    with h5py.File(path, 'w') as f:
        if vlen_attrs:
            f.attrs['backend'] = 'tensorflow'
            f.attrs['keras_version'] = case['keras_version']
            f.attrs['model_config'] = json.dumps(config)
        else:
            f.attrs['keras_version'] = case['keras_version'].encode()
            f.attrs['backend'] = b'tensorflow'
            f.attrs['model_config'] = json.dumps(config).encode()
        write_k2_layer_groups(f.create_group('model_weights'), case, weights, style)
    return config


def write_k2_json_and_weights(json_path, h5_path, case, weights):
    """Keras 2 model.to_json() + model.save_weights('w.h5')."""
    config = k2_functional(case) if case.get('functional') else k2_sequential(case, 'tf2')
    config = dict(config, keras_version=case['keras_version'], backend='tensorflow')
    with open(json_path, 'w') as f:
        f.write(json.dumps(config))
    with h5py.File(h5_path, 'w') as f:
        write_k2_layer_groups(f, case, weights, 'tf2')


def snake_case(name):
    name = re.sub(r'\W+', '', name)
    name = re.sub('(.)([A-Z][a-z]+)', r'\1_\2', name)
    name = re.sub('([a-z])([A-Z])', r'\1_\2', name)
    return name.lower()


def k3_weights_h5(case, weights, functional):
    """model.weights.h5 bytes: vars under layers/<snake_case(class)>[_n]/..."""
    buf = io.BytesIO()
    with h5py.File(buf, 'w') as f:
        f.create_group('vars')  # the model's own (none)
        layers = f.create_group('layers')
        used = {}
        specs = ([{'class_name': 'InputLayer'}] if functional else []) + case['layers']
        ws = ([[]] if functional else []) + weights
        for spec, w in zip(specs, ws):
            base = snake_case(spec['class_name'])
            if base in used:
                used[base] += 1
                base = f'{base}_{used[base]}'
            else:
                used[base] = 0
            g = layers.create_group(base)
            g.create_group('vars')
            cls = spec['class_name']
            if cls in RNN:
                v = g.create_group('cell').create_group('vars')
                for i, a in enumerate(w):
                    v.create_dataset(str(i), data=a)
            elif cls == 'Bidirectional':
                half = len(w) // 2
                for part, arrays in (('forward_layer', w[:half]), ('backward_layer', w[half:])):
                    p = g.create_group(part)
                    p.create_group('vars')
                    v = p.create_group('cell').create_group('vars')
                    for i, a in enumerate(arrays):
                        v.create_dataset(str(i), data=a)
            else:
                for i, a in enumerate(w):
                    g['vars'].create_dataset(str(i), data=a)
        f.create_group('optimizer').create_group('vars')
    return buf.getvalue()


def write_keras3(path, case, weights, skip=()):
    functional = bool(case.get('functional'))
    config = k3_functional(case) if functional else k3_sequential(case)
    metadata = {'keras_version': case['keras_version'], 'date_saved': '2024-05-01@12:00:00'}
    entries = {'metadata.json': json.dumps(metadata), 'config.json': json.dumps(config),
               'model.weights.h5': k3_weights_h5(case, weights, functional)}
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            if name not in skip:
                z.writestr(name, data)
    return config


# ---------------------------------------------------------------------------------------------
# Oracle specs

def camel(key):
    parts = key.split('_')
    return parts[0] + ''.join(p.title() for p in parts[1:])


TFJS_ACTIVATIONS = {'hard_sigmoid': 'hardSigmoid', 'hard_sigmoid_v3': 'hardSigmoidV3'}
TFJS_TYPES = {'LSTM': 'lstm', 'GRU': 'gru', 'SimpleRNN': 'simpleRNN', 'Dense': 'dense',
              'Embedding': 'embedding', 'Bidirectional': 'bidirectional'}


def tfjs_args(spec, keras3):
    """Constructor arguments with the semantics the file has (every activation explicit)."""
    cls = spec['class_name']
    args = {'name': spec['name']}
    for k, v in spec.items():
        if k in ('class_name', 'name', 'layer', 'drop'):
            continue
        args[camel(k)] = v
    if cls in RNN:
        args.setdefault('activation', 'tanh')
        if cls != 'SimpleRNN':
            ra = spec.get('recurrent_activation', spec.get('default_ra', 'sigmoid'))
            if keras3 and ra == 'hard_sigmoid':
                ra = 'hard_sigmoid_v3'
            args['recurrentActivation'] = ra
        args.pop('defaultRa', None)
        if cls == 'GRU':
            args['resetAfter'] = spec.get('reset_after', False)
    for k in ('activation', 'recurrentActivation'):
        if k in args:
            args[k] = TFJS_ACTIVATIONS.get(args[k], args[k])
    if cls == 'Bidirectional':
        inner = spec['layer']
        args['layer'] = {'type': TFJS_TYPES[inner['class_name']],
                         'args': tfjs_args(inner, keras3)}
        args['mergeMode'] = spec.get('merge_mode', 'concat')
    return args


def write_case(out, name, case, rng, files):
    """Inputs, weights and the oracle spec; `files(dir, weights)` writes the model file(s)."""
    d = os.path.join(out, name)
    os.makedirs(d)
    features = case['input_shape'][-1] if not case.get('ids') else None
    weights = make_weights(rng, case['layers'], features)
    n, t = 3, case['input_shape'][0]
    if case.get('ids'):
        x = rng.integers(1, case['layers'][0]['input_dim'], (n, t)).astype(np.int32)
        for i, length in enumerate((t, t - 2, t - 4)):  # zero padding at the end
            x[i, length:] = 0
    else:
        x = rng.uniform(-1, 1, (n, t, features)).astype(np.float32)
    np.save(os.path.join(d, 'x.npy'), x)
    flat = [a for ws in weights for a in ws]
    for i, a in enumerate(flat):
        a.astype('<f4').tofile(os.path.join(d, f'w{i}.bin'))
    keras3 = case['keras_version'].startswith('3.')
    spec = {'input_shape': case['input_shape'], 'ids': bool(case.get('ids')),
            'functional': bool(case.get('functional')),
            'weights': [{'file': f'w{i}.bin', 'shape': list(a.shape)} for i, a in enumerate(flat)],
            'x': {'file': 'x.bin', 'shape': list(x.shape),
                  'dtype': 'int32' if case.get('ids') else 'float32'}}
    x.astype('<i4' if case.get('ids') else '<f4').tofile(os.path.join(d, 'x.bin'))
    if case.get('oracle', 'tfjs') == 'tfjs':
        spec['tfjs'] = [{'type': TFJS_TYPES[s['class_name']], 'args': tfjs_args(s, keras3)}
                        for s in case['layers']]
    with open(os.path.join(d, 'spec.json'), 'w') as f:
        json.dump(spec, f, indent=1)
    files(d, weights)
    return d, weights, x


# ---------------------------------------------------------------------------------------------
# PyTorch oracle for GRU reset_after=True (PyTorch's GRU) followed by Dense

def torch_gru_dense(x, w_gru, w_dense, units):
    import torch
    kernel, recurrent, bias = (torch.from_numpy(a.astype(np.float64)) for a in w_gru)

    def reorder(m):  # Keras column blocks (z, r, h) -> PyTorch row blocks (r, z, n)
        z, r, h = m[..., :units], m[..., units:2 * units], m[..., 2 * units:]
        return torch.cat([r, z, h], dim=-1)

    gru = torch.nn.GRU(kernel.shape[0], units, batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(reorder(kernel).T)
        gru.weight_hh_l0.copy_(reorder(recurrent).T)
        gru.bias_ih_l0.copy_(reorder(bias[0]))
        gru.bias_hh_l0.copy_(reorder(bias[1]))
        _, h = gru(torch.from_numpy(x.astype(np.float64)))
        y = h[0] @ torch.from_numpy(w_dense[0].astype(np.float64)) + \
            torch.from_numpy(w_dense[1].astype(np.float64))
    return y.numpy().astype(np.float32)


def recur_reference(config_layers, input_shape, weights, names):
    """The same model written directly as a recur model file (DESIGN.md §3)."""
    layers = []
    for i, l in enumerate(config_layers):
        l = copy.deepcopy(l)
        if i == 0:
            l['config']['batch_input_shape'] = [None] + input_shape
        layers.append(l)
    model = {'class_name': 'Sequential', 'config': {'name': 'reference', 'layers': layers}}
    tensors = {}
    for (layer_name, wnames), ws in zip(names, weights):
        for wn, a in zip(wnames, ws):
            tensors[f'{layer_name}/{wn}'] = a
    return safetensors_bytes(tensors, {'recur.format': '1', 'recur.model': json.dumps(model)})


# ---------------------------------------------------------------------------------------------

def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(20240501)

    # 1. tf.keras 2.11 full model: LSTM -> LSTM -> Dense(softmax).
    k2_lstm = {'keras_version': '2.11.0', 'input_shape': [6, 3], 'layers': [
        layer('LSTM', 'lstm', units=5, return_sequences=True, recurrent_activation='sigmoid'),
        layer('LSTM', 'lstm_1', units=4, recurrent_activation='sigmoid', go_backwards=True),
        layer('Dense', 'dense', units=3, activation='softmax')]}
    d, w, _ = write_case(out, 'k2_lstm', k2_lstm, rng,
                         lambda d, w: write_k2_h5(os.path.join(d, 'model.h5'), k2_lstm, w, 'tf2'))
    base_dir, base_weights = d, w

    # 2. tf.keras architecture JSON + save_weights .h5: GRU(reset_after=False) -> SimpleRNN -> Dense.
    k2_gru = {'keras_version': '2.11.0', 'input_shape': [7, 4], 'layers': [
        layer('GRU', 'gru', units=4, return_sequences=True, reset_after=False,
              recurrent_activation='sigmoid'),
        layer('SimpleRNN', 'simple_rnn', units=3, activation='relu'),
        layer('Dense', 'dense', units=2)]}
    write_case(out, 'k2_gru_json', k2_gru, rng,
               lambda d, w: write_k2_json_and_weights(os.path.join(d, 'arch.json'),
                                                      os.path.join(d, 'weights.h5'), k2_gru, w))

    # 3. GRU reset_after=True (TF.js cannot run it): tf.keras .h5 and Keras 3 .keras with the same
    #    weights; expected output from PyTorch, plus the same weights as a recur model file.
    gru_ra = {'keras_version': '2.11.0', 'input_shape': [5, 3], 'oracle': 'torch', 'layers': [
        layer('GRU', 'gru', units=4, reset_after=True, recurrent_activation='sigmoid'),
        layer('Dense', 'dense', units=2)]}

    def gru_ra_files(d, w):
        write_k2_h5(os.path.join(d, 'model.h5'), gru_ra, w, 'tf2')
        write_keras3(os.path.join(d, 'model.keras'), dict(gru_ra, keras_version='3.3.3'), w)
    d, w, x = write_case(out, 'gru_reset_after', gru_ra, rng, gru_ra_files)
    np.save(os.path.join(d, 'expected.npy'), torch_gru_dense(x, w[0], w[1], 4))
    cfg = k2_sequential(gru_ra, 'tf2')['config']['layers'][1:]
    with open(os.path.join(d, 'ref.safetensors'), 'wb') as f:
        f.write(recur_reference(cfg, gru_ra['input_shape'], w,
                                [('gru', ['kernel', 'recurrent_kernel', 'bias']),
                                 ('dense', ['kernel', 'bias'])]))

    # 4. Embedding(mask_zero) -> Bidirectional(LSTM, return_sequences) -> GRU -> Dense(softmax),
    #    tf.keras .h5 with zero-padded ids.
    k2_bidi = {'keras_version': '2.11.0', 'input_shape': [7], 'ids': True, 'layers': [
        layer('Embedding', 'embedding', input_dim=12, output_dim=4, mask_zero=True),
        layer('Bidirectional', 'bidirectional',
              layer=layer('LSTM', 'lstm', units=3, return_sequences=True,
                          recurrent_activation='sigmoid')),
        layer('GRU', 'gru', units=3, reset_after=False, recurrent_activation='sigmoid'),
        layer('Dense', 'dense', units=4, activation='softmax')]}
    write_case(out, 'k2_embedding_bidi', k2_bidi, rng,
               lambda d, w: write_k2_h5(os.path.join(d, 'model.h5'), k2_bidi, w, 'tf2'))

    # 5. Standalone Keras 2.2.4 (fixed-length byte-string attributes, 'lstm_1/kernel:0' names),
    #    relying on that version's defaults: recurrent_activation hard_sigmoid, GRU reset_after
    #    False (both keys left out of the config).
    k22 = {'keras_version': '2.2.4', 'input_shape': [6, 2], 'model_name': 'sequential_1',
           'layers': [
               layer('LSTM', 'lstm_1', units=4, return_sequences=True,
                     drop=('recurrent_activation',), default_ra='hard_sigmoid'),
               layer('GRU', 'gru_1', units=3, drop=('recurrent_activation', 'reset_after'),
                     default_ra='hard_sigmoid'),
               layer('Dense', 'dense_1', units=2, activation='softmax')]}
    write_case(out, 'k22_defaults', k22, rng,
               lambda d, w: write_k2_h5(os.path.join(d, 'model.h5'), k22, w, 'k22',
                                        vlen_attrs=False))

    # 6. Keras 3 Sequential .keras: LSTM with hard_sigmoid (Keras 3's: x/6 + 1/2) -> GRU -> Dense.
    k3_seq = {'keras_version': '3.3.3', 'input_shape': [6, 3], 'layers': [
        layer('LSTM', 'lstm', units=5, return_sequences=True, recurrent_activation='hard_sigmoid'),
        layer('GRU', 'gru', units=3, reset_after=False, recurrent_activation='sigmoid'),
        layer('Dense', 'dense', units=2, activation='softmax')]}
    write_case(out, 'k3_sequential', k3_seq, rng,
               lambda d, w: write_keras3(os.path.join(d, 'model.keras'), k3_seq, w))
    k3_dir = os.path.join(out, 'k3_sequential')

    # 7. Keras 3 Functional .keras: Input -> Bidirectional(GRU) -> LSTM -> Dense(relu) -> Dense.
    k3_fun = {'keras_version': '3.3.3', 'input_shape': [5, 4], 'functional': True, 'layers': [
        layer('Bidirectional', 'bidirectional',
              layer=layer('GRU', 'gru', units=3, reset_after=False, return_sequences=True,
                          recurrent_activation='sigmoid')),
        layer('LSTM', 'lstm', units=4, recurrent_activation='sigmoid'),
        layer('Dense', 'dense', units=3, activation='relu'),
        layer('Dense', 'dense_1', units=2)]}
    write_case(out, 'k3_functional', k3_fun, rng,
               lambda d, w: write_keras3(os.path.join(d, 'model.keras'), k3_fun, w))

    # 8. tf.keras Functional .h5: Input -> SimpleRNN -> Bidirectional(LSTM, sum) -> Dense.
    k2_fun = {'keras_version': '2.11.0', 'input_shape': [6, 3], 'functional': True, 'layers': [
        layer('SimpleRNN', 'simple_rnn', units=4, return_sequences=True),
        layer('Bidirectional', 'bidirectional', merge_mode='sum',
              layer=layer('LSTM', 'lstm', units=3, recurrent_activation='sigmoid')),
        layer('Dense', 'dense', units=2)]}
    write_case(out, 'k2_functional', k2_fun, rng,
               lambda d, w: write_k2_h5(os.path.join(d, 'model.h5'), k2_fun, w, 'tf2'))

    # ---- error cases (variants of k2_lstm / k3_sequential) -----------------------------------
    err = os.path.join(out, 'errors')
    os.makedirs(err)
    src = os.path.join(base_dir, 'model.h5')
    kernel = 'model_weights/lstm/lstm/lstm_cell/kernel:0'

    def variant(name, edit):
        path = os.path.join(err, name)
        shutil.copy(src, path)
        with h5py.File(path, 'r+') as f:
            edit(f, path)

    with h5py.File(os.path.join(err, 'target.h5'), 'w') as f:
        f['kernel'] = base_weights[0][0]

    def external_link(f, path):
        del f[kernel]
        f[kernel] = h5py.ExternalLink('target.h5', '/kernel')
    variant('external_link.h5', external_link)

    def soft_link(f, path):
        data = f[kernel][()]
        del f[kernel]
        f['model_weights/elsewhere'] = data
        f[kernel] = h5py.SoftLink('/model_weights/elsewhere')
    variant('soft_link.h5', soft_link)

    def virtual(f, path):
        shape = f[kernel].shape
        del f[kernel]
        layout = h5py.VirtualLayout(shape=shape, dtype='f4')
        layout[:] = h5py.VirtualSource('target.h5', 'kernel', shape=shape)
        f.create_virtual_dataset(kernel, layout)
    variant('virtual.h5', virtual)

    def external_storage(f, path):
        data = f[kernel][()]
        del f[kernel]
        raw = os.path.join(err, 'raw.bin')
        data.astype('<f4').tofile(raw)
        f.create_dataset(kernel, shape=data.shape, dtype='<f4',
                         external=[('raw.bin', 0, data.nbytes)])
    variant('external_storage.h5', external_storage)

    def missing_weight(f, path):
        g = f['model_weights/lstm']
        names = [n.decode() for n in g.attrs['weight_names']]
        # (written back as variable-length strings: both kinds of string attribute get read)
        g.attrs['weight_names'] = np.array([n for n in names if 'recurrent_kernel' not in n],
                                           dtype=h5py.string_dtype())
        del f['model_weights/lstm/lstm/lstm_cell/recurrent_kernel:0']
    variant('missing_weight.h5', missing_weight)

    def wrong_shape(f, path):
        data = f[kernel][()]
        del f[kernel]
        f[kernel] = np.concatenate([data, data[:1]], axis=0)  # [4, 20] instead of [3, 20]
    variant('wrong_shape.h5', wrong_shape)

    def unwritten(f, path):  # created, never written: HDF5 would return fill values
        shape = f[kernel].shape
        del f[kernel]
        f.create_dataset(kernel, shape=shape, dtype='f4', chunks=(1, shape[1]))
    variant('unwritten.h5', unwritten)

    def no_config(f, path):
        del f.attrs['model_config']
    variant('no_config.h5', no_config)

    # A damaged global heap: the heap object holding the variable-length keras_version string
    # claims ~2^45 bytes (one byte of its 8-byte size set). libhdf5 1.10 copies that many bytes
    # out of a 4 KB heap collection and crashes; the importer must refuse the file cleanly.
    data = bytearray(open(src, 'rb').read())
    heap = data.find(b'GCOL')
    heap_end = heap + int.from_bytes(data[heap + 8:heap + 16], 'little')
    at, patched = heap + 16, False
    while at < heap_end and not patched:  # objects: index u16, refs u16, 4 reserved, size u64
        index = int.from_bytes(data[at:at + 2], 'little')
        size = int.from_bytes(data[at + 8:at + 16], 'little')
        if index == 0:
            break
        if data[at + 16:at + 16 + size] == k2_lstm['keras_version'].encode():
            data[at + 13] = 0x20
            patched = True
        at += 16 + (size + 7) // 8 * 8
    assert patched, 'no keras_version string in the global heap of ' + src
    with open(os.path.join(err, 'heap_overrun.h5'), 'wb') as f:
        f.write(bytes(data))

    k3_path = os.path.join(k3_dir, 'model.keras')
    with zipfile.ZipFile(k3_path) as z:
        parts = {n: z.read(n) for n in z.namelist()}

    def zip_variant(name, entries):
        with zipfile.ZipFile(os.path.join(err, name), 'w', compression=zipfile.ZIP_DEFLATED) as z:
            for n, data in entries.items():
                z.writestr(n, data)
    zip_variant('no_config.keras', {n: v for n, v in parts.items() if n != 'config.json'})
    fun_path = os.path.join(out, 'k3_functional', 'model.keras')
    with zipfile.ZipFile(fun_path) as z:
        fun_parts = {n: z.read(n) for n in z.namelist()}
    fun_config = json.loads(fun_parts['config.json'])
    bidi = fun_config['config']['layers'][1]['config']
    bidi['backward_layer']['config']['activation'] = 'relu'
    zip_variant('bidi_mismatch.keras', dict(fun_parts, **{'config.json': json.dumps(fun_config)}))
    # model.weights.h5 declaring ~4 GB uncompressed (local header and central directory agree).
    data = bytearray(open(k3_path, 'rb').read())
    name = b'model.weights.h5'
    for sig, size_at in ((b'PK\x03\x04', 22), (b'PK\x01\x02', 24)):
        name_at = {b'PK\x03\x04': 30, b'PK\x01\x02': 46}[sig]
        at = 0
        while (at := data.find(sig, at)) >= 0:
            if data[at + name_at:at + name_at + len(name)] == name:
                data[at + size_at:at + size_at + 4] = (0xFFFFFFF0).to_bytes(4, 'little')
            at += 4
    with open(os.path.join(err, 'huge_entry.keras'), 'wb') as f:
        f.write(bytes(data))
    zip_variant('bad_weights.keras', dict(parts, **{'model.weights.h5': b'not an HDF5 file'}))
    buf = io.BytesIO(parts['model.weights.h5'])
    with h5py.File(buf, 'r+') as f:
        del f['layers/gru/cell/vars/2']
    zip_variant('missing_var.keras', dict(parts, **{'model.weights.h5': buf.getvalue()}))
    print(f'keras_cases: wrote {len(os.listdir(out)) - 1} cases and {len(os.listdir(err))} '
          f'error files to {out}')


if __name__ == '__main__':
    main()
