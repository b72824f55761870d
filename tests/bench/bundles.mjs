// The model bundles of the in-browser benchmarks (tests/bench/recognize.mjs,
// tests/bench/first_result.mjs), written under build/bench_models/ so that
// both time the very same files:
//
//   const { bundles, skipped } = benchBundles(['fashion', 'mobilenet'], { capacity: 64 });
//   bundles[i] = { key, label, dir, image: { width, height, channels }, classes, features? }
//
// 'fashion': the bundled models/fashion-mnist/ (28x28 grey input images).
// 'mobilenet': MobileNetV3-Large from ../shared/models (or
// $ICIIA_SHARED_DIR/models; 640x480 RGBA input images, resized by the core to
// 224x224) with an ICIIA-T module of random weights of the right shapes
// (d 1280, g 256, h 4, L 1, 1000 classes). Every bundle is written with its
// feature tensor a graph output, which backend 'ort' needs (onnxruntime-web
// returns graph outputs only). MobileNet is skipped, with the reason in
// `skipped`, when ../shared is absent.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from '../../scripts/server.mjs';
import { addGraphOutputs, inspectOnnxGraph } from '../ort/ort_run.mjs';
import { randomVector } from '../common/random.mjs';
import { serializeSafetensors } from '../ort/safetensors.mjs';

export const BUNDLE_KEYS = ['fashion', 'mobilenet'];

const OUT = join(ROOT, 'build/bench_models');
// ../shared beside the repository, or ICIIA_SHARED_DIR (as the tests take it).
export const SHARED_MOBILENET = join(process.env.ICIIA_SHARED_DIR ?? join(ROOT, '../shared'), 'models/mobilenet_v3_large.onnx');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * ICIIA-T weights (docs/design.md names, g > 1) of random values at the scale of
 * a trained module: what matters here is the shapes, hence the cost.
 */
function randomIciia({ dim, classes, partitions, heads, layers }) {
  const g = partitions, m = Math.ceil(dim / g);
  const tensors = {};
  let seed = 1;
  const t = (name, shape, a, fill) => {
    const n = shape.reduce((x, y) => x * y, 1);
    tensors[name] = { shape, data: fill === undefined ? randomVector(n, seed++).map((v) => v * a) : new Float32Array(n).fill(fill) };
  };
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layers.${l}.`;
    t(`${p}self_attn.in_proj_weight`, [g, 3 * m, m], 1 / Math.sqrt(m));
    t(`${p}self_attn.in_proj_bias`, [3 * g * m], 0, 0);
    t(`${p}self_attn.out_proj_weight`, [g, m, m], 1 / Math.sqrt(m));
    t(`${p}self_attn.out_proj_bias`, [g * m], 0, 0);
    for (const lin of ['linear1', 'linear2']) {
      t(`${p}${lin}.weight`, [g, m, m], 1 / Math.sqrt(m));
      t(`${p}${lin}.bias`, [g * m], 1 / Math.sqrt(m));
    }
    for (const norm of ['norm1', 'norm2']) {
      t(`${p}${norm}.weight`, [g * m], 0, 1);
      t(`${p}${norm}.bias`, [g * m], 0, 0);
    }
  }
  t('classifier.weight', [classes, g * m], 1 / Math.sqrt(g * m));
  t('classifier.bias', [classes], 0, 0);
  const metadata = {
    format: 'iciia/1', dim: String(dim), num_classes: String(classes), num_heads: String(heads), num_layers: String(layers),
    num_partitions: String(g), shuffle: '1', attention: 'full',
  };
  return serializeSafetensors(tensors, metadata);
}

/** Writes a bundle under build/bench_models/NAME/ with `features` exposed as a graph output; returns its folder. */
function writeBundle(name, { onnx, iciia, manifest, capacity }) {
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const { outputs } = inspectOnnxGraph(onnx);
  const backbone = outputs.includes(manifest.backbone.features) ? onnx : addGraphOutputs(onnx, [manifest.backbone.features]);
  writeFileSync(join(dir, 'backbone.onnx'), backbone);
  writeFileSync(join(dir, 'iciia.safetensors'), iciia);
  const m = {
    ...manifest,
    name: `${manifest.name} (benchmark copy)`,
    backbone: { ...manifest.backbone, file: 'backbone.onnx', sha256: sha256(backbone) },
    iciia: { file: 'iciia.safetensors', sha256: sha256(iciia) },
    history: { capacity },
  };
  delete m.samples;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
  return dir;
}

export function fashionBundle({ capacity }) {
  const dir = join(ROOT, 'models/fashion-mnist');
  if (!existsSync(join(dir, 'manifest.json'))) throw new Error('models/fashion-mnist/ holds no bundle (manifest.json)');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const [h, w] = manifest.backbone.preprocess.size;
  return {
    key: 'fashion',
    label: 'Fashion-MNIST (bundled)',
    dir: writeBundle('fashion-mnist', {
      onnx: new Uint8Array(readFileSync(join(dir, manifest.backbone.file))),
      iciia: new Uint8Array(readFileSync(join(dir, manifest.iciia.file))),
      manifest,
      capacity,
    }),
    image: { width: w, height: h, channels: manifest.backbone.preprocess.channels },
    classes: manifest.labels.length,
  };
}

export function mobilenetBundle({ capacity }) {
  const onnx = new Uint8Array(readFileSync(SHARED_MOBILENET));
  // The features are what the final classifier consumes: the input of the
  // Gemm that writes the graph's logits output.
  const { nodes, outputs } = inspectOnnxGraph(onnx);
  const last = nodes.find((n) => n.opType === 'Gemm' && n.outputs.includes(outputs[0]));
  if (!last) throw new Error(`${SHARED_MOBILENET}: no Gemm writes the output ${outputs[0]}`);
  const dim = 1280, classes = 1000;
  return {
    key: 'mobilenet',
    label: 'MobileNetV3-Large + ICIIA-T (random weights)',
    features: last.inputs[0],
    dir: writeBundle('mobilenet_v3_large', {
      onnx,
      iciia: randomIciia({ dim, classes, partitions: 256, heads: 4, layers: 1 }),
      manifest: {
        format: 'iciia-bundle/1',
        name: 'mobilenet_v3_large',
        backbone: {
          input: 'input', features: last.inputs[0], logits: outputs[0],
          preprocess: { size: [224, 224], channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 1 / 255 },
        },
        labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
      },
      capacity,
    }),
    image: { width: 640, height: 480, channels: 4 },
    classes,
  };
}

/**
 * The bundles of `wanted` (a subset of BUNDLE_KEYS, in this order), written
 * with a history of `capacity`; `skipped`: why one asked for is missing.
 */
export function benchBundles(wanted, { capacity }) {
  const bundles = [];
  const skipped = [];
  if (wanted.includes('fashion')) bundles.push(fashionBundle({ capacity }));
  if (!wanted.includes('mobilenet')) {
    // not asked for
  } else if (existsSync(SHARED_MOBILENET)) bundles.push(mobilenetBundle({ capacity }));
  else skipped.push(`MobileNetV3-Large skipped: ${SHARED_MOBILENET} is absent (../shared holds the benchmark backbones)`);
  return { bundles, skipped };
}
