// The demo page: the package from the served web/dist, the bundled model,
// images from the user or from a simulated client stream, and for each image
// the adapted and the backbone's predictions side by side, plus what the
// adaptation used: the past images ICIIA attended to, or the class
// frequencies prior correction estimated. The user picks the adaptation.
//
// Privacy by construction: images stay in this page's memory (thumbnails,
// keyed by the history record's seq, gone on reload); the recognizer keeps
// only feature vectors and the backbone's logits, in IndexedDB; the server
// only ever receives GETs of its own files.
//
// window.iciiaDemo is the test hook (tests/browser/): the same functions the
// buttons call, without going through the DOM.
import { createRecognizer } from '../../web/dist/index.js';
import { pickStream } from './client_stream.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// ?model=NAME picks another bundle under models/ (a plain folder name only).
const MODEL_NAME = /^[\w-]+$/.test(params.get('model') ?? '') ? params.get('model') : 'fashion-mnist';
const MODEL_URL = new URL(`../../models/${MODEL_NAME}/`, import.meta.url).href;
const CLIENT_KEY = 'iciia-demo.client';
const TOP_K = 3;
const STREAM_DELAY_MS = 500; // a watchable pace; fast mode only yields to the renderer
const THUMB_SIZE = 96;
const ATTENTION_SHOWN = 12;
const FILMSTRIP_LENGTH = 36;
const ADAPTATION_TEXT = {
  iciia: 'ICIIA over your history',
  prior: 'prior correction over your history',
  none: 'none: the backbone alone',
};

/** Which adaptation answered, and when the shift gate held, why not the chosen one. */
function adaptedHow(r) {
  if (r.adaptation !== 'none' || !r.shift) return ADAPTATION_TEXT[r.adaptation];
  return `none yet: your history does not show a class mix of its own (shift test ${r.shift.statistic.toFixed(1)} ` +
    `of ${r.shift.threshold.toFixed(1)} needed), so the backbone answers`;
}

// keepOffline() lists what the page loaded from its resource timing entries:
// room for every sample image (the default buffer stops at 250).
performance.setResourceTimingBufferSize(10_000);

let rec = null;
let defaultShiftLevel = 0; // the package's, as the first recognizer (opened without one) reports it
let labels = [];
let samplesReady = Promise.resolve([]);
// seq → { bitmap, label }: the only place images are kept, and only while the page lives.
const thumbs = new Map();
let streaming = false;
let stopRequested = false;

// Every recognizer call goes through one queue: drops, stream steps and
// history buttons never overlap, and a client switch waits for all of them.
let chain = Promise.resolve();
const enqueue = (fn) => {
  const p = chain.then(fn);
  chain = p.catch(() => {});
  return p;
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const ms = (x) => `${x.toFixed(x < 1 ? 2 : 1)} ms`;
const kB = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} kB`);
const labelName = (i) => labels[i] ?? `class ${i}`;
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

// ---- model download progress (bytes of all the bundle's files together) ----
function onProgress({ file, loaded, total }) {
  const bar = $('load-progress');
  if (total) {
    bar.max = total;
    bar.value = loaded;
  }
  $('load-text').textContent = `Downloading the model (${file}): ${kB(loaded)}${total ? ` of ${kB(total)}` : ''}`;
}

// What the recognizer skipped rather than failed on (a corrupt stored record): shown, not hidden in the console.
function onWarning(message) {
  const box = $('warning');
  box.textContent = `Note: ${message}`;
  box.hidden = false;
}

// ---- drawing ----
function drawInto(canvas, bitmap) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const s = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  const w = bitmap.width * s, h = bitmap.height * s;
  ctx.imageSmoothingEnabled = s < 1; // tiny samples stay crisp pixels
  ctx.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

const thumbCanvas = (bitmap, size) => {
  const c = el('canvas', { width: size, height: size });
  drawInto(c, bitmap);
  return c;
};

function renderBars(list, entries, truth) {
  list.replaceChildren(
    ...entries.map((e) => {
      const verdict = truth === undefined ? '' : e.index === truth ? 'correct' : 'wrong';
      return el(
        'li',
        { className: verdict },
        el('span', { className: 'name' }, e.label),
        el('span', { className: 'score' }, pct(e.score)),
        el('span', { className: 'bar' }, el('span', { style: `width:${(100 * e.score).toFixed(1)}%` })),
      );
    }),
  );
}

function renderAttention(attention) {
  const box = $('attention');
  if (!attention.length) {
    $('attention-desc').textContent = 'No history yet for this client: the decision could attend to the image itself only.';
    box.replaceChildren();
    return;
  }
  const shown = [...attention].sort((a, b) => b.weight - a.weight).slice(0, ATTENTION_SHOWN);
  const max = shown[0].weight || 1;
  $('attention-desc').textContent =
    `The ${shown.length} most attended of ${attention.length} past images of this client ` +
    `(equal attention would give each ${pct(1 / attention.length)}).`;
  box.replaceChildren(
    ...shown.map((a) => {
      const t = thumbs.get(a.seq);
      const picture = t
        ? thumbCanvas(t.bitmap, 64)
        : el('div', { className: 'missing', title: 'remembered before this page was loaded, or by another tab' }, `#${a.seq}`);
      return el(
        'figure',
        {},
        picture,
        el('span', { className: 'weight', style: `width:${Math.max(4, (64 * a.weight) / max).toFixed(0)}px` }),
        el('figcaption', {}, `${pct(a.weight)}${t?.label !== undefined ? ` ${labelName(t.label)}` : ''}`),
      );
    }),
  );
}

