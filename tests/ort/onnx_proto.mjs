// A minimal, bounded protobuf wire-format reader for ONNX: the field walker
// that tests/ort/ort_run.mjs edits graph outputs with, and `readOnnxModel`,
// which decodes what a graph builder needs (nodes with their attributes,
// float32/int64 initializers, inputs with their dims, outputs). Browser-safe:
// no Node built-ins, so the benchmark page imports it too.
//
// Field numbers (onnx.proto3): ModelProto.opset_import = 8, .graph = 7;
// GraphProto.node = 1, .initializer = 5, .input = 11, .output = 12,
// .value_info = 13; NodeProto.input = 1, .output = 2, .name = 3, .op_type = 4,
// .attribute = 5, .domain = 7; AttributeProto.name = 1, .f = 2, .i = 3, .s = 4,
// .t = 5, .floats = 7, .ints = 8, .type = 20; TensorProto.dims = 1,
// .data_type = 2, .float_data = 4, .int32_data = 5, .int64_data = 7, .name = 8,
// .raw_data = 9, .data_location = 14; ValueInfoProto.name = 1, .type = 2;
// TypeProto.tensor_type = 1; Tensor.elem_type = 1, .shape = 2;
// TensorShapeProto.dim = 1; Dimension.dim_value = 1, .dim_param = 2.

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export class OnnxProtoError extends Error {
  constructor(message) {
    super(message);
    this.name = 'OnnxProtoError';
  }
}

/** Reads a varint at `pos` (< end). Returns [value, next]; value is Infinity if above 2^53. */
export function readVarint(bytes, pos, end) {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new OnnxProtoError(`truncated varint at byte ${pos}`);
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value > Number.MAX_SAFE_INTEGER ? Infinity : value, pos];
  }
  throw new OnnxProtoError(`varint longer than 10 bytes at byte ${pos}`);
}

/** A varint read as a signed int64 (negative axes and pads are ten-byte two's complement). */
function readInt64(bytes, pos, end) {
  let value = 0n;
  for (let i = 0, shift = 0n; i < 10; i++, shift += 7n) {
    if (pos >= end) throw new OnnxProtoError(`truncated varint at byte ${pos}`);
    const b = bytes[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      const n = BigInt.asIntN(64, value);
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
        throw new OnnxProtoError(`int64 ${n} at byte ${pos} is beyond what this reader handles`);
      return [Number(n), pos];
    }
  }
  throw new OnnxProtoError(`varint longer than 10 bytes at byte ${pos}`);
}

