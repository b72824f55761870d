/**
 * The universal entry: Node (by the package's `node`/`default` export
 * conditions) and pages that import web/dist/index.js without a bundler. In
 * Node it installs the Node platform (files, the Node build of the core);
 * elsewhere the browser one stays. The API itself is browser.ts.
 */
import { setPlatform } from './platform.js';
import { nodePlatform } from './platform_node.js';

if (typeof process === 'object' && typeof process.versions?.node === 'string') setPlatform(nodePlatform);

export * from './browser.js';
