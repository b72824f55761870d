// A remembered stream of synthetic 28x28 grey images, shared by the page and
// the worker of durable.html: it reports every seq handed out (`staged`) and
// every seq known durable (`durable`: its `stored` resolved, or a flush()
// returned after it), so that a test which kills the browser knows what must
// have survived.

/** Image i: deterministic pixels (xorshift32 seeded by i), so reruns see the same images. */
export function image(i) {
  const data = new Uint8Array(28 * 28);
  let x = (i + 1) * 2654435761 >>> 0 || 1;
  for (let k = 0; k < data.length; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    data[k] = x & 0xff;
  }
  return { data, width: 28, height: 28, channels: 1 };
}

/**
 * Recognizes images first, first + 1, … remembered, until stopped() or
 * `count` images; awaits flush() every `flushEvery`. report(kind, seqs).
 */
export async function runStream(rec, { first = 0, count = Infinity, flushEvery = 8, pauseMs = 0 }, report, stopped = () => false) {
  const staged = [];
  for (let i = 0; i < count && !stopped(); i++) {
    const r = await rec.recognize(image(first + i), { topK: 1 });
    staged.push(r.seq);
    report('staged', [r.seq]);
    r.stored.then((s) => report('durable', [s]), () => report('failed', [r.seq]));
    if ((i + 1) % flushEvery === 0) {
      await rec.flush();
      report('durable', staged.splice(0));
    }
    if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  await rec.flush();
  report('durable', staged.splice(0));
}