function renderClassPrior(r) {
  const prior = Array.from(r.classPrior ?? [], (score, index) => ({ label: labelName(index), index, score }));
  prior.sort((a, b) => b.score - a.score);
  renderBars($('class-prior'), prior);
  $('prior-desc').textContent =
    `Estimated by prior correction (EM over the backbone's answers) from the ${r.historySize - (r.seq === undefined ? 0 : 1)} ` +
    `past images of this client and the last one; the model was trained with every class equally often.`;
}

function renderResult(r, { bitmap, label, name }) {
  drawInto($('current-image'), bitmap);
  const truth = $('truth');
  if (label !== undefined) {
    truth.replaceChildren('True label: ', el('span', { className: 'label' }, labelName(label)));
  } else {
    truth.replaceChildren(el('span', { className: 'label' }, name ?? 'your image'), ' (label unknown)');
  }
  const t = r.timings;
  $('timings').textContent = t
    ? `preprocess ${ms(t.preprocess)} · backbone ${ms(t.backbone)} · sync ${ms(t.sync)} · ${r.adaptation} ${ms(t.adapt)}`
    : '';
  $('adapted-how').textContent = adaptedHow(r);
  renderBars($('adapted'), r.top, label);
  renderBars($('baseline'), r.baseline, label);
  $('attention-card').hidden = r.adaptation !== 'iciia';
  $('prior-card').hidden = r.adaptation !== 'prior';
  if (r.adaptation === 'iciia') renderAttention(r.attention);
  if (r.adaptation === 'prior') renderClassPrior(r);

  const strip = $('filmstrip');
  const verdict = label === undefined ? '' : r.top[0].index === label ? 'right' : 'wrong';
  const caption = `${label !== undefined ? `${labelName(label)}: ` : ''}adapted ${r.top[0].label}, backbone ${r.baseline[0].label}`;
  strip.prepend(el('figure', { className: verdict, title: caption }, thumbCanvas(bitmap, 44)));
  while (strip.childElementCount > FILMSTRIP_LENGTH) strip.lastElementChild.remove();
}

function setHistorySize(n) {
  $('history-size').textContent = String(n);
}

function resetResults() {
  thumbs.clear();
  for (const id of ['adapted', 'baseline', 'attention', 'class-prior', 'filmstrip']) $(id).replaceChildren();
  $('truth').textContent = 'No image yet.';
  $('timings').textContent = '';
  $('attention-desc').textContent = 'Past images of this client, by attention weight.';
  $('current-image').getContext('2d').clearRect(0, 0, 128, 128);
  $('accuracy').hidden = true;
}