/** Yields {field, wire, tagStart, start, end} for each field of the message bytes[begin, end). */
export function* fields(bytes, begin, end) {
  let pos = begin;
  while (pos < end) {
    const tagStart = pos;
    let tag;
    [tag, pos] = readVarint(bytes, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new OnnxProtoError(`field number 0 at byte ${tagStart}`);
    let start = pos;
    switch (wire) {
      case WIRE_VARINT:
        [, pos] = readVarint(bytes, pos, end);
        break;
      case WIRE_I64:
        pos += 8;
        break;
      case WIRE_I32:
        pos += 4;
        break;
      case WIRE_LEN: {
        let len;
        [len, start] = readVarint(bytes, pos, end);
        if (len > end - start) throw new OnnxProtoError(`field ${field} at byte ${tagStart}: length ${len} exceeds its message`);
        pos = start + len;
        break;
      }
      default:
        throw new OnnxProtoError(`unsupported wire type ${wire} at byte ${tagStart}`);
    }
    if (pos > end) throw new OnnxProtoError(`field ${field} at byte ${tagStart} runs past its message`);
    yield { field, wire, tagStart, start, end: pos };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
export const text = (bytes, f) => utf8.decode(bytes.subarray(f.start, f.end));

/** Repeated int64: packed (one LEN field) or one varint per field; appends to `out`. */
function int64s(bytes, f, out) {
  if (f.wire === WIRE_VARINT) {
    out.push(readInt64(bytes, f.start, f.end)[0]);
  } else if (f.wire === WIRE_LEN) {
    for (let pos = f.start; pos < f.end; ) {
      let v;
      [v, pos] = readInt64(bytes, pos, f.end);
      out.push(v);
    }
  } else {
    throw new OnnxProtoError(`int64 field ${f.field} at byte ${f.tagStart} has wire type ${f.wire}`);
  }
  return out;
}

const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Repeated float: packed or one fixed32 per field; appends to `out`. */
function floats(bytes, f, out) {
  const dv = view(bytes);
  if (f.wire === WIRE_I32) out.push(dv.getFloat32(f.start, true));
  else if (f.wire === WIRE_LEN) for (let p = f.start; p + 4 <= f.end; p += 4) out.push(dv.getFloat32(p, true));
  else throw new OnnxProtoError(`float field ${f.field} at byte ${f.tagStart} has wire type ${f.wire}`);
  return out;
}

const DATA_TYPE = { 1: 'float32', 6: 'int32', 7: 'int64' };

/**
 * A TensorProto: {name, dims, type, data} with data a Float32Array
 * (float32), or an Array of numbers (int32, int64). Other types and external
 * data are errors naming the tensor.
 */
export function readTensor(bytes, begin, end) {
  const t = { name: '', dims: [], dataType: 0, raw: null, floatData: [], intData: [], external: false };
  for (const f of fields(bytes, begin, end)) {
    if (f.field === 1) int64s(bytes, f, t.dims);
    else if (f.field === 2 && f.wire === WIRE_VARINT) t.dataType = readVarint(bytes, f.start, f.end)[0];
    else if (f.field === 4) floats(bytes, f, t.floatData);
    else if (f.field === 5 || f.field === 7) int64s(bytes, f, t.intData);
    else if (f.field === 8 && f.wire === WIRE_LEN) t.name = text(bytes, f);
    else if (f.field === 9 && f.wire === WIRE_LEN) t.raw = bytes.subarray(f.start, f.end);
    else if (f.field === 14 && f.wire === WIRE_VARINT) t.external = readVarint(bytes, f.start, f.end)[0] === 1;
  }
  const type = DATA_TYPE[t.dataType];
  const what = `tensor ${JSON.stringify(t.name)}`;
  if (t.external) throw new OnnxProtoError(`${what}: external data is not supported`);
  if (!type) throw new OnnxProtoError(`${what}: ONNX data type ${t.dataType} is not supported (float32, int32, int64 are)`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw) {
    const dv = view(t.raw);
    if (type === 'float32') {
      if (t.raw.length !== 4 * count) throw new OnnxProtoError(`${what}: ${t.raw.length} raw bytes for ${count} float32 values`);
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    } else {
      const size = type === 'int64' ? 8 : 4;
      if (t.raw.length !== size * count) throw new OnnxProtoError(`${what}: ${t.raw.length} raw bytes for ${count} ${type} values`);
      data = Array.from({ length: count }, (_, i) => (size === 8 ? Number(dv.getBigInt64(8 * i, true)) : dv.getInt32(4 * i, true)));
    }
  } else {
    data = type === 'float32' ? Float32Array.from(t.floatData) : t.intData;
    if (data.length !== count) throw new OnnxProtoError(`${what}: ${data.length} values for dims [${t.dims}]`);
  }
  return { name: t.name, dims: t.dims, type, data };
}

function readAttribute(bytes, begin, end) {
  const a = { name: '', f: null, i: null, s: null, t: null, floats: [], ints: [] };
  for (const f of fields(bytes, begin, end)) {
    if (f.field === 1 && f.wire === WIRE_LEN) a.name = text(bytes, f);
    else if (f.field === 2 && f.wire === WIRE_I32) a.f = view(bytes).getFloat32(f.start, true);
    else if (f.field === 3 && f.wire === WIRE_VARINT) a.i = readInt64(bytes, f.start, f.end)[0];
    else if (f.field === 4 && f.wire === WIRE_LEN) a.s = text(bytes, f);
    else if (f.field === 5 && f.wire === WIRE_LEN) a.t = readTensor(bytes, f.start, f.end);
    else if (f.field === 7) floats(bytes, f, a.floats);
    else if (f.field === 8) int64s(bytes, f, a.ints);
  }
  const value = a.t ?? a.s ?? a.f ?? a.i ?? (a.ints.length ? a.ints : a.floats.length ? a.floats : []);
  return [a.name, value];
}

function readNode(bytes, begin, end) {
  const node = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: {} };
  for (const f of fields(bytes, begin, end)) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === 1) node.inputs.push(text(bytes, f));
    else if (f.field === 2) node.outputs.push(text(bytes, f));
    else if (f.field === 3) node.name = text(bytes, f);
    else if (f.field === 4) node.opType = text(bytes, f);
    else if (f.field === 5) {
      const [name, value] = readAttribute(bytes, f.start, f.end);
      node.attrs[name] = value;
    } else if (f.field === 7) node.domain = text(bytes, f);
  }
  return node;
}

