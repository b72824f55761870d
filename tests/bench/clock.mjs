// Measures the CPU clock from inside WebAssembly: a chain of dependent 64-bit
// multiply-adds, each exactly 4 cycles (imul 3 + add 1) on current x86 cores
// (Intel since Nehalem, AMD since Zen), so cycles / second is the clock the
// benchmark actually ran at, turbo included, unlike /proc/cpuinfo's nominal MHz.

function sleb128(big) {
  const out = [];
  let v = BigInt.asIntN(64, big);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const UNROLL = 8;
const CYCLES_PER_STEP = 4;

function probeModule() {
  // A multiplier no compiler turns into shifts and adds.
  const k = sleb128(0x5851f42d4c957f2dn);
  const step = [0x20, 0x01, 0x42, ...k, 0x7e, 0x42, 0x01, 0x7c, 0x21, 0x01]; // x = x * K + 1
  const body = [
    0x01, 0x01, 0x7e, // one i64 local (x)
    0x42, 0x01, 0x21, 0x01, // x = 1
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, 0x00, 0x45, 0x0d, 0x01, // if n == 0 break
    ...Array(UNROLL).fill(step).flat(),
    0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, // n -= 1
    0x0c, 0x00, 0x0b, 0x0b, // continue; end loop; end block
    0x20, 0x01, 0x0b, // return x
  ];
  const code = [0x01, ...uleb(body.length), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7e, // type: (i32) -> i64
    0x03, 0x02, 0x01, 0x00, // function 0 has type 0
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
    0x0a, ...uleb(code.length), ...code,
  ]);
}

function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/**
 * Clock in GHz: the fastest of `reps` short probes. Being preempted can only
 * make a probe slower, so the maximum stays near the true clock on a loaded
 * machine, where a median does not.
 */
export async function measureGhz({ iterations = 100_000, reps = 41 } = {}) {
  const { instance } = await WebAssembly.instantiate(probeModule());
  const f = instance.exports.f;
  f(iterations * 10); // tier up
  let best = 0;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f(iterations);
    const s = (performance.now() - t) / 1000;
    if (s > 0) best = Math.max(best, (iterations * UNROLL * CYCLES_PER_STEP) / s / 1e9);
  }
  return best;
}

// Run as a script under Node (the page imports it too, where there is no process).
const script = globalThis.process?.argv?.[1];
if (script && import.meta.url === `file://${script}`) console.log(`${(await measureGhz()).toFixed(2)} GHz`);
