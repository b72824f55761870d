// A small, bounded reader and writer of safetensors files (test tooling).
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON header,
// then the raw little-endian tensor data. The header maps each tensor name to
// {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data
// section) and may hold "__metadata__": {string: string}.
//
// The reader checks everything against the file before it allocates: header
// length, JSON shape, dtype, shape entries, byte sizes, offsets in bounds, and
// that the tensors tile the data section exactly (no overlap, no gap, nothing
// after the last tensor), as the reference implementation requires.

import { readFileSync, writeFileSync } from 'node:fs';

/** Bytes per element and the typed array that holds each dtype. */
export const DTYPES = Object.freeze({
  F64: { size: 8, array: Float64Array },
  F32: { size: 4, array: Float32Array },
  F16: { size: 2, array: Uint16Array }, // raw IEEE half bits
  BF16: { size: 2, array: Uint16Array }, // raw bfloat16 bits
  I64: { size: 8, array: BigInt64Array },
  I32: { size: 4, array: Int32Array },
  I16: { size: 2, array: Int16Array },
  I8: { size: 1, array: Int8Array },
  U64: { size: 8, array: BigUint64Array },
  U32: { size: 4, array: Uint32Array },
  U16: { size: 2, array: Uint16Array },
  U8: { size: 1, array: Uint8Array },
  BOOL: { size: 1, array: Uint8Array }, // 0 or 1 per element
});

/** Largest JSON header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

const fail = (msg) => {
  throw new SafetensorsError(msg);
};

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every `size`-byte element in place (big-endian hosts only). */
function swapElements(bytes, size) {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Number of elements of `shape`, checked to be a safe integer. */
export function elementCount(shape, what = 'shape') {
  if (!Array.isArray(shape)) fail(`${what}: shape must be an array`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`${what}: bad dimension ${JSON.stringify(d)}`);
    n *= d;
    if (!Number.isSafeInteger(n)) fail(`${what}: element count overflows`);
  }
  return n;
}

/** The safetensors dtype of a typed array (Uint16Array is ambiguous and maps to U16). */
export function dtypeOf(data) {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof BigUint64Array) return 'U64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Uint8Array) return 'U8';
  fail(`no safetensors dtype for ${data?.constructor?.name ?? typeof data}`);
}

/**
 * Parses a safetensors file.
 * @param {Uint8Array} bytes the whole file (a Node Buffer too)
 * @returns {{metadata: Record<string,string>|null, tensors: Record<string,{dtype: string, shape: number[], data: ArrayLike}>}}
 *   tensors in file order; each `data` is a fresh typed array (copied, so aligned).
 */
export function parseSafetensors(bytes) {
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array');
  if (bytes.length < 8) fail(`file too short (${bytes.length} bytes) for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(bytes.length - 8)) fail(`header length ${headerLen64} exceeds the file (${bytes.length - 8} bytes after the length)`);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen64} exceeds ${MAX_HEADER_BYTES}`);
  const headerLen = Number(headerLen64);
  if (headerLen < 2) fail(`header length ${headerLen} too small for a JSON object`);

  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('header is not valid UTF-8');
  }
  if (text[0] !== '{') fail('header does not start with "{"');
  let header;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON: ${e.message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  let metadata = null;
  const entries = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info)) if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      metadata = { ...info };
      continue;
    }
    if (name.length === 0) fail('empty tensor name');
    if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(`${name}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) fail(`${name}: unsupported dtype ${JSON.stringify(dtype)}`);
    const count = elementCount(shape, name);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`${name}: data_offsets must be [begin, end]`);
    const [begin, end] = offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin)
      fail(`${name}: bad data_offsets ${JSON.stringify(offsets)}`);
    if (end > dataLen) fail(`${name}: data_offsets end ${end} beyond the data section (${dataLen} bytes)`);
    const nbytes = count * DTYPES[dtype].size;
    if (!Number.isSafeInteger(nbytes) || end - begin !== nbytes)
      fail(`${name}: ${end - begin} bytes for ${dtype}${JSON.stringify(shape)}, expected ${nbytes}`);
    entries.push({ name, dtype, shape: [...shape], begin, end });
  }

  // The tensors must tile the data section exactly.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor)
      fail(e.begin < cursor ? `${e.name}: overlaps the previous tensor` : `${e.name}: gap of ${e.begin - cursor} bytes before it`);
    cursor = e.end;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} trailing bytes after the last tensor`);

  const tensors = {};
  for (const e of entries) {
    const { size, array } = DTYPES[e.dtype];
    // A fresh, aligned copy (not bytes.slice: on a Node Buffer that is a view into a shared pool).
    const copy = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    if (!littleEndianHost) swapElements(copy, size);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: new array(copy.buffer, 0, (e.end - e.begin) / size) };
  }
  return { metadata, tensors };
}

/**
 * Serializes tensors to safetensors bytes.
 * @param {Record<string,{shape: number[], data: ArrayLike, dtype?: string}>} tensors
 *   `dtype` defaults to the typed array's (F32 for Float32Array, I64 for BigInt64Array, ...);
 *   `data` must be the typed array of that dtype with exactly prod(shape) elements.
 * @param {Record<string,string>} [metadata]
 * @returns {Uint8Array}
 */
export function serializeSafetensors(tensors, metadata) {
  if (tensors === null || typeof tensors !== 'object') fail('tensors must be an object');
  const header = {};
  if (metadata != null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) fail('metadata must be an object');
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`metadata.${k} is not a string`);
    header.__metadata__ = { ...metadata };
  }
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name.length === 0 || name === '__metadata__') fail(`invalid tensor name ${JSON.stringify(name)}`);
    if (t === null || typeof t !== 'object') fail(`${name}: not a tensor`);
    const dtype = t.dtype ?? dtypeOf(t.data);
    if (!Object.hasOwn(DTYPES, dtype)) fail(`${name}: unsupported dtype ${JSON.stringify(dtype)}`);
    const { size, array } = DTYPES[dtype];
    if (!(t.data instanceof array)) fail(`${name}: ${dtype} data must be a ${array.name}, got ${t.data?.constructor?.name}`);
    const count = elementCount(t.shape, name);
    if (t.data.length !== count) fail(`${name}: ${t.data.length} elements for shape ${JSON.stringify(t.shape)} (${count})`);
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, count * size);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + raw.length] };
    parts.push({ raw, size });
    offset += raw.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // pad with spaces so the data starts 8-byte aligned
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const { raw, size } of parts) {
    out.set(raw, pos);
    if (!littleEndianHost) swapElements(out.subarray(pos, pos + raw.length), size);
    pos += raw.length;
  }
  return out;
}

/** Reads and parses a safetensors file from disk. */
export function readSafetensorsFile(path) {
  return parseSafetensors(new Uint8Array(readFileSync(path)));
}

/** Serializes and writes a safetensors file to disk. */
export function writeSafetensorsFile(path, tensors, metadata) {
  writeFileSync(path, serializeSafetensors(tensors, metadata));
}
