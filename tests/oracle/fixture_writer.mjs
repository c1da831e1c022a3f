// Writers for the oracle fixture files (tests/oracle/README.md): .npy, safetensors, case.json,
// plus a small seeded random number generator so that fixtures are reproducible.
//
// Only what the fixtures need is implemented: little-endian float32 ('<f4', safetensors F32)
// and int64 ('<i8', safetensors I64) arrays in C order.

import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Random numbers: SplitMix64 on BigInt state would be slow; a 32-bit xorshift128 is plenty for
// test data and is fully determined by the seed.

export class Rng {
  constructor(seed) {
    // Expand the seed into four non-zero 32-bit words with a simple integer hash.
    let s = (seed >>> 0) ^ 0x9e3779b9;
    const next = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.state = [next(), next(), next(), next()];
    if (this.state.every((w) => w === 0)) this.state[0] = 1;
    this.spare = null;
  }

  // Uniform 32-bit unsigned integer (xorshift128).
  nextU32() {
    const st = this.state;
    let t = st[3];
    const s0 = st[0];
    st[3] = st[2];
    st[2] = st[1];
    st[1] = s0;
    t ^= t << 11;
    t ^= t >>> 8;
    st[0] = (t ^ s0 ^ (s0 >>> 19)) >>> 0;
    return st[0];
  }

  // Uniform in [0, 1) with 53 random bits.
  random() {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  uniform(lo, hi) {
    return lo + (hi - lo) * this.random();
  }

  // Integer in [lo, hi] inclusive.
  int(lo, hi) {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  // Standard normal (Box-Muller, caching the second value).
  normal() {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u <= 1e-300) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  uniformArray(n, lo, hi) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; ++i) a[i] = this.uniform(lo, hi);
    return a;
  }

  normalArray(n) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; ++i) a[i] = this.normal();
    return a;
  }
}

// ---------------------------------------------------------------------------------------------
// Arrays: {data: Float32Array | BigInt64Array, shape: number[]}

function dtypeOf(data) {
  if (data instanceof Float32Array) return { npy: '<f4', st: 'F32' };
  if (data instanceof BigInt64Array) return { npy: '<i8', st: 'I64' };
  throw new Error('fixture_writer: only Float32Array and BigInt64Array are supported');
}

function littleEndianBytes(data) {
  // Typed arrays use the platform's byte order; convert explicitly so the files are
  // little-endian everywhere.
  const out = Buffer.alloc(data.length * data.BYTES_PER_ELEMENT);
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; ++i) out.writeFloatLE(data[i], 4 * i);
  } else {
    for (let i = 0; i < data.length; ++i) out.writeBigInt64LE(data[i], 8 * i);
  }
  return out;
}

function checkShape(data, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`fixture_writer: shape [${shape}] holds ${n} values, data has ${data.length}`);
  }
}

// .npy version 1.0: magic, version, uint16 header length, header dict padded with spaces and a
// final '\n' so that the data starts at a multiple of 64 bytes.
export function npyBytes(data, shape) {
  checkShape(data, shape);
  const { npy } = dtypeOf(data);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${npy}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const preamble = 10; // 6 magic + 2 version + 2 length
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - preamble - header.length - 1) + '\n';
  if (header.length > 65535) throw new Error('fixture_writer: npy header too long');
  const head = Buffer.alloc(preamble);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), littleEndianBytes(data)]);
}

export function writeNpy(file, data, shape) {
  fs.writeFileSync(file, npyBytes(data, shape));
}

// safetensors: uint64 LE header length, JSON header (padded with spaces to a multiple of 8),
// then the tensors back to back. Tensors are laid out in name order without gaps.
// tensors: {name: {data, shape}}; metadata: {string: string}
export function safetensorsBytes(tensors, metadata) {
  const names = Object.keys(tensors).sort();
  const header = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`fixture_writer: metadata ${k} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const blobs = [];
  let offset = 0;
  for (const name of names) {
    const { data, shape } = tensors[name];
    checkShape(data, shape);
    const bytes = littleEndianBytes(data);
    header[name] = {
      dtype: dtypeOf(data).st,
      shape: shape.slice(),
      data_offsets: [offset, offset + bytes.length],
    };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const padded = Math.ceil(Buffer.byteLength(json, 'utf8') / 8) * 8;
  json += ' '.repeat(padded - Buffer.byteLength(json, 'utf8'));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded), 0);
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...blobs]);
}

export function writeSafetensors(file, tensors, metadata) {
  fs.writeFileSync(file, safetensorsBytes(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// JSON with explicit floats: Keras's to_json() writes 0.0, not 0. Wrap a number in KFloat to
// have it printed with a decimal point.

export class KFloat {
  constructor(value) {
    this.value = value;
  }
}

export function kerasJson(value) {
  if (value instanceof KFloat) {
    const t = String(value.value);
    return /[.eE]/.test(t) || !Number.isFinite(value.value) ? t : `${t}.0`;
  }
  if (Array.isArray(value)) return `[${value.map(kerasJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const items = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${kerasJson(v)}`);
    return `{${items.join(', ')}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------

export function prepareCaseDir(outDir, name) {
  const dir = path.join(outDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeCaseJson(dir, info) {
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(info, null, 2) + '\n');
}
