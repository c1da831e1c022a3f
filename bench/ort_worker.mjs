// ONNX Runtime side of bench/compare: times one LSTM (+ Dense head) ONNX model in onnxruntime-node
// and prints one JSON line with the keys of `recur bench --json`.
//   node bench/ort_worker.mjs MODEL.onnx --mode infer|stream --input I --units H --steps T
//        --batch B --threads N --seconds S
// infer: input "x" [T, B, I] (time-major, as torch.onnx.export writes nn.LSTM) -> head output.
// stream: inputs "x" [1, B, I], "h" [1, B, H], "c" [1, B, H]; outputs y, h, c fed back each step.
import { createRequire } from 'module';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const argv = process.argv.slice(2);
const model = argv[0];
const opt = {};
for (let i = 1; i < argv.length; i += 2) opt[argv[i].replace(/^--/, '')] = argv[i + 1];
const I = +opt.input, H = +opt.units, T = +opt.steps, B = +opt.batch;
const threads = +opt.threads, seconds = +opt.seconds, mode = opt.mode;

const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const times = [];
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function timed(body, warmup, minIters) {
  for (let i = 0; i < warmup; ++i) await body();
  const start = now();
  while (times.length < minIters || now() - start < seconds) {
    const t0 = now();
    await body();
    times.push(now() - t0);
  }
}

const stepFlop = 2 * B * (I + H) * 4 * H;
let flop;
if (mode === 'infer') {
  flop = T * stepFlop;
  const feeds = { x: new ort.Tensor('float32', rand(T * B * I), [T, B, I]) };
  await timed(() => session.run(feeds), 2, 5);
} else if (mode === 'stream') {
  flop = stepFlop;
  const x = new ort.Tensor('float32', rand(B * I), [1, B, I]);
  const zeros = new ort.Tensor('float32', new Float32Array(B * H), [1, B, H]);
  let h = zeros, c = zeros, k = 0;
  await timed(async () => {
    const out = await session.run({ x, h, c });
    k += 1;
    [h, c] = k % T ? [out.h_out, out.c_out] : [zeros, zeros];
  }, 200, 100);
} else {
  console.error(`ort_worker: mode ${mode} is not measured (ONNX Runtime does not train)`);
  process.exit(2);
}
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)];
const stream = mode === 'stream';
console.log(JSON.stringify({
  cell: 'lstm', mode, input: I, units: H, steps: T, batch: B, threads,
  seq_per_s: stream ? B / (T * med) : B / med,
  us_per_step: stream ? med * 1e6 : med * 1e6 / T,
  gflops: flop / med / 1e9,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  engine: 'ort', ort_version: require('onnxruntime-node/package.json').version,
  iterations: times.length, median_s: med,
}));
