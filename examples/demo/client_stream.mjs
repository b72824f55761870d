// A simulated client: a user who only ever photographs a few of the model's
// classes. Shared by the demo page and the headless Node example
// (examples/node/stream.mjs), so one seed gives the same stream in both.
// Browser-safe and Node-safe: no DOM, no Node built-ins.

/** A small seeded generator (mulberry32): reproducible streams for tests. */
export function seededRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Draws a client stream from the bundle's samples (`samples/index.json`
 * entries `{file, label}`): `classes` labels chosen at random among those
 * present, then `count` of their samples in random order.
 * Once every sample of those classes has been shown, they are reshuffled and
 * shown again, so `count` may exceed what the bundle holds.
 * @returns {{classes: number[], items: object[]}}
 */
export function pickStream(samples, { classes = 3, count = 120, seed = 1 } = {}) {
  const random = seededRandom(seed);
  const present = [...new Set(samples.map((s) => s.label))].sort((a, b) => a - b);
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`classes must be a positive integer, got ${classes}`);
  const chosen = shuffle([...present], random).slice(0, classes).sort((a, b) => a - b);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const pool = samples.filter((s) => chosen.includes(s.label));
  if (!pool.length) throw new RangeError('no samples to stream');
  const items = [];
  while (items.length < count) items.push(...shuffle([...pool], random).slice(0, count - items.length));
  return { classes: chosen, items };
}
