// The one pseudo-random generator of the JavaScript tests and benchmarks:
// inputs must be the same in every script that compares two runtimes.

/** Deterministic pseudo-random float32 values in [-1, 1) (xorshift32). */
export function randomVector(n, seed = 1) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
