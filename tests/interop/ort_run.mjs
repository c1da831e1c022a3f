// Runs an ONNX file in ONNX Runtime (onnxruntime-node) on .npy inputs and writes .npy outputs.
//
//   node ort_run.mjs MODEL.onnx OUT_DIR [NAME=INPUT.npy ...]
//   node ort_run.mjs --jobs JOBS.json      (many runs: [{"model", "out", "inputs": {NAME: FILE}}])
//
// Each NAME=FILE pair feeds the graph input NAME from FILE ('<f4' / '<f8' as float32, '<i8' /
// '<i4' as int64). Every graph output is written to OUT_DIR/<output name>.npy ('<f4', '<i8' or
// '|b1'; characters other than letters, digits, '.', '_' and '-' in the name become '_').
// stdout: one JSON line {"inputs": [...], "outputs": [...]} per run with the session's names.
// Needs NODE_PATH to hold onnxruntime-node (the tests set it); ONNX Runtime validates the model
// while loading it, so a malformed graph fails here with ONNX Runtime's message.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

// ---- .npy (format 1.0 / 2.0 / 3.0, C order, little-endian) -------------------------------------

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${file}: bad .npy header`);
  if (fortran === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  const sizes = { '<f4': 4, '<f8': 8, '<i8': 8, '<i4': 4 };
  if (!(descr in sizes)) throw new Error(`${file}: dtype ${descr} is not supported`);
  if (body.length !== count * sizes[descr])
    throw new Error(`${file}: ${body.length} data bytes, expected ${count * sizes[descr]}`);
  const dv = new DataView(body.buffer, body.byteOffset, body.length);
  if (descr === '<f4' || descr === '<f8') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; ++i)
      out[i] = descr === '<f4' ? dv.getFloat32(4 * i, true) : dv.getFloat64(8 * i, true);
    return new ort.Tensor('float32', out, shape);
  }
  const out = new BigInt64Array(count);
  for (let i = 0; i < count; ++i)
    out[i] = descr === '<i8' ? dv.getBigInt64(8 * i, true) : BigInt(dv.getInt32(4 * i, true));
  return new ort.Tensor('int64', out, shape);
}

function writeNpy(file, tensor) {
  const descrs = { float32: '<f4', int64: '<i8', bool: '|b1' };
  const descr = descrs[tensor.type];
  if (!descr) throw new Error(`output type ${tensor.type} is not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const bytes = tensor.type === 'bool'
    ? Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)))
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), bytes]));
}

// ---- main ---------------------------------------------------------------------------------------

// One run: the model, the output folder, {input name: .npy path}. Prints the names as one line.
async function runOne(modelPath, outDir, inputs) {
  const feeds = {};
  for (const [name, file] of Object.entries(inputs)) feeds[name] = readNpy(file);
  const session = await ort.InferenceSession.create(modelPath);
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames)
    writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy'), results[name]);
  console.log(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames }));
}

const args = process.argv.slice(2);
if (args[0] === '--jobs' && args.length === 2) {
  // Many runs in one process (loading ONNX Runtime once): a JSON array of
  // {"model": ..., "out": ..., "inputs": {"name": "file.npy", ...}}; one output line per run.
  for (const job of JSON.parse(fs.readFileSync(args[1], 'utf8')))
    await runOne(job.model, job.out, job.inputs);
} else {
  const [modelPath, outDir, ...pairs] = args;
  if (!modelPath || !outDir) {
    console.error('usage: node ort_run.mjs MODEL.onnx OUT_DIR [NAME=INPUT.npy ...]\n' +
                  '       node ort_run.mjs --jobs JOBS.json');
    process.exit(2);
  }
  const inputs = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`expected NAME=FILE.npy, got '${p}'`);
    inputs[p.slice(0, eq)] = p.slice(eq + 1);
  }
  await runOne(modelPath, outDir, inputs);
}
