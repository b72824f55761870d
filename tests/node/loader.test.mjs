// Where the core's .wasm comes from (web/src/loader.ts): beside the package
// by default, the bytes themselves (wasmBinary, nothing fetched), or a URL
// (wasmPaths); and when what is fetched there is not WebAssembly, an error
// that names the URL, the HTTP status and what came back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CoreLoadError, loadCore } from '../../web/dist/index.js';
import { repoRoot } from './helpers.mjs';

const WASM = readFileSync(join(repoRoot, 'web/wasm/iciia_core.wasm'));
const WASM_MT = readFileSync(join(repoRoot, 'web/wasm/iciia_core.mt.wasm'));
const PAGE = '<!doctype html><html><head><title>My app</title></head><body>Not found</body></html>';

describe('loading the core', () => {
  let server, origin;
  const served = [];
  before(async () => {
    // What a misconfigured host answers: an HTML 404, an SPA's index.html with 200, the binary as text.
    server = createServer((req, res) => {
      served.push(req.url);
      if (req.url === '/ok/iciia_core.wasm') res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(WASM);
      else if (req.url === '/ok/iciia_core.mt.wasm') res.writeHead(200, { 'Content-Type': 'application/wasm' }).end(WASM_MT);
      else if (req.url.startsWith('/spa/')) res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
      else if (req.url === '/empty/iciia_core.wasm') res.writeHead(200, { 'Content-Type': 'application/wasm' }).end();
      else res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  test('wasmBinary alone suffices: nothing is fetched, and the same bytes give the same module', async () => {
    const bytes = new Uint8Array(WASM);
    const before = served.length;
    const a = await loadCore({ wasmBinary: bytes });
    assert.equal(a.simdIsa(), 'wasmsimd');
    assert.equal(await loadCore({ wasmBinary: bytes }), a, 'loaded once per buffer');
    assert.notEqual(await loadCore(), a, 'the default location is another module');
    assert.equal(served.length, before);
  });

  test('wasmPaths: a folder URL, or the file itself', async () => {
    const a = await loadCore({ wasmPaths: `${origin}/ok/`, threads: 1 });
    assert.equal(a.simdIsa(), 'wasmsimd');
    assert.equal(a.iciiaThreads, 1);
    assert.equal(await loadCore({ wasmPaths: `${origin}/ok`, threads: 1 }), a, 'a folder without its slash is the same folder');
    // A file's URL is the single-threaded core, whatever the thread count.
    assert.equal(await loadCore({ wasmPaths: new URL(`${origin}/ok/iciia_core.wasm`) }), a);
    assert.deepEqual(served.filter((u) => u.startsWith('/ok/')), ['/ok/iciia_core.wasm']);
  });

  test('threads: a folder serves the threads build too; one core per thread count; bad counts are TypeErrors', async () => {
    const two = await loadCore({ wasmPaths: `${origin}/ok/`, threads: 2 });
    assert.equal(two.iciiaThreads, 2);
    assert.ok(served.includes('/ok/iciia_core.mt.wasm'));
    assert.equal(await loadCore({ wasmPaths: `${origin}/ok/`, threads: 2 }), two);
    assert.notEqual(await loadCore({ wasmPaths: `${origin}/ok/`, threads: 1 }), two);
    const three = await loadCore({ threads: 3 });
    assert.equal(three.iciiaThreads, 3);
    assert.notEqual(three, two);
    // wasmBinary is the single-threaded binary's bytes: one thread, and an
    // explicit request for more says why (a default does not).
    const warnings = [];
    assert.equal((await loadCore({ wasmBinary: new Uint8Array(WASM), threads: 4 }, (m) => warnings.push(m))).iciiaThreads, 1);
    await loadCore({ wasmBinary: new Uint8Array(WASM) }, (m) => warnings.push(m));
    await loadCore({ wasmPaths: new URL(`${origin}/ok/iciia_core.wasm`), threads: 2 }, (m) => warnings.push(m));
    assert.deepEqual(warnings, [
      'threads: 4 asked, running on one thread: wasmBinary holds the single-threaded core',
      "threads: 2 asked, running on one thread: wasmPaths names the single-threaded core's file",
    ]);
    for (const threads of [0, -1, 1.5, 17, '2']) await assert.rejects(loadCore({ threads }), TypeError, String(threads));
    await rejects({ wasmPaths: `${origin}/missing/`, threads: 2 }, /\/missing\/iciia_core\.mt\.wasm/, /HTTP 404/);
  });

  const rejects = (options, ...patterns) =>
    assert.rejects(loadCore(options), (e) => {
      assert.ok(e instanceof CoreLoadError, `${e.name}: ${e.message}`);
      assert.equal(e.code, 'CoreLoad');
      for (const p of patterns) assert.match(e.message, p);
      return true;
    });

  test('an HTML 404 page: the URL, the status, the type and the start of the page', () =>
    rejects({ wasmPaths: `${origin}/missing/`, threads: 1 }, /\/missing\/iciia_core\.wasm/, /HTTP 404/, /text\/html/, /<!doctype html>/, /wasmPaths|wasmBinary/));

  test("an SPA's index.html served with 200 for every path", () =>
    rejects({ wasmPaths: `${origin}/spa/`, threads: 1 }, /\/spa\/iciia_core\.wasm/, /HTTP 200/, /text\/html/, /<!doctype html><html><head><title>My app/));

  test('an empty body', () => rejects({ wasmPaths: `${origin}/empty/`, threads: 1 }, /HTTP 200/, /an empty body/));

  test('nothing listening there', () => rejects({ wasmPaths: 'http://127.0.0.1:9/x/', threads: 1 }, /cannot fetch the WebAssembly core http:\/\/127\.0\.0\.1:9\/x\/iciia_core\.wasm/));

  test('a local file that is not WebAssembly', () =>
    rejects({ wasmPaths: join(repoRoot, 'web/package.json') + '.wasm' }, /cannot read|not WebAssembly/));

  test('bytes that are not the core', () =>
    rejects({ wasmBinary: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1]) }, /cannot instantiate the WebAssembly core from options\.wasmBinary/));

  test('wrong option types are TypeErrors', async () => {
    await assert.rejects(loadCore({ wasmBinary: 'bytes' }), TypeError);
    await assert.rejects(loadCore({ wasmPaths: 42 }), TypeError);
  });
});
