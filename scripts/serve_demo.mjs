// Serves the demo on loopback until interrupted (./scripts/main.sh runs it).
//
//   node scripts/serve_demo.mjs [--port 8080] [--host 127.0.0.1]
//
// Only the demo page, the built package (web/dist, web/wasm) and models/ are
// served, under the CSP of scripts/server.mjs. The file list is taken at
// start: restart after adding a model.
import { parseArgs } from 'node:util';

import { DEMO_CSP, DEMO_PATH, demoRoutes, startServer } from './server.mjs';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node scripts/serve_demo.mjs [--port N] [--host 127.0.0.1]');
  process.exit(2);
}

const routes = demoRoutes();
let srv;
try {
  srv = await startServer({ routes, host: values.host, port });
} catch (e) {
  if (e.code !== 'EADDRINUSE') throw e;
  console.error(`port ${port} is in use; serving on a free port instead`);
  srv = await startServer({ routes, host: values.host, port: 0 });
}
const models = [...routes.keys()].filter((p) => p.endsWith('/manifest.json')).map((p) => p.slice(0, -'manifest.json'.length));
console.log(`demo: ${srv.origin}${DEMO_PATH}`);
console.log(`serving ${routes.size} files (the demo, web/dist, web/wasm, models: ${models.join(', ') || 'none'})`);
console.log(`Content-Security-Policy: ${DEMO_CSP}`);
console.log('Ctrl-C stops the server.');
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => srv.close().then(() => process.exit(0)));