/** ValueInfoProto → {name, dims} (a symbolic or absent dimension is null). */
function readValueInfo(bytes, begin, end) {
  const info = { name: '', dims: null };
  for (const f of fields(bytes, begin, end)) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === 1) info.name = text(bytes, f);
    else if (f.field === 2)
      for (const tt of fields(bytes, f.start, f.end))
        if (tt.field === 1 && tt.wire === WIRE_LEN)
          for (const s of fields(bytes, tt.start, tt.end))
            if (s.field === 2 && s.wire === WIRE_LEN) {
              info.dims = [];
              for (const d of fields(bytes, s.start, s.end)) {
                if (d.field !== 1 || d.wire !== WIRE_LEN) continue;
                let v = null;
                for (const dv of fields(bytes, d.start, d.end)) if (dv.field === 1 && dv.wire === WIRE_VARINT) v = readInt64(bytes, dv.start, dv.end)[0];
                info.dims.push(v);
              }
            }
  }
  return info;
}

/**
 * The main graph of an ONNX model: {opset, nodes, initializers, inputs, outputs}.
 * opset: the default domain's version; nodes in file order
 * ({name, opType, domain, inputs, outputs, attrs}); initializers: Map name →
 * {name, dims, type, data}; inputs: graph inputs that are not initializers
 * ({name, dims}); outputs: names.
 * @param {Uint8Array} bytes ONNX ModelProto
 */
export function readOnnxModel(bytes) {
  let opset = null;
  const graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  let sawGraph = false;
  for (const m of fields(bytes, 0, bytes.length)) {
    if (m.wire !== WIRE_LEN) continue;
    if (m.field === 8) {
      let domain = '', version = null;
      for (const f of fields(bytes, m.start, m.end)) {
        if (f.field === 1 && f.wire === WIRE_LEN) domain = text(bytes, f);
        else if (f.field === 2 && f.wire === WIRE_VARINT) version = readVarint(bytes, f.start, f.end)[0];
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    } else if (m.field === 7) {
      sawGraph = true;
      for (const f of fields(bytes, m.start, m.end)) {
        if (f.wire !== WIRE_LEN) continue;
        if (f.field === 1) graph.nodes.push(readNode(bytes, f.start, f.end));
        else if (f.field === 5) {
          const t = readTensor(bytes, f.start, f.end);
          graph.initializers.set(t.name, t);
        } else if (f.field === 11) graph.inputs.push(readValueInfo(bytes, f.start, f.end));
        else if (f.field === 12) graph.outputs.push(readValueInfo(bytes, f.start, f.end).name);
      }
    }
  }
  if (!sawGraph) throw new OnnxProtoError('the model has no graph');
  graph.inputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
  return { opset, ...graph };
}
