// The package as its users get it: `npm pack` of web/, unpacked into this
// folder's node_modules as `npm install iciia-web-<v>.tgz` would (the package
// has no dependencies), then one app (app/) built by each bundler with no
// configuration about the package: Vite (dev server, and build + preview),
// webpack 5 and esbuild. Each is loaded twice in headless Chromium:
// createRecognizer({ model, clientId }) with no other option recognizes the
// bundle's samples, and after a reload their history is still there. The
// build logs must hold no warning. Node is the reference: the same package,
// imported by name, must give the same answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { DEMO_CSP, ROOT, startServer } from '../../scripts/server.mjs';
import { browserMissing, openBrowser } from '../browser/harness.mjs';

const HERE = fileURLToPath(new URL('./', import.meta.url));
const APP = join(HERE, 'app');
const INSTALLED = join(HERE, 'node_modules/iciia-web');
const OUT = join(ROOT, 'build/consumers');
const MODEL = join(ROOT, 'models/fashion-mnist');
const SAMPLES = 8;

async function whyNot() {
  for (const name of ['vite', 'webpack', 'esbuild', 'fake-indexeddb/auto']) {
    try {
      import.meta.resolve(name);
    } catch {
      return `${name} is not installed in tests/consumers (scripts/setup.sh runs npm ci there)`;
    }
  }
  if (!existsSync(join(ROOT, 'web/dist/index.js'))) return 'web/dist is not built (scripts/build.sh)';
  return browserMissing();
}
const skip = await whyNot();
if (skip) console.log(`skipping the consumer-app tests: ${skip}`);

/** Packs web/ and unpacks the tarball where the apps resolve `iciia-web`; returns the tarball's file list. */
function installFromTarball() {
  mkdirSync(OUT, { recursive: true });
  const [{ filename, files }] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', OUT], { cwd: join(ROOT, 'web'), encoding: 'utf8' }),
  );
  rmSync(INSTALLED, { recursive: true, force: true });
  mkdirSync(INSTALLED, { recursive: true });
  execFileSync('tar', ['-xzf', join(OUT, filename), '-C', INSTALLED, '--strip-components=1']);
  return files.map((f) => f.path).sort();
}

/** The bundle and its first SAMPLES sample images, where the apps fetch them (public/model/). */
function copyModel(dest) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, 'samples'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(MODEL, 'manifest.json'), 'utf8'));
  for (const f of ['manifest.json', manifest.backbone.file, manifest.iciia.file]) cpSync(join(MODEL, f), join(dest, f));
  const index = JSON.parse(readFileSync(join(MODEL, manifest.samples), 'utf8')).slice(0, SAMPLES);
  writeFileSync(join(dest, 'samples/index.json'), JSON.stringify(index));
  for (const s of index) cpSync(join(MODEL, 'samples', s.file), join(dest, 'samples', s.file));
  return index;
}

// What a host sends for threads (README, "Threads"); scripts/server.mjs, which
// serves the webpack and esbuild apps, sends it too.
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Serves a built app's folder at the origin's root (under the demo's strict CSP). */
function serveFolder(dir) {
  const routes = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else routes.set('/' + relative(dir, file).split(sep).map(encodeURIComponent).join('/'), { file });
    }
  };
  walk(dir);
  routes.set('/', { file: join(dir, 'index.html') });
  return startServer({ routes, csp: DEMO_CSP, redirects: {} });
}

