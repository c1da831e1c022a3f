// TF.js oracle for tests/interop/keras_import_test.cpp (run after keras_cases.py).
//
// Usage: NODE_PATH=.deps/node/node_modules node keras_tfjs_cases.mjs OUT_DIR
//
// 1. For every OUT_DIR/<case>/spec.json with a "tfjs" entry (written by keras_cases.py): builds
//    the same architecture from TF.js layer constructors (recurrentActivation always explicit:
//    TF.js's default is hardSigmoid), sets the case's weights (w<i>.bin, getWeights() order),
//    predicts x.bin and writes expected.npy. "hardSigmoidV3" (Keras 3's hard_sigmoid,
//    clip(x/6 + 1/2, 0, 1)) is not a TF.js activation: it is given as an Activation object.
// 2. Writes models in the TF.js layers format, saved by TF.js itself through tf.io.withSaveHandler
//    (model.json + weight shards written here, as tf.io's file handlers do):
//      tfjs_native/    Embedding(maskZero) -> Bidirectional(LSTM) -> GRU -> Dense(softmax), the
//                      weights split over two shards
//      tfjs_defaults/  the same model.json with recurrent_activation and reset_after removed:
//                      TF.js's defaults (hardSigmoid, resetAfter false) apply; expected.npy from
//                      a model built with those
//      tfjs_keras/     the tensorflowjs converter's shape: modelTopology {keras_version,
//                      backend, model_config}
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { Rng, writeNpy } from '../oracle/fixture_writer.mjs';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs'); // found through NODE_PATH

function readF32(file, shape) {
  const buf = fs.readFileSync(file);
  const n = shape.reduce((a, b) => a * b, 1);
  if (buf.length !== 4 * n) throw new Error(`${file}: ${buf.length} bytes, expected ${4 * n}`);
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = buf.readFloatLE(4 * i);
  return a;
}

function readI32(file, shape) {
  const buf = fs.readFileSync(file);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Int32Array(n);
  for (let i = 0; i < n; ++i) a[i] = buf.readInt32LE(4 * i);
  return a;
}

// Keras 3's hard_sigmoid as a TF.js Activation object (the prototype of TF.js's own
// HardSigmoid, so that getActivation() accepts it, with apply() replaced).
function hardSigmoidV3() {
  const probe = tf.layers.lstm({ units: 1, recurrentActivation: 'hardSigmoid' });
  probe.build([null, 1, 1]);
  const act = Object.create(Object.getPrototypeOf(probe.cell.recurrentActivation));
  act.apply = (x) => tf.tidy(() => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1));
  return act;
}

function makeLayer({ type, args }) {
  const a = { ...args };
  for (const key of ['activation', 'recurrentActivation']) {
    if (a[key] === 'hardSigmoidV3') a[key] = hardSigmoidV3();
  }
  if (a.layer) a.layer = makeLayer(a.layer);
  return tf.layers[type](a);
}

function buildModel(spec) {
  const T = spec.input_shape[0];
  if (spec.functional) {
    const input = tf.input({ shape: spec.input_shape, dtype: spec.ids ? 'int32' : 'float32' });
    let y = input;
    for (const l of spec.tfjs) y = makeLayer(l).apply(y);
    return tf.model({ inputs: input, outputs: y });
  }
  const model = tf.sequential();
  spec.tfjs.forEach((l, i) => {
    const layerSpec = { type: l.type, args: { ...l.args } };
    if (i === 0) {
      if (spec.ids) layerSpec.args.inputLength = T;
      else layerSpec.args.inputShape = spec.input_shape;
    }
    model.add(makeLayer(layerSpec));
  });
  return model;
}

function predictCase(dir) {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8'));
  if (!spec.tfjs) return false;
  const model = buildModel(spec);
  model.setWeights(spec.weights.map((w) => tf.tensor(readF32(path.join(dir, w.file), w.shape),
                                                       w.shape)));
  const xs = spec.x;
  const x = xs.dtype === 'int32'
    ? tf.tensor(readI32(path.join(dir, xs.file), xs.shape), xs.shape, 'int32')
    : tf.tensor(readF32(path.join(dir, xs.file), xs.shape), xs.shape);
  const y = model.predict(x);
  writeNpy(path.join(dir, 'expected.npy'), Float32Array.from(y.dataSync()), y.shape);
  return true;
}

