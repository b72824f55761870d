// The page of durable.html: window.durable drives remembered streams on the
// page or in a module worker and reads IndexedDB on its own
// (idb_reader.mjs), for crash.test.mjs, storage.test.mjs and the soak.
import * as pkg from '../../../web/dist/index.js';
import { exportRecords, parseHead, parseRecord, readClient } from './idb_reader.mjs';
import { image, runStream } from './stream.mjs';

const MODEL = '/models/fashion-mnist/';

const state = { rec: null, warnings: [], staged: [], durable: [], failed: [], running: null, stop: false, worker: null, workerDone: null };
const report = (kind, seqs) => state[kind].push(...seqs);
const resetKnown = () => {
  state.staged = [];
  state.durable = [];
  state.failed = [];
};

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

window.durable = {
  pkg,
  image,

  /**
   * Opens (replacing) the page's recognizer on clientId. shiftLevel 0: ICIIA
   * answers every image, so a decision's attention lists exactly the records
   * the core holds.
   */
  async open({ clientId, capacity, database, durability }) {
    state.rec?.dispose();
    state.warnings = [];
    state.rec = await pkg.createRecognizer({
      model: MODEL, clientId, historyCapacity: capacity, database, durability, shiftLevel: 0, onWarning: (m) => state.warnings.push(m),
    });
    return { capacity: state.rec.historyCapacity };
  },

  /** The page's recognizer (open() made it). */
  recognizer: () => state.rec,

  /** Starts a remembered stream on the page's recognizer; returns at once. */
  startStream(options) {
    // reset false: keep what a worker of this page already reported
    // (tabs.test.mjs). Otherwise the stream's warnings start empty: what the
    // recognizer said on opening (a browser-reported loss after a crash)
    // was verify()'s to report, not this stream's.
    if (options.reset !== false) {
      resetKnown();
      state.warnings = [];
    }
    state.stop = false;
    state.running = runStream(state.rec, options, report, () => state.stop).catch((e) => state.warnings.push(`stream: ${e}`));
    return true;
  },
  /** Resolves once the stream has ended by itself (its `count`), flushed. */
  streamDone: () => state.running.then(() => true),
  async stopStream() {
    state.stop = true;
    await state.running;
    return true;
  },

  /** What is known so far: seqs handed out, seqs known durable, seqs whose commit failed, warnings. */
  snapshot: () => ({ staged: [...state.staged], durable: [...state.durable], failed: [...state.failed], warnings: [...state.warnings] }),

  /** Starts a stream in a module worker; resolves once its recognizer is ready. */
  startWorker({ clientId, capacity, stream }) {
    resetKnown();
    state.workerDone = false;
    const worker = new Worker(new URL('./durable_worker.mjs', import.meta.url), { type: 'module' });
    state.worker = worker;
    return new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.ready) resolve(true);
        else if (data.error) {
          state.warnings.push(`worker: ${data.error}`);
          reject(new Error(data.error));
        } else if (data.warning) state.warnings.push(`worker: ${data.warning}`);
        else if (data.kind) report(data.kind, data.seqs);
        else if (data.done) state.workerDone = true;
        else if (data.exported) state.workerExport?.(data.exported);
      };
      worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
      worker.postMessage({ model: MODEL, clientId, capacity, stream });
    });
  },
  /** Terminates the worker, mid-write or not; returns what was known at that moment. */
  killWorker() {
    const known = window.durable.snapshot();
    state.worker.terminate();
    state.worker = null;
    return known;
  },
  /** Resolves once the worker's stream has ended by itself. */
  async workerStreamDone() {
    while (!state.workerDone) await new Promise((resolve) => setTimeout(resolve, 20));
    return true;
  },
  /** The worker's history: { size, bytes }. */
  workerExport() {
    return new Promise((resolve) => {
      state.workerExport = resolve;
      state.worker.postMessage({ export: true });
    });
  },
  /** The page's history: { size, bytes }. */
  async pageExport() {
    return { size: await state.rec.history.size(), bytes: Array.from(await state.rec.history.export()) };
  },

  /**
   * The soak (tests/bench/soak.mjs): `count` remembered recognitions of
   * images first, first + 1, …; the answer's latency of each (ms), then,
   * flushed, the core's heap and the stored record count (read directly).
   */
  async soakChunk({ first, count }) {
    const rec = state.rec;
    const latencies = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await rec.recognize(image(first + i), { topK: 1 });
      latencies.push(performance.now() - t);
    }
    await rec.flush();
    const heap = (await pkg.loadCore()).heapStats();
    const { head, records } = await readClient(rec.clientId);
    return { latencies, heapBytes: heap.heapBytes, usedBytes: heap.usedBytes, records: records.length, nextSeq: head ? parseHead(head).nextSeq : 0, size: await rec.history.size(), warnings: [...state.warnings] };
  },

  /** Reads IndexedDB directly: head and records parsed by idb_reader.mjs (not the core). */
  async readStorage({ clientId, database }) {
    const { head, records } = await readClient(clientId, database);
    return {
      head: head ? parseHead(head) : null,
      records: records.map(({ key, value }) => ({ key, length: value.length, ...parseRecord(value) })),
    };
  },

  /**
   * After a restart: a fresh recognizer on the same client (opening reads,
   * never writes), then the independent reading, and how the recognizer's
   * view compares (size, export bytes against the stored bytes, the seqs the
   * next decision attends to). The recognizer opens the database first so
   * that a loss the browser reports on that first open (Chromium's
   * dataLoss) reaches the package, as it would on a user's page.
   */
  async verify({ clientId, capacity, database }) {
    await window.durable.open({ clientId, capacity, database });
    const rec = state.rec;
    const raw = await readClient(clientId, database);
    const storage = {
      head: raw.head ? parseHead(raw.head) : null,
      records: raw.records.map(({ key, value }) => ({ key, length: value.length, ...parseRecord(value) })),
    };
    const size = await rec.history.size();
    const exported = exportRecords(await rec.history.export());
    const byKey = new Map(raw.records.map((r) => [r.key, r.value]));
    const exportedSeqs = exported.map((b) => parseRecord(b).seq);
    const exportMatchesStorage = exported.every((b, i) => byKey.has(exportedSeqs[i]) && equalBytes(b, byKey.get(exportedSeqs[i])));
    const probe = await rec.recognize(image(1e6), { remember: false, topK: 3 });
    return {
      storage,
      size,
      exportedSeqs,
      exportMatchesStorage,
      attention: probe.attention.map((a) => a.seq),
      historySize: probe.historySize,
      warnings: [...state.warnings],
    };
  },
};
document.getElementById('status').textContent = 'ready';