/** Asserts that no emitted script names a Node built-in or the Node build of the core. */
function assertBrowserOnly(dir, name) {
  const scripts = [];
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.m?js$/.test(f)) scripts.push(p);
    }
  };
  walk(dir);
  assert.ok(scripts.length > 0, `${name}: no script emitted`);
  for (const p of scripts) {
    const text = readFileSync(p, 'utf8');
    assert.doesNotMatch(text, /(import\(|require\(|from\s*)["'](node:)?(fs|fs\/promises|path|url|module|crypto|worker_threads)["']/,
      `${name}: ${relative(dir, p)} imports a Node built-in`);
    assert.ok(!text.includes('iciia_core.node'), `${name}: ${relative(dir, p)} holds the Node build of the core`);
  }
}

/** Lines of a build log that warn (or err). */
const warnings = (lines) => lines.filter((l) => /warn|error|\(!\)/i.test(l));

describe('consumer apps built from the packed tarball', { skip: skip ?? false, timeout: 900_000 }, () => {
  let browser = null;
  let samples = null;
  let reference = null;
  const stops = [];

  before(async () => {
    const files = installFromTarball();
    for (const f of ['package.json', 'dist/index.js', 'dist/browser.js', 'dist/index.d.ts', 'wasm/iciia_core.mjs',
      'wasm/iciia_core.node.mjs', 'wasm/iciia_core.wasm', 'wasm/iciia_core.mt.mjs', 'wasm/iciia_core.mt.node.mjs',
      'wasm/iciia_core.mt.wasm', 'wasm/iciia_core.mt.worker.js', 'wasm/iciia_core.mt.worker.text.mjs', 'wasm/iciia_core.mt.node.worker.cjs', 'docs/design.md'])
      assert.ok(files.includes(f), `the tarball lacks ${f}`);
    assert.deepEqual(files.filter((f) => !/^(dist\/[a-z_]+\.(js|d\.ts)|wasm\/iciia_core\.(mt\.)?(mjs|node\.mjs|wasm)|wasm\/iciia_core\.mt\.(worker\.js|worker\.text\.mjs|node\.worker\.cjs)|docs\/design\.md|package\.json|README\.md|LICENSE)$/.test(f)), [],
      'the tarball holds only the package');
    samples = copyModel(join(APP, 'public/model'));
    rmSync(join(HERE, 'node_modules/.vite'), { recursive: true, force: true }); // a fresh pre-bundle, as on a first `vite`
    browser = await openBrowser({ log: () => {} });
  });
  after(async () => {
    for (const stop of stops) await stop();
    await browser?.close();
  });

  test('Node: the package imported by name (the `node` condition) recognizes the samples', async () => {
    await import('fake-indexeddb/auto');
    const [{ createRecognizer }, { decodePng }] = await Promise.all([import('iciia-web'), import('../../examples/node/png.mjs')]);
    const rec = await createRecognizer({ model: join(APP, 'public/model'), clientId: 'node' });
    reference = [];
    for (const s of samples) {
      const r = await rec.recognize(decodePng(readFileSync(join(APP, 'public/model/samples', s.file))), { topK: 1 });
      reference.push({ top: r.top[0].index, baseline: r.baseline[0].index, adaptation: r.adaptation });
    }
    rec.dispose();
    const right = samples.filter((s, i) => reference[i].baseline === s.label).length;
    assert.ok(right >= SAMPLES - 2, `the backbone gets ${right} of ${SAMPLES} samples right`);
  });

  /**
   * Opens the app at `origin` twice (the second time by reloading): the first
   * visit recognizes every sample with an empty history, the second finds
   * them stored and attends to them.
   */
  async function checkApp(t, origin, name) {
    browser.allowOrigin(origin);
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const visit = async (reload) => {
      await (reload ? page.reload() : page.goto(`${origin}/`));
      await page.waitForFunction(() => window.consumerResult || window.consumerError, null, { timeout: 120_000 });
      const error = await page.evaluate(() => window.consumerError ?? null);
      assert.equal(error, null, `${name}: ${error}\n${errors.join('\n')}`);
      return page.evaluate(() => window.consumerResult);
    };
    const first = await visit(false);
    // The page is cross-origin isolated, so the bundle must have carried the threads build.
    assert.equal(first.isolated, true, `${name}: the page is cross-origin isolated`);
    console.log(`# ${name}: ${first.threads} thread(s) on ${first.cores} cores`);
    assert.equal(first.threads, Math.min(first.cores, 4), `${name}: the threads build runs on the cores (at most 4)`);
    assert.equal(first.before, 0, `${name}: a fresh origin starts with no history`);
    assert.equal(first.after, SAMPLES);
    const increasing = (seqs) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]);
    assert.deepEqual(first.seqs, first.results.map((r) => r.seq), `${name}: every record's \`stored\` resolves to its seq`);
    assert.ok(increasing(first.seqs), `${name}: seqs increase in call order (${first.seqs})`);
    // By default the shift gate decides per image whether ICIIA answers
    // (these samples span many classes, so mostly the backbone does); either
    // way the answer, and the decision, are Node's.
    first.results.forEach((r, i) => {
      assert.ok(r.shift && r.shift.threshold > 0, `${name}: image ${i}: the shift gate ran`);
      assert.equal(r.attention, r.adaptation === 'iciia' ? i : 0, `${name}: image ${i} attends to the ones before it when ICIIA answers`);
      assert.deepEqual({ top: r.top, baseline: r.baseline, adaptation: r.adaptation }, reference[i], `${name}: image ${i} answers as in Node`);
    });
    const second = await visit(true);
    assert.equal(second.before, SAMPLES, `${name}: after a reload the history is still there`);
    // The first image after the reload is tested over the stored history too.
    assert.notEqual(second.results[0].shift.statistic, first.results[0].shift.statistic,
      `${name}: the first image after the reload sees the stored history`);
    if (second.results[0].adaptation === 'iciia') assert.equal(second.results[0].attention, SAMPLES);
    assert.equal(second.after, 2 * SAMPLES);
    assert.deepEqual(second.seqs, second.results.map((r) => r.seq), `${name}: every record's \`stored\` resolves to its seq`);
    assert.ok(increasing([...first.seqs, ...second.seqs]), `${name}: seqs continue after the reload, never reused`);
    assert.deepEqual(errors, []);
    await page.close();
    t.diagnostic(`${name}: ${SAMPLES} images recognized, history ${first.after} -> ${second.after} across a reload`);
  }

  // A Vite logger that keeps every line.
  const viteLogger = (lines) => {
    const push = (level) => (msg) => {
      lines.push(`${level}: ${msg}`);
    };
    return { info: push('info'), warn: push('warn'), warnOnce: push('warn'), error: push('error'), clearScreen() {}, hasErrorLogged: () => false, hasWarned: false };
  };

  test('Vite: the dev server, no configuration', async (t) => {
    const { createServer } = await import('vite');
    const lines = [];
    const server = await createServer({ root: APP, configFile: false, logLevel: 'info', customLogger: viteLogger(lines), server: { port: 0, host: '127.0.0.1', headers: ISOLATION } });
    await server.listen();
    stops.push(() => server.close());
    await checkApp(t, server.resolvedUrls.local[0].replace(/\/$/, ''), 'vite dev');
    assert.deepEqual(warnings(lines), [], 'the dev server logged no warning');
  });

  test('Vite: build + preview, no configuration', async (t) => {
    const { build, preview } = await import('vite');
    const lines = [];
    const outDir = join(OUT, 'vite');
    await build({ root: APP, configFile: false, logLevel: 'info', customLogger: viteLogger(lines), build: { outDir, emptyOutDir: true } });
    assert.deepEqual(warnings(lines), [], `vite build logged:\n${lines.join('\n')}`);
    const emitted = readdirSync(join(outDir, 'assets'));
    assert.ok(emitted.some((f) => /^iciia_core.*\.wasm$/.test(f)), `the .wasm is emitted (${emitted})`);
    assertBrowserOnly(outDir, 'vite build');
    const server = await preview({ root: APP, configFile: false, logLevel: 'info', customLogger: viteLogger(lines), build: { outDir }, preview: { port: 0, host: '127.0.0.1', headers: ISOLATION } });
    stops.push(() => new Promise((r) => server.httpServer.close(r)));
    await checkApp(t, server.resolvedUrls.local[0].replace(/\/$/, ''), 'vite build + preview');
  });

  test('webpack 5: production build, no configuration about the package', async (t) => {
    const { default: webpack } = await import('webpack');
    const outDir = join(OUT, 'webpack');
    rmSync(outDir, { recursive: true, force: true });
    const stats = await new Promise((resolve, reject) =>
      webpack({ mode: 'production', context: APP, entry: './main.js', output: { path: outDir } }, (e, s) => (e ? reject(e) : resolve(s))),
    );
    const { warnings: w, errors } = stats.toJson({ all: false, warnings: true, errors: true });
    assert.deepEqual(errors.map((x) => x.message), []);
    // webpack's size hint names every asset over 244 KiB; each core (single-
    // threaded, threads) is about 1 MiB (the README says how to set
    // performance.assetFilter). Nothing else.
    const other = w.map((x) => x.message).filter((m) => !/^asset size limit: .*\n(.*\n)*Assets: (\n\s+[0-9a-f]+\.wasm \([\d.]+ [KM]iB\))+$/.test(m));
    assert.deepEqual(other, [], 'webpack warned');
    assert.ok(readdirSync(outDir).some((f) => f.endsWith('.wasm')), 'the .wasm is emitted');
    assertBrowserOnly(outDir, 'webpack');
    cpSync(join(APP, 'index.html'), join(outDir, 'index.html'));
    copyModel(join(outDir, 'model'));
    const srv = await serveFolder(outDir);
    stops.push(() => srv.close());
    await checkApp(t, srv.origin, 'webpack');
  });

  test('esbuild: one ES-module bundle, the .wasm copied beside it', async (t) => {
    const esbuild = await import('esbuild');
    const outDir = join(OUT, 'esbuild');
    rmSync(outDir, { recursive: true, force: true });
    const result = await esbuild.build({
      entryPoints: [join(APP, 'main.js')], bundle: true, format: 'esm', outdir: outDir, logLevel: 'silent',
    });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings.map((x) => x.text), [], 'esbuild warned');
    assertBrowserOnly(outDir, 'esbuild');
    // esbuild copies no asset named by new URL(…, import.meta.url) (evanw/esbuild#795): the README's one step
    // (the page is cross-origin isolated, so the threads build's files too).
    mkdirSync(join(outDir, 'wasm'));
    for (const f of ['iciia_core.wasm', 'iciia_core.mt.wasm', 'iciia_core.mt.mjs', 'iciia_core.mt.worker.js'])
      cpSync(join(INSTALLED, 'wasm', f), join(outDir, 'wasm', f));
    cpSync(join(APP, 'index.html'), join(outDir, 'index.html'));
    copyModel(join(outDir, 'model'));
    const srv = await serveFolder(outDir);
    stops.push(() => srv.close());
    await checkApp(t, srv.origin, 'esbuild');
  });
});
