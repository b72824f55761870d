// The demo's offline copy. The page, once loaded, sends the same-origin URLs
// it has used (shell, package, wasm, model bundle, samples); they are kept
// in one cache. Requests go to the network first, so a running server always
// serves the current files, and fall back to the cache when it is gone.
// Same-origin GETs only: the worker makes no request the page did not make.
'use strict';

const CACHE = 'iciia-demo-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const { type, urls } = event.data ?? {};
  const [port] = event.ports;
  if (type !== 'keep' || !Array.isArray(urls) || !port) return;
  const own = urls.filter((u) => typeof u === 'string' && new URL(u).origin === self.location.origin);
  event.waitUntil(
    (async () => {
      try {
        const cache = await caches.open(CACHE);
        // Only what is missing: the network-first fetches below keep the rest current.
        const missing = [];
        for (const u of own) if (!(await cache.match(u))) missing.push(u);
        await cache.addAll(missing);
        port.postMessage({ cached: own.length });
      } catch (e) {
        port.postMessage({ error: String(e?.message ?? e) });
      }
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // A navigation may carry ?client=…; the page is the same file.
      const options = { ignoreSearch: request.mode === 'navigate' };
      try {
        const response = await fetch(request);
        if (response.ok && (await cache.match(request, options))) event.waitUntil(cache.put(request, response.clone()));
        return response;
      } catch (e) {
        const cached = await cache.match(request, options);
        if (cached) return cached;
        throw e;
      }
    })(),
  );
});
