// Oracle fixtures with Keras semantics, computed by TensorFlow.js layers (pure-JS CPU backend,
// float32). Usage:
//
//   NODE_PATH=<repo>/.deps/node/node_modules node tests/oracle/tfjs_cases.mjs OUT_DIR
//
// Writes one folder per case in the format of tests/oracle/README.md and prints one line per
// case. Everything is seeded: running it twice gives identical files.
//
// How the models are evaluated: the layers are created with tf.layers.* and their weights set
// explicitly, then called one after the other on concrete tensors, each layer receiving the mask
// that the previous one computes (layer.computeMask), which is what a Keras Sequential model does.
// We do not call the Sequential model itself because TF.js's graph executor stores the computed
// mask in the node's call arguments on the first call and reuses it on later calls.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  Rng, KFloat, kerasJson, prepareCaseDir, writeCaseJson, writeNpy, writeSafetensors,
} from './fixture_writer.mjs';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));

function loadTfjs() {
  const require = createRequire(import.meta.url);
  // The umbrella package prints a hint about tfjs-node on load; keep our output one line a case.
  const log = console.log;
  const warn = console.warn;
  console.log = () => {};
  console.warn = () => {};
  try {
    try {
      return require('@tensorflow/tfjs'); // honours NODE_PATH
    } catch (first) {
      const fallback = path.resolve(scriptDir, '../../.deps/node/node_modules/@tensorflow/tfjs');
      try {
        return require(fallback);
      } catch {
        throw new Error(
          `cannot load @tensorflow/tfjs (set NODE_PATH, or run scripts/bootstrap): ${first.message}`);
      }
    }
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

const tf = loadTfjs();
// TF.js prints hints (tfjs-node, initializer speed) through console.log/warn; our own output goes
// through process.stdout so that it stays one line per case.
console.log = () => {};
console.warn = () => {};
const say = (line) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Layer specifications: one object describes a layer for TF.js and for the recur model file.
//
//   {type: 'lstm'|'gru'|'simple_rnn', name, units, activation, recurrentActivation, useBias,
//    returnSequences, goBackwards}
//   {type: 'bidirectional', name, mergeMode, layer: <recurrent spec>}
//   {type: 'dense', name, units, activation, useBias}
//   {type: 'embedding', name, inputDim, outputDim, maskZero}
//   {type: 'masking', name, maskValue}

const RECURRENT = new Set(['lstm', 'gru', 'simple_rnn']);
const KERAS_CLASS = {
  lstm: 'LSTM', gru: 'GRU', simple_rnn: 'SimpleRNN', bidirectional: 'Bidirectional',
  dense: 'Dense', embedding: 'Embedding', masking: 'Masking',
};
const TFJS_ACTIVATION = {
  tanh: 'tanh', sigmoid: 'sigmoid', hard_sigmoid: 'hardSigmoid', relu: 'relu', linear: 'linear',
  softmax: 'softmax',
};

function tfjsActivation(name) {
  const a = TFJS_ACTIVATION[name];
  if (!a) throw new Error(`unknown activation ${name}`);
  return a;
}

function rnnDefaults(spec) {
  return {
    activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true, returnSequences: false,
    goBackwards: false, ...spec,
  };
}

// A TF.js layer for the spec. returnState: for the direct recurrent layer of initial-state cases.
function makeLayer(spec, { returnState = false } = {}) {
  switch (spec.type) {
    case 'lstm':
    case 'gru':
    case 'simple_rnn': {
      const s = rnnDefaults(spec);
      const args = {
        name: s.name, units: s.units, activation: tfjsActivation(s.activation),
        useBias: s.useBias, returnSequences: s.returnSequences, goBackwards: s.goBackwards,
        returnState,
        // Every weight is overwritten below; skip TF.js's (slow, orthogonal) initializers.
        kernelInitializer: 'zeros', recurrentInitializer: 'zeros', biasInitializer: 'zeros',
      };
      if (s.type === 'simple_rnn') return tf.layers.simpleRNN(args);
      // TF.js's own default recurrent activation is hardSigmoid: always pass it.
      args.recurrentActivation = tfjsActivation(s.recurrentActivation);
      if (s.type === 'lstm') return tf.layers.lstm({ ...args, unitForgetBias: false });
      return tf.layers.gru({ ...args, resetAfter: false });
    }
    case 'bidirectional':
      return tf.layers.bidirectional({
        name: spec.name, mergeMode: spec.mergeMode, layer: makeLayer(spec.layer),
      });
    case 'dense':
      return tf.layers.dense({
        name: spec.name, units: spec.units, activation: tfjsActivation(spec.activation ?? 'linear'),
        useBias: spec.useBias ?? true,
      });
    case 'embedding':
      return tf.layers.embedding({
        name: spec.name, inputDim: spec.inputDim, outputDim: spec.outputDim,
        maskZero: spec.maskZero ?? false,
      });
    case 'masking':
      return tf.layers.masking({ name: spec.name, maskValue: spec.maskValue ?? 0 });
    default:
      throw new Error(`unknown layer type ${spec.type}`);
  }
}

// The layer's config for recur.model, with Keras's names.
function kerasConfig(spec) {
  switch (spec.type) {
    case 'lstm':
    case 'gru':
    case 'simple_rnn': {
      const s = rnnDefaults(spec);
      const c = { name: s.name, units: s.units, activation: s.activation };
      if (s.type !== 'simple_rnn') c.recurrent_activation = s.recurrentActivation;
      Object.assign(c, {
        use_bias: s.useBias, return_sequences: s.returnSequences, return_state: false,
        go_backwards: s.goBackwards, stateful: false, dropout: new KFloat(0),
        recurrent_dropout: new KFloat(0),
      });
      if (s.type === 'gru') c.reset_after = false;
      return c;
    }
    case 'bidirectional':
      return {
        name: spec.name, merge_mode: spec.mergeMode,
        layer: { class_name: KERAS_CLASS[spec.layer.type], config: kerasConfig(spec.layer) },
      };
    case 'dense':
      return {
        name: spec.name, units: spec.units, activation: spec.activation ?? 'linear',
        use_bias: spec.useBias ?? true,
      };
    case 'embedding':
      return {
        name: spec.name, input_dim: spec.inputDim, output_dim: spec.outputDim,
        mask_zero: spec.maskZero ?? false,
      };
    case 'masking':
      return { name: spec.name, mask_value: new KFloat(spec.maskValue ?? 0) };
    default:
      throw new Error(`unknown layer type ${spec.type}`);
  }
}

function kerasModelJson(specs, featureDim) {
  const layers = specs.map((spec, i) => {
    const config = kerasConfig(spec);
    if (i === 0) {
      const shape = spec.type === 'embedding' ? [null, null] : [null, null, featureDim];
      return { class_name: KERAS_CLASS[spec.type], config: { batch_input_shape: shape, ...config } };
    }
    return { class_name: KERAS_CLASS[spec.type], config };
  });
  return kerasJson({ class_name: 'Sequential', config: { name: 'sequential', layers } });
}

// Names of the layer's weights in the model file, in the order of TF.js's layer.weights.
function weightNames(spec) {
  switch (spec.type) {
    case 'lstm':
    case 'gru':
    case 'simple_rnn': {
      const names = ['kernel', 'recurrent_kernel'];
      if (spec.useBias ?? true) names.push('bias');
      return names.map((w) => `${spec.name}/${w}`);
    }
    case 'bidirectional': {
      const inner = weightNames({ ...spec.layer, name: '' }).map((n) => n.slice(1));
      return [
        ...inner.map((w) => `${spec.name}/forward/${w}`),
        ...inner.map((w) => `${spec.name}/backward/${w}`),
      ];
    }
    case 'dense':
      return (spec.useBias ?? true) ? [`${spec.name}/kernel`, `${spec.name}/bias`]
        : [`${spec.name}/kernel`];
    case 'embedding':
      return [`${spec.name}/embeddings`];
    case 'masking':
      return [];
    default:
      throw new Error(`unknown layer type ${spec.type}`);
  }
}

// TF.js names a weight '<layer>/<weight>' (bidirectional: '<layer>/forward_<inner>/<weight>'),
// made unique with a suffix; check that its last component agrees with the name we give it.
function checkWeightName(tfName, ourName) {
  const base = (s) => s.split('/').pop().replace(/_\d+$/, '');
  if (base(tfName) !== base(ourName)) {
    throw new Error(`weight order mismatch: TF.js ${tfName} vs model file ${ourName}`);
  }
  const dir = (s) => s.split('/').slice(-2, -1)[0] ?? '';
  if (ourName.includes('/forward/') && !dir(tfName).startsWith('forward')) {
    throw new Error(`weight order mismatch: TF.js ${tfName} vs model file ${ourName}`);
  }
  if (ourName.includes('/backward/') && !dir(tfName).startsWith('backward')) {
    throw new Error(`weight order mismatch: TF.js ${tfName} vs model file ${ourName}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs and masks

// valid[n][t]: whether step t of sequence n is real (not padding).
function validSteps(N, T, pattern) {
  const valid = [];
  for (let n = 0; n < N; ++n) {
    const row = new Array(T).fill(true);
    if (pattern?.lengths) {
      const len = pattern.lengths[n];
      for (let t = 0; t < T; ++t) {
        row[t] = pattern.kind === 'pre' ? t >= T - len : t < len;
      }
    }
    for (const [hn, ht] of pattern?.holes ?? []) {
      if (hn === n) row[ht] = false;
    }
    valid.push(row);
  }
  return valid;
}

function floatInput(rng, N, T, F, valid) {
  const x = rng.normalArray(N * T * F);
  for (let n = 0; n < N; ++n) {
    for (let t = 0; t < T; ++t) {
      if (!valid[n][t]) x.fill(0, (n * T + t) * F, (n * T + t + 1) * F);
    }
  }
  return x;
}

function tokenInput(rng, N, T, vocab, valid) {
  const ids = new BigInt64Array(N * T);
  for (let n = 0; n < N; ++n) {
    for (let t = 0; t < T; ++t) ids[n * T + t] = valid[n][t] ? BigInt(rng.int(1, vocab - 1)) : 0n;
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Running one case

// Calls the layers in order on concrete tensors, passing masks along like Keras's Sequential.
// The recurrent layer (for initial-state cases) gets initialState and returns its final states.
//
// maskingGrad: TF.js has no gradient for the `any` op inside Masking.call, so when
// differentiating, a Masking layer is replaced by what it computes, x * mask, with the mask taken
// from the concrete input (the mask is piecewise constant in x, so its gradient is zero anyway).
// runCase checks that this gives the same values as the layer itself.
function forward(layers, specs, x, initialState, maskingGrad = null) {
  let h = x;
  let mask = null;
  let finalStates = null;
  for (let i = 0; i < layers.length; ++i) {
    const layer = layers[i];
    if (specs[i].type === 'masking' && maskingGrad) {
      h = tf.mul(h, tf.cast(tf.expandDims(maskingGrad, -1), h.dtype));
      mask = maskingGrad;
      continue;
    }
    const kwargs = { training: false };
    if (mask != null) kwargs.mask = mask;
    if (RECURRENT.has(specs[i].type) && initialState) kwargs.initialState = initialState;
    let out = layer.apply(h, kwargs);
    let outMask = layer.computeMask(h, mask ?? undefined);
    if (Array.isArray(out)) {
      finalStates = out.slice(1);
      out = out[0];
    }
    if (Array.isArray(outMask)) outMask = outMask[0];
    // Python Keras (tf.keras 2 and Keras 3) forces zero_output_for_mask on both halves of a
    // Bidirectional that returns sequences, so masked steps output zeros; TF.js does not. recur
    // follows Python Keras: emulate it here (zeros merge to zeros in every merge mode).
    if (specs[i].type === 'bidirectional' && specs[i].layer.returnSequences && mask != null) {
      out = tf.mul(out, tf.expandDims(tf.cast(mask, out.dtype), -1));
    }
    h = out;
    mask = outMask ?? null;
  }
  return { y: h, finalStates };
}

function toArray(t) {
  return { data: Float32Array.from(t.dataSync()), shape: t.shape.slice() };
}

function maxAbs(a) {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function runCase(outDir, c) {
  const rng = new Rng(c.seed);
  const specs = c.layers;
  const { N, T } = c;
  const tokens = specs[0].type === 'embedding';
  const F = tokens ? null : c.F;
  const initial = c.initialState ?? false;
  const checkGrads = c.checkGrads ?? false;
  const weightScale = c.weightScale ?? 0.6;
  const recurrentIndex = specs.findIndex((s) => RECURRENT.has(s.type));
  if (initial && (specs.filter((s) => RECURRENT.has(s.type)).length !== 1
                  || specs.some((s) => s.type === 'bidirectional'))) {
    throw new Error(`${c.name}: initial states need exactly one (not bidirectional) recurrent layer`);
  }

  return tf.tidy(() => {
    const valid = validSteps(N, T, c.pattern);
    const xData = tokens ? tokenInput(rng, N, T, specs[0].inputDim, valid)
      : floatInput(rng, N, T, F, valid);
    const xShape = tokens ? [N, T] : [N, T, F];
    const xTensor = tokens ? tf.tensor(Int32Array.from(xData, Number), xShape, 'int32')
      : tf.tensor(xData, xShape, 'float32');

    const layers = specs.map((s, i) => makeLayer(s, { returnState: initial && i === recurrentIndex }));
    let states = null;
    const stateData = [];
    if (initial) {
      const rec = specs[recurrentIndex];
      const count = rec.type === 'lstm' ? 2 : 1;
      for (let k = 0; k < count; ++k) {
        const d = rng.normalArray(N * rec.units).map((v) => 0.5 * v);
        stateData.push({ data: d, shape: [N, rec.units] });
      }
      states = stateData.map((s) => tf.tensor(s.data, s.shape));
    }

    // Build the layers with a first call, then overwrite every weight.
    forward(layers, specs, xTensor, states);
    const weights = [];
    const tensors = {};
    for (let i = 0; i < layers.length; ++i) {
      const names = weightNames(specs[i]);
      const lw = layers[i].weights;
      if (lw.length !== names.length) {
        throw new Error(`${c.name}: layer ${specs[i].name} has ${lw.length} weights, expected ${names.length}`);
      }
      const values = [];
      lw.forEach((w, j) => {
        checkWeightName(w.name, names[j]);
        const n = w.shape.reduce((a, b) => a * b, 1);
        const data = rng.uniformArray(n, -weightScale, weightScale);
        tensors[names[j]] = { data, shape: w.shape.slice() };
        values.push(tf.tensor(data, w.shape));
        weights.push({ name: names[j], variable: w.val });
      });
      if (values.length) layers[i].setWeights(values);
    }

    const { y, finalStates } = forward(layers, specs, xTensor, states);
    const expected = { y: toArray(y) };
    if (initial) {
      finalStates.forEach((s, k) => { expected[`final_state/${k}`] = toArray(s); });
    }

    let dyData = null;
    let gradCount = 0;
    if (checkGrads) {
      dyData = rng.normalArray(y.size);
      const dy = tf.tensor(dyData, y.shape);
      const xVar = tokens ? null : tf.variable(xTensor, true);
      const stateVars = initial ? states.map((s) => tf.variable(s, true)) : null;
      const varList = [...weights.map((w) => w.variable)];
      if (xVar) varList.push(xVar);
      if (stateVars) varList.push(...stateVars);
      const maskingGrad = specs[0].type === 'masking' ? layers[0].computeMask(xTensor) : null;
      if (maskingGrad) {
        const check = forward(layers, specs, xTensor, states, maskingGrad).y;
        if (maxAbs(check.dataSync().map((v, i) => v - expected.y.data[i])) !== 0) {
          throw new Error(`${c.name}: Masking replacement changes the output`);
        }
      }
      const { grads } = tf.variableGrads(() => {
        const out = forward(layers, specs, xVar ?? xTensor, stateVars, maskingGrad).y;
        return tf.sum(tf.mul(out, dy));
      }, varList);
      const gradOf = (v) => {
        const g = grads[v.name];
        return g ? toArray(g) : { data: new Float32Array(v.size), shape: v.shape.slice() };
      };
      for (const w of weights) expected[`grad/${w.name}`] = gradOf(w.variable);
      if (xVar) expected['grad/input'] = gradOf(xVar);
      if (stateVars) stateVars.forEach((v, k) => { expected[`grad/initial_state/${k}`] = gradOf(v); });
      gradCount = Object.keys(expected).filter((k) => k.startsWith('grad/')).length;
      Object.values(grads).forEach((g) => g.dispose());
      xVar?.dispose();
      stateVars?.forEach((v) => v.dispose());
    }

    // Write the case folder.
    const dir = prepareCaseDir(outDir, c.name);
    writeCaseJson(dir, {
      name: c.name,
      oracle: 'tfjs',
      description: c.description,
      atol: c.atol ?? 1e-5,
      grad_atol: c.gradAtol ?? 1e-4,
      grad_rtol: c.gradRtol ?? 1e-3,
      check_grads: checkGrads,
      initial_state: initial,
      final_states: initial,
    });
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, {
      'recur.format': '1',
      'recur.model': kerasModelJson(specs, F),
    });
    writeNpy(path.join(dir, 'x.npy'), xData, xShape);
    if (checkGrads) writeNpy(path.join(dir, 'dy.npy'), dyData, y.shape.slice());
    if (initial) {
      const st = {};
      stateData.forEach((s, k) => { st[`initial_state/${k}`] = s; });
      writeSafetensors(path.join(dir, 'initial_state.safetensors'), st, { 'recur.format': '1' });
    }
    writeSafetensors(path.join(dir, 'expected.safetensors'), expected, { 'recur.format': '1' });

    for (const l of layers) l.dispose();
    const yMax = maxAbs(expected.y.data);
    return `${c.name}: y [${y.shape.join(', ')}] max|y| ${yMax.toPrecision(3)}` +
      (checkGrads ? `, ${gradCount} gradients` : '') + (initial ? ', initial/final states' : '');
  });
}

// ---------------------------------------------------------------------------------------------
// The cases

const lstm = (name, units, o = {}) => ({ type: 'lstm', name, units, ...o });
const gru = (name, units, o = {}) => ({ type: 'gru', name, units, ...o });
const srnn = (name, units, o = {}) => ({ type: 'simple_rnn', name, units, ...o });
const dense = (name, units, o = {}) => ({ type: 'dense', name, units, ...o });
const masking = () => ({ type: 'masking', name: 'masking', maskValue: 0 });
const bidi = (name, mergeMode, layer) => ({ type: 'bidirectional', name, mergeMode, layer });
const cellFor = { lstm, gru, simple_rnn: srnn };
const SEQ = { returnSequences: true };

const MASKED_STEP_NOTE =
  'At masked steps TF.js (like Keras without zero_output_for_mask) keeps the state and repeats ' +
  'the previous step\'s output (zeros before the first real step); dy is nonzero there too, so ' +
  'those outputs also carry gradient.';

const CASES = [];
const add = (c) => CASES.push({ seed: 1000 + CASES.length, ...c });

// 1. The seed model.
add({
  name: 'seed_lstm_relu_dense',
  description: 'The seed model: LSTM(50, activation=relu, recurrent_activation=sigmoid) + Dense(1), ' +
    'last output only.',
  layers: [lstm('lstm', 50, { activation: 'relu' }), dense('dense', 1)],
  N: 4, T: 10, F: 1, checkGrads: true,
});

// 2. Activation choices.
for (const [type, act, rec, seq] of [
  ['lstm', 'tanh', 'hard_sigmoid', true],
  ['lstm', 'sigmoid', 'tanh', false],
  ['lstm', 'linear', 'sigmoid', true],
  ['lstm', 'hard_sigmoid', 'hard_sigmoid', false],
  ['gru', 'relu', 'hard_sigmoid', true],
  ['gru', 'hard_sigmoid', 'sigmoid', false],
  ['gru', 'linear', 'tanh', true],
  ['gru', 'sigmoid', 'sigmoid', false],
  ['simple_rnn', 'sigmoid', null, true],
  ['simple_rnn', 'hard_sigmoid', null, false],
  ['simple_rnn', 'linear', null, true],
  ['simple_rnn', 'relu', null, false],
]) {
  const o = { activation: act, returnSequences: seq };
  if (rec) o.recurrentActivation = rec;
  add({
    name: `act_${type}_${act}${rec ? `_${rec}` : ''}`,
    description: `${type} with activation=${act}` + (rec ? `, recurrent_activation=${rec}` : '') +
      `, return_sequences=${seq}. hard_sigmoid is clip(0.2x+0.5, 0, 1).`,
    layers: [cellFor[type](type, 6, o)],
    N: 3, T: 7, F: 4, checkGrads: true,
  });
}

// 3. GRU reset_after=false.
for (const seq of [false, true]) {
  add({
    name: `gru_reset_before_${seq ? 'seq' : 'last'}`,
    description: `GRU(reset_after=false) (reset gate applied before the recurrent product of the ` +
      `candidate; bias [3u]), tanh/sigmoid, return_sequences=${seq}, then Dense(2).`,
    layers: [gru('gru', 5, { returnSequences: seq }), dense('dense', 2)],
    N: 3, T: 6, F: 3, checkGrads: true,
  });
}

// 4. go_backwards.
for (const type of ['lstm', 'gru', 'simple_rnn']) {
  for (const seq of [true, false]) {
    add({
      name: `${type}_go_backwards_${seq ? 'seq' : 'last'}`,
      description: `${type} with go_backwards=true, return_sequences=${seq}. The input is processed ` +
        'from the last step to the first; ' + (seq
        ? 'outputs are in processing order (y[:, 0] belongs to the last input step, not reversed back).'
        : 'the output is the state after reading step 0.'),
      layers: [cellFor[type](type, 5, { goBackwards: true, returnSequences: seq })],
      N: 3, T: 6, F: 3, checkGrads: true,
    });
  }
}

// 5. Masking.
const POST = { kind: 'post', lengths: [7, 4, 1, 6] };
for (const type of ['lstm', 'gru', 'simple_rnn']) {
  for (const seq of [true, false]) {
    add({
      name: `masking_${type}_post_${seq ? 'seq' : 'last'}`,
      description: `Masking(0.0) + ${type}, return_sequences=${seq}, lengths ${POST.lengths} of T=7 ` +
        `(zeros after each sequence). ` + (seq ? MASKED_STEP_NOTE
        : 'The output is the state at each sequence\'s last real step.'),
      layers: [masking(), cellFor[type](type, 5, { returnSequences: seq })],
      N: 4, T: 7, F: 3, pattern: POST, checkGrads: true,
    });
  }
}
add({
  name: 'masking_lstm_pre_padded_seq',
  description: 'Masking(0.0) + LSTM, return_sequences=true, zeros BEFORE each sequence (lengths ' +
    '5, 2, 7, 3 of T=7). The state stays at its initial zeros through the leading padding and the ' +
    'outputs there are zeros. ' + MASKED_STEP_NOTE,
  layers: [masking(), lstm('lstm', 5, SEQ)],
  N: 4, T: 7, F: 3, pattern: { kind: 'pre', lengths: [5, 2, 7, 3] }, checkGrads: true,
});
add({
  name: 'masking_gru_hole_seq',
  description: 'Masking(0.0) + GRU + Dense(2) on every step, with masked steps in the middle of ' +
    'sequences (sample 0: steps 2, 3; sample 1: step 4; sample 2: none; also sample 1 post-padded ' +
    'from step 6). The state skips the holes and the output there repeats the previous step. ' +
    MASKED_STEP_NOTE,
  layers: [masking(), gru('gru', 5, SEQ), dense('dense', 2)],
  N: 3, T: 7, F: 3,
  pattern: { kind: 'post', lengths: [7, 6, 7], holes: [[0, 2], [0, 3], [1, 4]] }, checkGrads: true,
});
add({
  name: 'masking_simple_rnn_hole_last',
  description: 'Masking(0.0) + SimpleRNN, last output, with a masked step in the middle of one ' +
    'sequence (sample 0 step 3) and post-padding (sample 1 length 4).',
  layers: [masking(), srnn('simple_rnn', 4)],
  N: 3, T: 6, F: 2,
  pattern: { kind: 'post', lengths: [6, 4, 6], holes: [[0, 3]] }, checkGrads: true,
});
for (const type of ['lstm', 'gru']) {
  add({
    name: `masking_${type}_go_backwards_seq`,
    description: `Masking(0.0) + ${type}(go_backwards=true, return_sequences=true), post-padded ` +
      `lengths ${POST.lengths} of T=7. Keras/TF.js reverse the whole padded sequence (mask with ` +
      'it), so processing starts with the padding (masked: state stays zero, output zero) and ' +
      'then reads the real steps from last to first; this equals reversing within each length. ' +
      'Outputs are in processing order: y[n, t] follows input step T-1-t.',
    layers: [masking(), cellFor[type](type, 5, { goBackwards: true, returnSequences: true })],
    N: 4, T: 7, F: 3, pattern: POST, checkGrads: true,
  });
}

// Initial states (single recurrent layer; final states recorded too).
for (const type of ['lstm', 'gru', 'simple_rnn']) {
  add({
    name: `${type}_initial_state`,
    description: `${type} called with initial_state (h` + (type === 'lstm' ? ', c' : '') +
      ') and return_sequences=true, then Dense(2); final states are the layer\'s returned states. ' +
      'Gradients include those w.r.t. the initial states.',
    layers: [cellFor[type](type, 5, SEQ), dense('dense', 2)],
    N: 3, T: 5, F: 3, initialState: true, checkGrads: true,
  });
}
add({
  name: 'masking_lstm_initial_state_last',
  description: 'Masking(0.0) + LSTM with initial_state, last output, post-padded lengths 5, 2, 4. ' +
    'The final states are those at each sequence\'s last real step (sample 1 keeps them over ' +
    'steps 2..4).',
  layers: [masking(), lstm('lstm', 4)],
  N: 3, T: 5, F: 2, pattern: { kind: 'post', lengths: [5, 2, 4] }, initialState: true,
  checkGrads: true,
});
add({
  name: 'gru_go_backwards_initial_state',
  description: 'GRU(go_backwards=true, return_sequences=false) with initial_state: the initial ' +
    'state enters at the last input step.',
  layers: [gru('gru', 4, { goBackwards: true })],
  N: 2, T: 5, F: 3, initialState: true, checkGrads: true,
});

// 6. Embedding with mask_zero.
add({
  name: 'embedding_gru_softmax',
  description: 'Embedding(12, 5, mask_zero=true) + GRU(6) + Dense(2, softmax); int64 ids, 0 is ' +
    'padding after each sequence (lengths 6, 3, 1, 5). Gradients w.r.t. the weights only; ' +
    'the embedding row of id 0 gets zero gradient (masked steps do not reach the output).',
  layers: [
    { type: 'embedding', name: 'embedding', inputDim: 12, outputDim: 5, maskZero: true },
    gru('gru', 6), dense('dense', 2, { activation: 'softmax' }),
  ],
  N: 4, T: 6, pattern: { kind: 'post', lengths: [6, 3, 1, 5] }, checkGrads: true,
});
add({
  name: 'embedding_lstm_seq',
  description: 'Embedding(9, 4, mask_zero=true) + LSTM(5, return_sequences=true); ids with ' +
    'post-padding (lengths 5, 2, 4). ' + MASKED_STEP_NOTE,
  layers: [
    { type: 'embedding', name: 'embedding', inputDim: 9, outputDim: 4, maskZero: true },
    lstm('lstm', 5, SEQ),
  ],
  N: 3, T: 5, pattern: { kind: 'post', lengths: [5, 2, 4] }, checkGrads: true,
});

// 7. Bidirectional.
const BIDI_NOTE_SEQ = 'Bidirectional with return_sequences: the backward layer runs with ' +
  'go_backwards=true and its outputs are reversed back to input order before merging.';
for (const [type, mode, seq, grads] of [
  ['lstm', 'concat', true, true],
  ['lstm', 'sum', false, true],
  ['lstm', 'mul', true, false],
  ['lstm', 'ave', false, false],
  ['gru', 'concat', false, true],
  ['gru', 'sum', true, false],
  ['gru', 'mul', false, true],
  ['gru', 'ave', true, true],
]) {
  add({
    name: `bidi_${type}_${mode}_${seq ? 'seq' : 'last'}`,
    description: `Bidirectional(${type}, merge_mode=${mode}), return_sequences=${seq}. ` +
      (seq ? BIDI_NOTE_SEQ : 'Last output: forward state after the last step merged with the ' +
        'backward state after reading step 0.') +
      ` Merge: concat [fwd, bwd], sum fwd+bwd, mul fwd*bwd, ave (fwd+bwd)/2.`,
    layers: [bidi('bidirectional', mode, cellFor[type](type, 4, { returnSequences: seq }))],
    N: 3, T: 5, F: 3, checkGrads: grads,
  });
}
const BIDI_MASK_NOTE = 'With masking, the backward layer reverses the whole padded sequence, so ' +
  'it starts on the padding (state stays zero) and reads each sequence from its own last real ' +
  'step. At masked (padded) steps, TF.js outputs forward = last real forward output (repeated) and ' +
  'backward = zeros (its initial state, since those were its first, masked, steps), merged as ' +
  'usual. Python Keras 2/3 Bidirectional instead zeroes both halves at masked steps via ' +
  'zero_output_for_mask=True; the generator applies that to TF.js\'s output (y and gradients ' +
  'follow Python Keras).';
for (const [type, mode, seq] of [
  ['lstm', 'concat', true],
  ['gru', 'sum', true],
  ['lstm', 'mul', false],
  ['gru', 'ave', false],
  ['lstm', 'ave', true],
]) {
  add({
    name: `masking_bidi_${type}_${mode}_${seq ? 'seq' : 'last'}`,
    description: `Masking(0.0) + Bidirectional(${type}, merge_mode=${mode}), ` +
      `return_sequences=${seq}, post-padded lengths ${POST.lengths} of T=7. ` +
      (seq ? BIDI_MASK_NOTE : 'Last output: forward state at the last real step merged with the ' +
        'backward state after reading step 0 (the backward pass skipped the padding first).'),
    layers: [masking(), bidi('bidirectional', mode, cellFor[type](type, 4, { returnSequences: seq }))],
    N: 4, T: 7, F: 3, pattern: POST, checkGrads: true,
  });
}
add({
  name: 'masking_bidi_gru_concat_pre_padded_seq',
  description: 'Masking(0.0) + Bidirectional(GRU, concat), return_sequences=true, zeros BEFORE each ' +
    'sequence (lengths 4, 6, 2). Forward outputs are zeros on the leading padding; the backward ' +
    'layer reads the real steps first and then carries its final state over the padding, so after ' +
    'reversing back its outputs at the leading padding repeat its final state.',
  layers: [masking(), bidi('bidirectional', 'concat', gru('gru', 4, SEQ))],
  N: 3, T: 6, F: 3, pattern: { kind: 'pre', lengths: [4, 6, 2] }, checkGrads: true,
});

// 8. Stacks.
add({
  name: 'stacked_lstm_gru_rnn_dense',
  description: 'LSTM(6) -> GRU(5) -> SimpleRNN(4), all return_sequences=true, then Dense(3) on the ' +
    '3-D output (applied per step).',
  layers: [lstm('lstm', 6, SEQ), gru('gru', 5, SEQ), srnn('simple_rnn', 4, SEQ), dense('dense', 3)],
  N: 3, T: 6, F: 3, checkGrads: true,
});
add({
  name: 'masking_stacked_lstm_gru_dense',
  description: 'Masking(0.0) -> LSTM(5, seq) -> GRU(4, last) -> Dense(2, relu); the mask ' +
    'propagates from Masking through the LSTM to the GRU; post-padded lengths 6, 3, 5.',
  layers: [masking(), lstm('lstm', 5, SEQ), gru('gru', 4), dense('dense', 2, { activation: 'relu' })],
  N: 3, T: 6, F: 3, pattern: { kind: 'post', lengths: [6, 3, 5] }, checkGrads: true,
});
add({
  name: 'bidi_stack_dense_seq',
  description: 'Bidirectional(LSTM(4), concat, seq) -> Bidirectional(GRU(3), sum, seq) -> ' +
    'Dense(2) per step.',
  layers: [
    bidi('bidirectional', 'concat', lstm('lstm', 4, SEQ)),
    bidi('bidirectional_1', 'sum', gru('gru', 3, SEQ)),
    dense('dense', 2),
  ],
  N: 2, T: 5, F: 3, checkGrads: true,
});
add({
  name: 'lstm_no_bias',
  description: 'LSTM(use_bias=false) + Dense(use_bias=false): no bias tensors in the file.',
  layers: [lstm('lstm', 4, { useBias: false }), dense('dense', 2, { useBias: false })],
  N: 2, T: 4, F: 3, checkGrads: true,
});

// 9. Shapes.
add({
  name: 'lstm_t1_batch1',
  description: 'LSTM(3, return_sequences=true), T=1, batch 1. No gradients: TF.js 4.22 cannot ' +
    'differentiate its RNN loop when T=1 (the gradient of unstack of a single step fails).',
  layers: [lstm('lstm', 3, SEQ)],
  N: 1, T: 1, F: 2, checkGrads: false,
});
add({
  name: 'gru_t1_batch1_last',
  description: 'GRU(4), T=1, batch 1, last output. No gradients (TF.js cannot differentiate ' +
    'its RNN loop when T=1).',
  layers: [gru('gru', 4)],
  N: 1, T: 1, F: 3, checkGrads: false,
});
add({
  name: 'odd_sizes_lstm',
  description: 'LSTM(7) + Dense(3) with F=3, N=5, T=9 (sizes not multiples of anything).',
  layers: [lstm('lstm', 7, SEQ), dense('dense', 3)],
  N: 5, T: 9, F: 3, checkGrads: true,
});
add({
  name: 'odd_sizes_gru',
  description: 'GRU(7) with F=3, N=5, T=9, last output.',
  layers: [gru('gru', 7)],
  N: 5, T: 9, F: 3, checkGrads: true,
});
add({
  name: 'long_lstm_t300',
  description: 'LSTM(8, return_sequences=true), N=2, T=300, F=3. Long sequence: tolerances ' +
    'doubled (atol 2e-5, grad_atol 2e-4) for float32 rounding accumulated over 300 steps (TF.js ' +
    'itself is within 1e-7 of a float64 computation here: this LSTM is contractive).',
  layers: [lstm('lstm', 8, SEQ)],
  N: 2, T: 300, F: 3, checkGrads: true, atol: 2e-5, gradAtol: 2e-4,
});

// ---------------------------------------------------------------------------------------------

async function main() {
  const outDir = process.argv[2];
  if (!outDir || process.argv.length > 3) {
    console.error('usage: node tfjs_cases.mjs OUT_DIR');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  fs.mkdirSync(outDir, { recursive: true });
  const names = new Set();
  for (const c of CASES) {
    if (names.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
    names.add(c.name);
    say(runCase(outDir, c));
  }
  say(`${CASES.length} tfjs cases written to ${outDir}`);
}

main().catch((e) => {
  console.error(`tfjs_cases: ${e.stack ?? e}`);
  process.exit(1);
});