// ---- recognition ----
function rememberThumb(seq, entry) {
  thumbs.set(seq, entry);
  // Bounded: a record older than twice the capacity has left the history.
  const keep = 2 * rec.historyCapacity;
  for (const old of thumbs.keys()) {
    if (thumbs.size <= keep) break;
    thumbs.delete(old);
  }
}

/** One image through the recognizer, remembered, shown. */
async function recognizeShown(image, { thumb, label, name, remember = true }) {
  const r = await rec.recognize(image, { remember, topK: TOP_K });
  if (r.seq !== undefined) rememberThumb(r.seq, { bitmap: thumb, label });
  // The answer is shown at once; the record becomes durable after it.
  r.stored?.catch((e) => {
    thumbs.delete(r.seq);
    showError(`${name ?? 'The image'} was recognized but could not be remembered: ${e.message}`);
  });
  renderResult(r, { bitmap: thumb, label, name });
  setHistorySize(r.historySize);
  return r;
}

const summary = (r, label) => ({
  label: label ?? null,
  adaptation: r.adaptation,
  classPrior: r.classPrior ? Array.from(r.classPrior) : null,
  shift: r.shift ?? null,
  adapted: r.top[0].index,
  baseline: r.baseline[0].index,
  seq: r.seq ?? null,
  historySize: r.historySize,
  attention: r.attention.map((a) => ({ seq: a.seq, weight: a.weight })),
  timings: r.timings,
});

async function recognizeFiles(files) {
  for (const file of files) {
    await enqueue(async () => {
      let bitmap;
      try {
        bitmap = await createImageBitmap(file);
      } catch {
        showError(`${file.name}: this browser cannot decode it as an image.`);
        return;
      }
      try {
        const s = Math.min(1, THUMB_SIZE / Math.max(bitmap.width, bitmap.height));
        const thumb = await createImageBitmap(bitmap, {
          resizeWidth: Math.max(1, Math.round(bitmap.width * s)),
          resizeHeight: Math.max(1, Math.round(bitmap.height * s)),
          resizeQuality: 'medium',
        });
        await recognizeShown(bitmap, { thumb, name: file.name });
        showError('');
      } catch (e) {
        showError(`${file.name}: ${e.message}`);
      } finally {
        bitmap.close();
      }
    });
  }
}

// ---- samples and the client stream ----
async function fetchOk(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
}

