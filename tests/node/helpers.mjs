// Shared by the Node tests of the wasm build.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixturesDir = join(repoRoot, 'tests', 'fixtures', 'iciia');

/** ../shared beside the repository (or ICIIA_SHARED_DIR), or null. */
export function sharedDir() {
  const candidates = [process.env.ICIIA_SHARED_DIR, join(repoRoot, '..', 'shared')].filter(Boolean);
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Weight files (NAME.safetensors with a NAME.io.safetensors beside) in a folder. */
export function weightPairs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') && !f.endsWith('.io.safetensors'))
    .sort()
    .map((f) => ({ name: f, weights: join(dir, f), io: join(dir, f.replace(/\.safetensors$/, '.io.safetensors')) }))
    .filter((p) => existsSync(p.io));
}

export const read = (path) => new Uint8Array(readFileSync(path));

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { randomVector } from '../common/random.mjs';

/**
 * IndexedDB for Node (fake-indexeddb, a devDependency of web/): installs the
 * globals the wasm core's IndexedDB library uses. Returns the module so
 * tests can reach IDBKeyRange etc. through the globals.
 */
export async function installFakeIndexedDb() {
  const entry = join(repoRoot, 'web', 'node_modules', 'fake-indexeddb', 'auto', 'index.mjs');
  if (!existsSync(entry)) throw new Error(`${entry} missing: run scripts/setup.sh (npm ci in web/)`);
  return import(entry);
}

/** The small test bundle of tests/models/test_bundle.h, written by the native generator, or null. */
export function writeTestBundle(dir, seed = 1) {
  const generator = join(repoRoot, 'build', 'native', 'iciia_make_test_models');
  if (!existsSync(generator)) return null;
  execFileSync(generator, ['--bundle', dir, String(seed)], { stdio: 'pipe' });
  return dir;
}
