// TensorFlow.js's wasm backend (XNNPACK) in Node, configured as the
// benchmark's anchors are: one thread, SIMD. The binary comes from the npm
// package on disk (the backend's Node build reads it beside itself); nothing
// is fetched. `tfjsBinary` is shared with the benchmark page
// (tests/bench/browser/tfjs_web.mjs), which imports this module for it alone.
//
//   const { tf, backend } = await loadTfjsWasm();
//   // backend = { version: '4.22.0', binary: 'tfjs-backend-wasm-simd.wasm', simd: true, threads: 1 }

/** The binary the backend picks from the flags it initialised with (backend_wasm.js, getPathToWasmBinary). */
export function tfjsBinary(tf) {
  const simd = tf.env().get('WASM_HAS_SIMD_SUPPORT'), threads = tf.env().get('WASM_HAS_MULTITHREAD_SUPPORT');
  return `tfjs-backend-wasm${simd && threads ? '-threaded-simd' : simd ? '-simd' : ''}.wasm`;
}

let loaded = null;

/**
 * Imports tfjs-core and the wasm backend once and makes the backend current:
 * the non-threaded SIMD binary (threads are off in Node anyway; forcing it
 * keeps the choice explicit), one XNNPACK thread. A missing SIMD is an error:
 * the other engines run with SIMD.
 * @returns {Promise<{tf: object, backend: {version: string, binary: string, simd: boolean, threads: number}}>}
 */
export function loadTfjsWasm() {
  loaded ??= (async () => {
    let tf, wasm;
    try {
      [tf, wasm] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-backend-wasm')]);
    } catch (e) {
      throw new Error(`TensorFlow.js is not installed in tests/ort (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
    }
    tf = tf.default ?? tf;
    wasm = wasm.default ?? wasm;
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (!simd) throw new Error('this JavaScript engine has no wasm SIMD: TF.js would run its scalar binary');
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not initialise its wasm backend');
    await tf.ready();
    return { tf, backend: { version: wasm.version_wasm, binary: tfjsBinary(tf), simd, threads: wasm.getThreadsCount() } };
  })();
  return loaded;
}
