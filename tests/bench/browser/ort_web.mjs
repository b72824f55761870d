// onnxruntime-web in the benchmark pages: where the drivers serve its wasm
// build (run.mjs adds those routes), and the one configuration both pages
// use, as tests/ort/ort_run.mjs configures it for Node: one thread (no
// worker), SIMD, no proxy worker. Safe to import from Node (nothing runs).

export const ORT_DIST = '/onnxruntime-web/dist/';

let loaded = null;

/** The ESM build, imported once and configured (for `threads` threads: 1 unless a benchmark asks). */
export function loadOrt(threads = 1) {
  loaded ??= import(`${ORT_DIST}ort.wasm.min.mjs`).then((ort) => {
    ort.env.wasm.wasmPaths = new URL(ORT_DIST, location.href).href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'warning';
    return ort;
  });
  return loaded;
}