/** The bundle's labelled sample images, decoded once (they are small). */
async function loadSamples(manifest) {
  if (!manifest.samples) return [];
  const indexUrl = new URL(manifest.samples, MODEL_URL);
  const index = await (await fetchOk(indexUrl)).json();
  if (!Array.isArray(index)) throw new Error(`${indexUrl}: expected an array of {file, label}`);
  const out = new Array(index.length);
  let next = 0;
  const worker = async () => {
    while (next < index.length) {
      const i = next++;
      const { file, label } = index[i];
      if (typeof file !== 'string' || !Number.isInteger(label) || label < 0 || label >= labels.length)
        throw new Error(`${indexUrl}: entry ${i} is not {file, label} with a label below ${labels.length}`);
      const blob = await (await fetchOk(new URL(file, indexUrl))).blob();
      out[i] = { file, label, bitmap: await createImageBitmap(blob) };
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return out;
}

const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0];

function setStreaming(on) {
  streaming = on;
  $('play-stream').disabled = on;
  $('stop-stream').disabled = !on;
}

/**
 * Plays a client stream: `count` samples of `classes` random classes, each
 * remembered; returns both running accuracies.
 */
async function playStream({ classes = 3, count = 120, fast = false, seed = randomSeed() } = {}) {
  if (streaming) throw new Error('a stream is already playing');
  setStreaming(true);
  try {
    const samples = await samplesReady;
    if (!samples.length) throw new Error(`the bundle at ${MODEL_URL} ships no samples (manifest.samples)`);
    const stream = pickStream(samples, { classes, count, seed });
    $('stream-desc').textContent = stream.classes.map(labelName).join(', ');
    $('accuracy').hidden = false;
    let adapted = 0, baseline = 0;
    const steps = [];
    for (const item of stream.items) {
      if (stopRequested) break;
      const r = await enqueue(() => recognizeShown(item.bitmap, { thumb: item.bitmap, label: item.label }));
      adapted += r.top[0].index === item.label;
      baseline += r.baseline[0].index === item.label;
      const n = steps.push({ ...summary(r, item.label), file: item.file, attention: r.attention.length });
      $('acc-adapted').style.width = pct(adapted / n);
      $('acc-baseline').style.width = pct(baseline / n);
      $('acc-adapted-text').textContent = pct(adapted / n);
      $('acc-baseline-text').textContent = pct(baseline / n);
      $('acc-detail').textContent = `${n} of ${stream.items.length} images (stream seed ${seed}): adapted ${adapted} right, backbone ${baseline} right.`;
      await sleep(fast ? 0 : STREAM_DELAY_MS);
    }
    const n = steps.length;
    return { seed, classes: stream.classes, n, adaptedAccuracy: n ? adapted / n : 0, baselineAccuracy: n ? baseline / n : 0, steps };
  } finally {
    stopRequested = false;
    setStreaming(false);
    // The storage line is to count the stream's records, so it waits for their commits.
    try {
      await rec.flush();
    } catch {
      // a record that could not be stored was reported by its own `stored` already
    }
    void refreshStorage();
  }
}

// ---- history and client ----
async function refreshHistorySize() {
  const n = await rec.history.size();
  setHistorySize(n);
  void refreshStorage();
  return n;
}

// What the browser says of the site's storage (the whole origin, not this
// history alone) and whether it may evict it; refreshed after writes.
async function refreshStorage() {
  const box = $('storage-usage');
  try {
    const u = await rec.history.usage();
    box.textContent = `${kB(u.usage)} of ${kB(u.quota)} used by this site; ` +
      (u.persisted ? 'kept: the browser will not evict it' : 'the browser may evict it when the disk fills up');
    $('persist-storage').disabled = u.persisted;
    return u;
  } catch (e) {
    box.textContent = `unknown (${e.message})`;
    return null;
  }
}

// Only on a click: browsers ask (Firefox) or decide (Chromium) then.
async function persistStorage() {
  const granted = await rec.history.persist();
  if (!granted) {
    showError('The browser declined to keep this site\'s data (Chromium keeps it for sites you bookmark or install); ' +
      'the history stays, but may be evicted when the disk fills up.');
  }
  await refreshStorage();
  return granted;
}

async function clearHistory() {
  await enqueue(() => rec.history.clear());
  resetResults();
  return refreshHistorySize();
}

async function exportHistory() {
  return enqueue(() => rec.history.export());
}

async function importHistory(bytes) {
  await enqueue(() => rec.history.import(bytes));
  return refreshHistorySize();
}

/** Shows which adaptation runs; modes the bundle cannot run are disabled. */
function showAdaptation() {
  $('shift-gate').checked = rec.shiftLevel > 0;
  for (const input of document.querySelectorAll('#adaptation input[type=radio]')) {
    input.checked = input.value === rec.adaptation;
    input.disabled = !rec.adaptations.includes(input.value);
    input.parentElement.title = input.disabled ? 'this model has no ICIIA weights' : input.parentElement.title;
  }
  $('adapted-how').textContent = ADAPTATION_TEXT[rec.adaptation];
}

/** Turns the shift gate on (the package's default level) or off; reopens the recognizer on the same client. */
async function setShiftGate(on) {
  await switchClient(rec.clientId, { shiftLevel: on ? defaultShiftLevel : 0 });
  return rec.shiftLevel;
}

/** Switches the adaptation for the images that follow. */
async function setAdaptation(mode) {
  await enqueue(() => rec.setAdaptation(mode));
  showAdaptation();
  return rec.adaptation;
}

async function openRecognizer(clientId, adaptation, shiftLevel) {
  rec = await createRecognizer({
    model: MODEL_URL, clientId, onProgress, onWarning, ...(adaptation ? { adaptation } : {}),
    ...(shiftLevel !== undefined ? { shiftLevel } : {}),
  });
  labels = rec.labels;
  showAdaptation();
  $('client-id').value = rec.clientId;
  $('history-capacity').textContent = String(rec.historyCapacity);
  localStorage.setItem(CLIENT_KEY, rec.clientId);
  await refreshHistorySize();
}

/**
 * Opens the new client before closing the old one: a failed switch leaves the
 * page working. `shiftLevel` (the test hook's only) replaces the shift gate's.
 */
async function switchClient(clientId, { shiftLevel } = {}) {
  const id = String(clientId).trim();
  if (!id) throw new TypeError('the client id must not be empty');
  await enqueue(async () => {
    const old = rec;
    await old.flush().catch(() => {}); // a record that could not be stored was reported already
    await openRecognizer(id, old.adaptation, shiftLevel ?? old.shiftLevel);
    old.dispose();
    resetResults();
  });
  return rec.clientId;
}

// ---- offline copy (sw.js) ----
/**
 * Registers the service worker and hands it every same-origin URL this page
 * has loaded (shell, package, wasm, model, samples) to keep for offline use.
 * Resolves to how many it holds; rejects when service workers are unavailable.
 */
async function keepOffline() {
  if (!('serviceWorker' in navigator)) throw new Error('this browser has no service workers');
  await navigator.serviceWorker.register(new URL('sw.js', import.meta.url), { scope: './' });
  const registration = await navigator.serviceWorker.ready;
  const urls = [...new Set([
    location.origin + location.pathname,
    ...performance.getEntriesByType('resource').map((e) => e.name).filter((u) => new URL(u).origin === location.origin),
    // Both builds of the core, whichever this visit loaded: Chromium does not
    // serve a dedicated worker's script from this cache, so offline the
    // threads build cannot start its workers and the package falls back to
    // the single-threaded core, which must then be here.
    ...['iciia_core.mjs', 'iciia_core.wasm', 'iciia_core.mt.mjs', 'iciia_core.mt.wasm', 'iciia_core.mt.worker.js', 'iciia_core.mt.worker.text.mjs'].map(
      (f) => new URL(`../../web/wasm/${f}`, import.meta.url).href,
    ),
  ])];
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data.cached));
    registration.active.postMessage({ type: 'keep', urls }, [channel.port2]);
  });
}

