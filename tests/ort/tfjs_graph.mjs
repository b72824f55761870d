// An ONNX backbone rebuilt from TensorFlow.js (tfjs-core) ops, so that TF.js's
// wasm backend (XNNPACK) can be timed on the very graph and weights that our
// engine and onnxruntime-web run: the second speed anchor of
// tests/bench/backbone.mjs. Browser-safe (no Node built-ins): the caller
// passes the `tf` namespace, from the npm packages in Node or from their
// browser builds in the benchmark page.
//
//   const g = buildTfjsGraph(tf, onnxBytes, { inputDims: [1, 3, 224, 224] });
//   const y = g.run(x);   // Float32Array, the graph output in ONNX layout
//   g.dispose();
//
// Activations of rank 4 live in NHWC, TF.js's layout (its conv kernels take
// no other on the wasm backend); weights are transposed to it once, here.
// What a TF.js user gets from a converted model is applied too: a
// BatchNormalization after a Conv is folded into its weights, and a Relu or
// Clip(0, 6) after a Conv becomes the fused conv's activation (onnxruntime
// and our engine fuse the same). Only the ops of the benchmark's backbones
// (MobileNetV2, ResNet-18) are mapped; any other is an error naming it.

import { readOnnxModel } from './onnx_proto.mjs';

export class TfjsGraphError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TfjsGraphError';
  }
}

export const SUPPORTED_OPS = Object.freeze([
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'Add', 'MaxPool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'Gemm',
  'Constant', 'Identity', 'Dropout',
]);