// ---- models saved by TF.js -------------------------------------------------------------------

function tfjsModel(recurrentActivation) {
  const model = tf.sequential({ name: 'tfjs_model' });
  model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6,
                                  name: 'embedding' }));
  model.add(tf.layers.bidirectional({
    name: 'bidirectional',
    layer: tf.layers.lstm({ units: 3, returnSequences: true, recurrentActivation, name: 'lstm' }),
  }));
  model.add(tf.layers.gru({ units: 3, recurrentActivation, resetAfter: false, name: 'gru' }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }));
  return model;
}

async function saveArtifacts(model) {
  let saved = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const data = Array.isArray(saved.weightData)
    ? Buffer.concat(saved.weightData.map((b) => Buffer.from(b)))
    : Buffer.from(saved.weightData);
  return { ...saved, data };
}

function writeTfjs(dir, modelJson, shards) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  for (const [name, bytes] of Object.entries(shards)) fs.writeFileSync(path.join(dir, name), bytes);
}

function withoutDefaults(topology) {
  const t = JSON.parse(JSON.stringify(topology));
  const strip = (layer) => {
    if (layer.class_name === 'Bidirectional') strip(layer.config.layer);
    delete layer.config.recurrent_activation;
    delete layer.config.reset_after;
  };
  for (const l of t.config.layers) if (l.class_name !== 'Embedding' && l.class_name !== 'Dense') strip(l);
  return t;
}

async function tfjsCases(out) {
  const rng = new Rng(4321);
  const model = tfjsModel('sigmoid');
  const weights = model.getWeights().map((w) => tf.tensor(rng.uniformArray(w.size, -0.7, 0.7),
                                                          w.shape));
  model.setWeights(weights);
  const ids = new Int32Array(3 * 6);
  [6, 4, 2].forEach((len, i) => {
    for (let t = 0; t < len; ++t) ids[6 * i + t] = rng.int(1, 9);
  });
  const x = tf.tensor(ids, [3, 6], 'int32');
  const art = await saveArtifacts(model);
  const half = Math.floor(art.data.length / 2);
  const manifest = [{ paths: ['group1-shard1of2.bin', './group1-shard2of2.bin'],
                      weights: art.weightSpecs }];
  const shards = { 'group1-shard1of2.bin': art.data.subarray(0, half),
                   'group1-shard2of2.bin': art.data.subarray(half) };
  const base = { format: art.format, generatedBy: art.generatedBy, convertedBy: art.convertedBy };

  const writeExpected = (dir, m) => {
    const y = m.predict(x);
    writeNpy(path.join(dir, 'expected.npy'), Float32Array.from(y.dataSync()), y.shape);
    writeNpy(path.join(dir, 'x.npy'), Float32Array.from(ids), [3, 6]);
  };

  const native = path.join(out, 'tfjs_native');
  writeTfjs(native, { modelTopology: art.modelTopology, ...base, weightsManifest: manifest },
            shards);
  writeExpected(native, model);

  const defaults = path.join(out, 'tfjs_defaults');
  writeTfjs(defaults, { modelTopology: withoutDefaults(art.modelTopology), ...base,
                        weightsManifest: manifest }, shards);
  const old = tfjsModel('hardSigmoid');
  old.setWeights(weights);
  writeExpected(defaults, old);

  const keras = path.join(out, 'tfjs_keras');
  const topology = { ...art.modelTopology };
  delete topology.keras_version;
  delete topology.backend;
  writeTfjs(keras, { format: 'layers-model', generatedBy: 'keras v2.11.0',
                     convertedBy: 'TensorFlow.js Converter v4.22.0',
                     modelTopology: { keras_version: '2.11.0', backend: 'tensorflow',
                                      model_config: topology },
                     weightsManifest: manifest }, shards);
  writeExpected(keras, model);
}

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node keras_tfjs_cases.mjs OUT_DIR');
  await tf.setBackend('cpu');
  let n = 0;
  for (const name of fs.readdirSync(out).sort()) {
    const dir = path.join(out, name);
    if (fs.existsSync(path.join(dir, 'spec.json')) && predictCase(dir)) ++n;
  }
  await tfjsCases(out);
  console.log(`keras_tfjs_cases: wrote expected outputs for ${n} cases and 3 TF.js models`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