// ---- wiring ----
function wire() {
  const drop = $('drop-zone');
  $('pick-images').addEventListener('change', (e) => {
    recognizeFiles([...e.target.files]);
    e.target.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    recognizeFiles([...e.dataTransfer.files].filter((f) => f.type.startsWith('image/') || !f.type));
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') $('pick-images').click();
  });

  $('stream-form').addEventListener('submit', (e) => {
    e.preventDefault();
    playStream({
      classes: Number($('stream-classes').value),
      count: Number($('stream-count').value),
      fast: $('stream-fast').checked,
    }).then(() => showError(''), (err) => showError(err.message));
  });
  $('stop-stream').addEventListener('click', () => {
    stopRequested = true;
  });

  // Clearing asks for a second click within a few seconds instead of a modal dialog.
  const clear = $('clear-history');
  let armed = null;
  clear.addEventListener('click', () => {
    if (!armed) {
      clear.textContent = 'Really clear?';
      clear.classList.add('confirm');
      armed = setTimeout(() => {
        armed = null;
        clear.textContent = 'Clear';
        clear.classList.remove('confirm');
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    clear.textContent = 'Clear';
    clear.classList.remove('confirm');
    clearHistory().catch((err) => showError(err.message));
  });

  $('export-history').addEventListener('click', async () => {
    try {
      const bytes = await exportHistory();
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      el('a', { href: url, download: `iciia-history-${rec.clientId}.bin` }).click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showError(`export: ${err.message}`);
    }
  });
  $('import-history').addEventListener('change', async (e) => {
    const [file] = e.target.files;
    e.target.value = '';
    if (!file) return;
    try {
      await importHistory(new Uint8Array(await file.arrayBuffer()));
      showError('');
    } catch (err) {
      showError(`import of ${file.name}: ${err.message}`);
    }
  });

  $('persist-storage').addEventListener('click', () => {
    persistStorage().then((granted) => granted && showError(''), (err) => showError(`storage: ${err.message}`));
  });

  $('adaptation').addEventListener('change', (e) => {
    if (e.target.id === 'shift-gate') {
      setShiftGate(e.target.checked).then(() => showError(''), (err) => {
        showError(`shift gate: ${err.message}`);
        showAdaptation();
      });
      return;
    }
    setAdaptation(e.target.value).then(() => showError(''), (err) => {
      showError(`adaptation: ${err.message}`);
      showAdaptation();
    });
  });

  $('client-form').addEventListener('submit', (e) => {
    e.preventDefault();
    switchClient($('client-id').value).then(() => showError(''), (err) => showError(`switching client: ${err.message}`));
  });
}

async function start() {
  wire();
  const clientId = params.get('client') || localStorage.getItem(CLIENT_KEY) || 'demo-user';
  try {
    await openRecognizer(clientId);
    defaultShiftLevel = rec.shiftLevel;
  } catch (e) {
    $('load-text').textContent = 'The model could not be loaded.';
    showError(`Loading ${MODEL_URL} failed: ${e.message}`);
    console.error(e);
    throw e;
  }
  samplesReady = loadSamples(rec.manifest);
  samplesReady.catch((e) => showError(`The sample images could not be loaded: ${e.message}`));
  $('loading').hidden = true;
  $('app').hidden = false;
  const footer = $('footer');
  footer.textContent =
    `Model ${rec.manifest.name ?? MODEL_NAME}: ${labels.length} classes, fingerprint ${rec.fingerprint.slice(0, 16)}…, ` +
    `history capacity ${rec.historyCapacity}, adaptations ${rec.adaptations.join(', ')}; the backbone runs on ` +
    `${rec.threads} thread${rec.threads === 1 ? '' : 's'}${globalThis.crossOriginIsolated ? '' : ' (the page is not cross-origin isolated)'}. ` +
    `Served from ${location.origin}.`;
  const offline = samplesReady.then(keepOffline);
  offline.then(
    (n) => footer.append(` Offline copy: ${n} files kept by the service worker.`),
    (e) => footer.append(` No offline copy (${e.message}).`),
  );
  return { offline }; // not awaited: the page is ready before its offline copy is
}

const started = start();
const ready = started.then(async () => ({
  clientId: rec.clientId,
  labels,
  adaptation: rec.adaptation,
  adaptations: rec.adaptations,
  historySize: await rec.history.size(),
  samples: (await samplesReady).length,
  threads: rec.threads,
  cores: navigator.hardwareConcurrency,
  isolated: globalThis.crossOriginIsolated === true,
  sharedMemory: typeof SharedArrayBuffer === 'function',
}));
ready.catch(() => {}); // reported once, by start(); callers of ready still see the rejection
window.iciiaDemo = {
  /** Resolves once the model is loaded and the samples decoded: { clientId, labels, historySize, samples, threads, cores, isolated }. */
  ready,
  /** Resolves to the number of files the service worker keeps for offline use. */
  offline: () => started.then((s) => s.offline),
  playStream,
  /** Recognizes sample `index` of the bundle; returns the summary of the result. */
  recognizeSample: async ({ index = 0, remember = true } = {}) => {
    const s = (await samplesReady)[index];
    if (!s) throw new RangeError(`no sample ${index}`);
    return summary(await enqueue(() => recognizeShown(s.bitmap, { thumb: s.bitmap, label: s.label, remember })), s.label);
  },
  historySize: () => enqueue(refreshHistorySize),
  /** Resolves once every record remembered so far is durable (rec.flush()): before a reload that must find them. */
  flush: () => enqueue(() => rec.flush()),
  /** Switches the adaptation ('iciia', 'prior', 'none'); resolves to the one now running. */
  setAdaptation,
  /** Turns the shift gate on or off; resolves to the level now in force. */
  setShiftGate,
  clearHistory,
  exportHistory: async () => Array.from(await exportHistory()),
  importHistory: (bytes) => importHistory(Uint8Array.from(bytes)),
  switchClient,
  /** Refreshes the storage line; resolves to rec.history.usage() (null if unknown). */
  storage: refreshStorage,
};