const prod = (a) => a.reduce((x, y) => x * y, 1);
const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/** out[i] over out's dims = src at the permuted index (src dims `dims`, out axis k = src axis perm[k]). */
function transposeArray(src, dims, perm) {
  const outDims = perm.map((p) => dims[p]);
  const srcStrides = dims.map((_, i) => prod(dims.slice(i + 1)));
  const out = new Float32Array(src.length);
  const idx = new Array(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let k = 0; k < perm.length; k++) s += idx[k] * srcStrides[perm[k]];
    out[o] = src[s];
    for (let k = outDims.length - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** A conv-like op's padding for TF.js: one number when symmetric, else explicit NHWC pairs. */
function tfPad([pt, pl, pb, pr]) {
  return pt === pb && pl === pr && pt === pl ? pt : [[0, 0], [pt, pb], [pl, pr], [0, 0]];
}

/**
 * Builds the graph. Weights become tf tensors once, here; `run` is the forward
 * pass alone (input tensor in, output read back).
 * @param {object} tf the tfjs-core namespace, its backend already set
 * @param {Uint8Array} bytes ONNX model
 * @param {{inputDims: number[]}} options the input's dims (NCHW for images)
 * @returns {{inputName: string, outputName: string, outputDims: number[], ops: Record<string, number>,
 *            run(x: Float32Array): Float32Array, dispose(): void}}
 */
export function buildTfjsGraph(tf, bytes, { inputDims }) {
  const model = readOnnxModel(bytes);
  if (model.inputs.length !== 1)
    throw new TfjsGraphError(`${model.inputs.length} graph inputs (${model.inputs.map((i) => i.name).join(', ')}); one is supported`);
  if (model.outputs.length < 1) throw new TfjsGraphError('the graph has no output');
  const inputName = model.inputs[0].name;
  const outputName = model.outputs[0];

  const consts = new Map(model.initializers);
  for (const n of model.nodes)
    if (n.opType === 'Constant') {
      if (!n.attrs.value?.dims) throw new TfjsGraphError(`Constant ${n.name || n.outputs[0]}: only a tensor \`value\` is supported`);
      consts.set(n.outputs[0], n.attrs.value);
    }
  const unsupported = [...new Set(model.nodes.filter((n) => n.domain && n.domain !== 'ai.onnx').map((n) => `${n.domain}:${n.opType}`))]
    .concat([...new Set(model.nodes.map((n) => n.opType))].filter((op) => !SUPPORTED_OPS.includes(op)));
  if (unsupported.length)
    throw new TfjsGraphError(`op(s) with no TF.js mapping here: ${unsupported.join(', ')} (mapped: ${SUPPORTED_OPS.join(', ')})`);

  const consumers = new Map();
  for (const n of model.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const isGraphOutput = (name) => model.outputs.includes(name);
  /** The single node reading `name`, if it is read by one node only and is no graph output. */
  const soleConsumer = (name) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !isGraphOutput(name) ? c[0] : null;
  };

  const weights = [];
  const keep = (t) => (weights.push(t), t);
  const constOf = (node, i, what) => {
    const c = consts.get(node.inputs[i]);
    if (!c) throw new TfjsGraphError(`${node.opType} ${node.name}: ${what} (${node.inputs[i]}) must be a constant`);
    return c;
  };
  const scalarOf = (node, i, fallback) => {
    if (!node.inputs[i]) return fallback;
    const c = constOf(node, i, `input ${i}`);
    if (c.data.length !== 1) throw new TfjsGraphError(`${node.opType} ${node.name}: input ${i} is not a scalar`);
    return c.data[0];
  };
  /** Clip's bounds (attributes before opset 11, inputs since). */
  const clipBounds = (n) => [
    n.attrs.min ?? scalarOf(n, 1, -Infinity),
    n.attrs.max ?? scalarOf(n, 2, Infinity),
  ];

  // Static shapes: every value's logical (ONNX) dims and whether it is stored NHWC.
  const info = new Map([[inputName, { dims: inputDims, nhwc: inputDims.length === 4 }]]);
  const steps = [];
  const skip = new Set();
  const ops = {};

  const get = (node, i) => {
    const v = info.get(node.inputs[i]);
    if (!v) throw new TfjsGraphError(`${node.opType} ${node.name}: input ${node.inputs[i]} is not computed (constant or out of order)`);
    return v;
  };

  try {
    for (const node of model.nodes) {
      if (skip.has(node) || node.opType === 'Constant') continue;
      ops[node.opType] = (ops[node.opType] ?? 0) + 1;
      const label = `${node.opType} ${node.name || node.outputs[0]}`;
      const [inName] = node.inputs;
      let outName = node.outputs[0];
      const a = node.attrs;

      switch (node.opType) {
        case 'Conv': {
          const x = get(node, 0);
          if (x.dims.length !== 4) throw new TfjsGraphError(`${label}: ${x.dims.length}-d input; 2-d convolutions only`);
          const w = constOf(node, 1, 'weight');
          const [M, Cg, kh, kw] = w.dims;
          const C = x.dims[1];
          const group = a.group ?? 1;
          const strides = a.strides ?? [1, 1];
          const dilations = a.dilations ?? [1, 1];
          if ((strides[0] > 1 || strides[1] > 1) && (dilations[0] > 1 || dilations[1] > 1))
            throw new TfjsGraphError(`${label}: strides and dilations both above 1 (TF.js takes one or the other)`);
          let pads = a.pads ?? [0, 0, 0, 0];
          const autoPad = a.auto_pad ?? 'NOTSET';
          let pad;
          if (autoPad === 'NOTSET') pad = tfPad(pads);
          else if (autoPad === 'VALID') pad = 'valid', pads = [0, 0, 0, 0];
          else if (autoPad === 'SAME_UPPER') pad = 'same';
          else throw new TfjsGraphError(`${label}: auto_pad ${autoPad} is not supported`);
          const depthwise = group === C && Cg === 1 && group > 1;
          if (group !== 1 && !depthwise) throw new TfjsGraphError(`${label}: group ${group} is neither 1 nor depthwise`);
          if (!depthwise && Cg !== C) throw new TfjsGraphError(`${label}: weight has ${Cg} input channels, input ${C}`);

          // Weight and bias in ONNX layout, then BatchNormalization folded in.
          let wData = w.data;
          let bias = node.inputs[2] ? Float32Array.from(constOf(node, 2, 'bias').data) : new Float32Array(M);
          let last = node;
          const bn = soleConsumer(outName);
          if (bn?.opType === 'BatchNormalization') {
            const [scale, beta, mean, variance] = [1, 2, 3, 4].map((i) => constOf(bn, i, 'BatchNormalization parameter').data);
            const eps = bn.attrs.epsilon ?? 1e-5;
            wData = Float32Array.from(wData);
            const per = wData.length / M;
            for (let m = 0; m < M; m++) {
              const s = scale[m] / Math.sqrt(variance[m] + eps);
              for (let k = 0; k < per; k++) wData[m * per + k] *= s;
              bias[m] = (bias[m] - mean[m]) * s + beta[m];
            }
            skip.add(bn);
            ops.BatchNormalization = (ops.BatchNormalization ?? 0) + 1;
            last = bn;
          }
          let activation = 'linear';
          const act = soleConsumer(last.outputs[0]);
          if (act?.opType === 'Relu') activation = 'relu';
          else if (act?.opType === 'Clip') {
            const [lo, hi] = clipBounds(act);
            if (lo === 0 && hi === 6) activation = 'relu6';
            else if (lo === 0 && hi === Infinity) activation = 'relu';
          }
          if (activation !== 'linear') {
            skip.add(act);
            ops[act.opType] = (ops[act.opType] ?? 0) + 1;
            last = act;
          }
          outName = last.outputs[0];

          const filter = depthwise
            ? keep(tf.tensor4d(transposeArray(wData, [C, M / C, kh, kw], [2, 3, 0, 1]), [kh, kw, C, M / C]))
            : keep(tf.tensor4d(transposeArray(wData, [M, C, kh, kw], [2, 3, 1, 0]), [kh, kw, C, M]));
          const b = keep(tf.tensor1d(bias));
          const conv = depthwise ? tf.fused.depthwiseConv2d : tf.fused.conv2d;
          const args = { filter, bias: b, strides, pad, dilations, dataFormat: 'NHWC', activation };
          const [N, , H, W] = x.dims;
          const out = (size, p0, p1, s, d, k) =>
            pad === 'same' ? Math.ceil(size / s) : Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
          info.set(outName, {
            dims: [N, M, out(H, pads[0], pads[2], strides[0], dilations[0], kh), out(W, pads[1], pads[3], strides[1], dilations[1], kw)],
            nhwc: true,
          });
          steps.push((env) => env.set(outName, conv({ x: env.get(inName), ...args })));
          break;
        }
        case 'BatchNormalization': {
          const x = get(node, 0);
          if (!(x.nhwc || x.dims.length === 2)) throw new TfjsGraphError(`${label}: ${x.dims.length}-d input not supported`);
          const [scale, beta, mean, variance] = [1, 2, 3, 4].map((i) => keep(tf.tensor1d(Float32Array.from(constOf(node, i, 'parameter').data))));
          const eps = a.epsilon ?? 1e-5;
          info.set(outName, x);
          steps.push((env) => env.set(outName, tf.batchNorm(env.get(inName), mean, variance, beta, scale, eps)));
          break;
        }
        case 'Relu':
          info.set(outName, get(node, 0));
          steps.push((env) => env.set(outName, tf.relu(env.get(inName))));
          break;
        case 'Clip': {
          info.set(outName, get(node, 0));
          const [lo, hi] = clipBounds(node);
          steps.push(lo === 0 && hi === 6
            ? (env) => env.set(outName, tf.relu6(env.get(inName)))
            : (env) => env.set(outName, tf.clipByValue(env.get(inName), lo, hi)));
          break;
        }
        case 'Add': {
          const x = get(node, 0), y = get(node, 1);
          if (x.nhwc !== y.nhwc || x.dims.join() !== y.dims.join())
            throw new TfjsGraphError(`${label}: operands [${x.dims}] and [${y.dims}]; only same-shape Add of computed values is mapped`);
          info.set(outName, x);
          const other = node.inputs[1];
          steps.push((env) => env.set(outName, tf.add(env.get(inName), env.get(other))));
          break;
        }
        case 'MaxPool': {
          const x = get(node, 0);
          if (!x.nhwc) throw new TfjsGraphError(`${label}: 2-d pooling of a 4-d input only`);
          const [kh, kw] = a.kernel_shape;
          const strides = a.strides ?? [1, 1];
          const pads = a.pads ?? [0, 0, 0, 0];
          if ((a.ceil_mode ?? 0) !== 0) throw new TfjsGraphError(`${label}: ceil_mode 1 is not supported`);
          if ((a.dilations ?? [1, 1]).some((d) => d !== 1)) throw new TfjsGraphError(`${label}: dilated pooling is not supported`);
          if ((a.auto_pad ?? 'NOTSET') !== 'NOTSET') throw new TfjsGraphError(`${label}: auto_pad ${a.auto_pad} is not supported`);
          const [N, C, H, W] = x.dims;
          info.set(outName, {
            dims: [N, C, Math.floor((H + pads[0] + pads[2] - kh) / strides[0]) + 1, Math.floor((W + pads[1] + pads[3] - kw) / strides[1]) + 1],
            nhwc: true,
          });
          const pad = tfPad(pads);
          steps.push((env) => env.set(outName, tf.maxPool(env.get(inName), [kh, kw], strides, pad)));
          break;
        }
        case 'GlobalAveragePool': {
          const x = get(node, 0);
          if (!x.nhwc) throw new TfjsGraphError(`${label}: 4-d input only`);
          info.set(outName, { dims: [x.dims[0], x.dims[1], 1, 1], nhwc: true });
          steps.push((env) => env.set(outName, tf.mean(env.get(inName), [1, 2], true)));
          break;
        }
        case 'Flatten':
        case 'Reshape': {
          const x = get(node, 0);
          let dims;
          if (node.opType === 'Flatten') {
            const axis = (a.axis ?? 1) < 0 ? a.axis + x.dims.length : a.axis ?? 1;
            dims = [prod(x.dims.slice(0, axis)), prod(x.dims.slice(axis))];
          } else {
            if ((a.allowzero ?? 0) !== 0) throw new TfjsGraphError(`${label}: allowzero 1 is not supported`);
            dims = constOf(node, 1, 'shape').data.map((d, i) => (d === 0 ? x.dims[i] : d));
            const known = prod(dims.filter((d) => d !== -1));
            dims = dims.map((d) => (d === -1 ? prod(x.dims) / known : d));
          }
          // NHWC with 1x1 spatial dims is already in NCHW order: no transpose.
          const transpose = x.nhwc && x.dims[2] * x.dims[3] !== 1;
          info.set(outName, { dims, nhwc: false });
          steps.push((env) => env.set(outName, tf.reshape(transpose ? tf.transpose(env.get(inName), NHWC_TO_NCHW) : env.get(inName), dims)));
          break;
        }
        case 'Gemm': {
          const x = get(node, 0);
          if (x.nhwc || x.dims.length !== 2) throw new TfjsGraphError(`${label}: A must be 2-d`);
          if (a.transA) throw new TfjsGraphError(`${label}: transA is not supported`);
          const w = constOf(node, 1, 'B');
          const alpha = a.alpha ?? 1, beta = a.beta ?? 1;
          const [K, M] = a.transB ? [w.dims[1], w.dims[0]] : w.dims;
          if (K !== x.dims[1]) throw new TfjsGraphError(`${label}: B has ${K} rows, A ${x.dims[1]} columns`);
          const bData = (a.transB ? transposeArray(w.data, w.dims, [1, 0]) : Float32Array.from(w.data)).map((v) => v * alpha);
          const b = keep(tf.tensor2d(bData, [K, M]));
          let bias = null;
          if (node.inputs[2]) {
            const c = constOf(node, 2, 'C');
            if (!(c.data.length === M && c.dims.at(-1) === M) && c.data.length !== 1)
              throw new TfjsGraphError(`${label}: C of dims [${c.dims}] (a [${M}] row or a scalar is mapped)`);
            bias = keep(tf.tensor1d(Float32Array.from({ length: M }, (_, i) => beta * c.data[c.data.length === 1 ? 0 : i])));
          }
          info.set(outName, { dims: [x.dims[0], M], nhwc: false });
          steps.push((env) => env.set(outName, tf.fused.matMul({ a: env.get(inName), b, bias })));
          break;
        }
        case 'Identity':
        case 'Dropout':
          info.set(outName, get(node, 0));
          steps.push((env) => env.set(outName, env.get(inName)));
          break;
        default:
          throw new TfjsGraphError(`${label}: no TF.js mapping`);
      }
    }
    if (!info.has(outputName)) throw new TfjsGraphError(`graph output ${outputName} is not computed by the mapped nodes`);
  } catch (e) {
    for (const t of weights) t.dispose();
    throw e;
  }

  const out = info.get(outputName);
  const inNhwc = info.get(inputName).nhwc;
  return {
    inputName,
    outputName,
    outputDims: out.dims,
    ops,
    /** One forward pass: input tensor made, graph run, output read back (dataSync) and freed. */
    run(x) {
      const y = tf.tidy(() => {
        const env = new Map();
        const input = tf.tensor(x, inputDims);
        env.set(inputName, inNhwc ? tf.transpose(input, NCHW_TO_NHWC) : input);
        for (const step of steps) step(env);
        const o = env.get(outputName);
        return out.nhwc ? tf.transpose(o, NHWC_TO_NCHW) : o;
      });
      try {
        return y.dataSync();
      } finally {
        y.dispose();
      }
    },
    dispose() {
      for (const t of weights) t.dispose();
      weights.length = 0;
    },
  };
}
