// What crash.test.mjs (and the soak) assert after a browser, tab or worker
// died mid-stream: the stored history, read by an independent reader
// (pages/idb_reader.mjs), against what the page knew before the end, and
// against a fresh recognizer's own view. Not a test file (node --test runs
// only *.test.mjs).
import assert from 'node:assert/strict';

/** What is known across rounds of one client. */
export function newBook() {
  return { durable: new Set(), nextSeq: 0 };
}

/**
 * Adds what the page knew just before it died: seqs handed out this round
 * (`staged`, in order) and seqs known durable (their `stored` resolved or a
 * flush() returned after them).
 */
export function recordKnown(book, known, label) {
  assert.deepEqual(known.failed, [], `${label}: no commit failed`);
  for (let i = 1; i < known.staged.length; i++) assert.ok(known.staged[i] > known.staged[i - 1], `${label}: seqs strictly increasing`);
  if (known.staged.length) assert.ok(known.staged[0] >= book.nextSeq, `${label}: the first seq ${known.staged[0]} comes after every stored one (${book.nextSeq})`);
  book.roundFirst = known.staged.length ? known.staged[0] : book.nextSeq;
  book.roundStaged = new Set(known.staged);
  for (const s of known.durable) book.durable.add(s);
  return known.staged.length;
}

/**
 * Checks window.durable.verify()'s result `v` after a restart; returns how
 * many records of the round were in flight and lost (allowed).
 */
export function checkRestart(book, v, capacity, label) {
  const { storage } = v;
  const keys = storage.records.map((r) => r.key);
  for (const r of storage.records) {
    assert.equal(r.error, undefined, `${label}: stored record ${r.key} is intact (${r.error})`);
    assert.equal(r.seq, r.key, `${label}: record under key ${r.key} says seq ${r.seq}`);
  }
  for (let i = 1; i < keys.length; i++) assert.ok(keys[i] > keys[i - 1], `${label}: keys strictly increasing, none twice`);
  assert.ok(keys.length <= capacity, `${label}: ${keys.length} records stored, capacity ${capacity} (evicted ones deleted)`);
  let lost = 0;
  if (storage.head) {
    assert.equal(storage.head.error, undefined, `${label}: the head is intact`);
    const next = storage.head.nextSeq;
    const lower = Math.max(0, next - capacity);
    for (const k of keys) assert.ok(k >= lower && k < next, `${label}: record ${k} inside the window [${lower}, ${next})`);
    for (const s of book.durable) {
      if (s >= lower) assert.ok(keys.includes(s), `${label}: record ${s} was durable before the kill and is missing (window [${lower}, ${next}))`);
    }
    const maxDurable = Math.max(-1, ...book.durable);
    assert.ok(next > maxDurable, `${label}: head ${next} is after every durable record (${maxDurable})`);
    for (const k of keys) {
      if (!book.durable.has(k)) assert.ok(k >= book.roundFirst, `${label}: record ${k} present but never known durable, and not of the last round (from ${book.roundFirst})`);
    }
    for (const s of book.roundStaged ?? []) if (s >= lower && !keys.includes(s)) lost++;
    book.nextSeq = next;
  } else {
    assert.equal(keys.length, 0, `${label}: records without a head`);
    assert.equal(book.durable.size, 0, `${label}: no head and no record stored, yet ${book.durable.size} records were durable ` +
      `(seqs up to ${Math.max(...book.durable)}); the fresh recognizer sees ${v.size}, warnings: ${JSON.stringify(v.warnings)}`);
  }
  // The recognizer's own view agrees with the independent reading.
  assert.equal(v.size, keys.length, `${label}: history.size() equals the stored record count`);
  assert.deepEqual(v.exportedSeqs, keys, `${label}: the export holds exactly the stored records`);
  assert.equal(v.exportMatchesStorage, true, `${label}: exported bytes equal the stored bytes`);
  assert.deepEqual(v.attention, keys, `${label}: the next decision attends to exactly the stored records`);
  assert.equal(v.historySize, keys.length, `${label}: the next decision's history size`);
  assert.deepEqual(v.warnings, [], `${label}: nothing skipped or reported on loading`);
  for (const k of keys) book.durable.add(k);
  return lost;
}

// The demo's seeded generator (mulberry32): the kill points repeat from run to run.
export { seededRandom as prng } from '../../examples/demo/client_stream.mjs';
