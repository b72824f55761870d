// TensorFlow.js's wasm backend in the benchmark page: where run.mjs serves
// its browser builds and binary, and the configuration tests/ort/tfjs_wasm.mjs
// gives it in Node: the non-threaded SIMD binary, one XNNPACK thread. The
// packages' UMD builds are loaded as classic scripts (their ESM builds import
// Node built-ins and bare specifiers); they define the global `tf`, with
// `tf.wasm`. Safe to import from Node (nothing runs).

export const TFJS_DIST = '/tfjs/';
export const TFJS_SCRIPTS = ['tf-core.min.js', 'tf-backend-wasm.min.js'];

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.onload = resolve;
    el.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(el);
  });
}

let loaded = null;

/** Loads both builds once and makes the wasm backend current; resolves to {tf, backend}. */
export function loadTfjs() {
  loaded ??= (async () => {
    for (const f of TFJS_SCRIPTS) await loadScript(`${TFJS_DIST}${f}`);
    const { tf } = globalThis;
    const { tfjsBinary } = await import('/tests/ort/tfjs_wasm.mjs');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.wasm.setThreadsCount(1);
    tf.wasm.setWasmPaths(new URL(TFJS_DIST, location.href).href);
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (!simd) throw new Error('this browser has no wasm SIMD: TF.js would run its scalar binary');
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not initialise its wasm backend');
    await tf.ready();
    return {
      tf,
      backend: { version: tf.wasm.version_wasm, binary: tfjsBinary(tf), simd, threads: tf.wasm.getThreadsCount() },
    };
  })();
  return loaded;
}
