/**
 * Fetching a model bundle: a URL prefix (or, in Node, a folder path or
 * file: URL) holding manifest.json and the files it names, or the files
 * themselves in memory. The core verifies everything (sha256, fields);
 * this side only needs the two file names to know what to fetch.
 */
import { ModelFormatError, ModelLoadError } from './errors.js';
import { platform } from './platform.js';

/** In-memory bundle: file name (as in the manifest) → contents. */
export type BundleFiles = Record<string, Uint8Array | ArrayBuffer | string>;

export interface LoadProgress {
  /** The file being transferred. */
  file: string;
  /** Bytes received so far, all files together. */
  loaded: number;
  /** Bytes expected, all files together; undefined until every size is known. */
  total: number | undefined;
}

export interface LoadedBundle {
  manifestText: string;
  manifest: BundleManifestJson;
  backbone: Uint8Array;
  iciia: Uint8Array;
}

/** The manifest as JSON (docs/design.md, "Model bundle"); the core checks every field. */
export interface BundleManifestJson {
  format: string;
  name?: string;
  backbone: { file: string; sha256: string; input: string; features: string; logits: string; preprocess: unknown };
  iciia: { file: string; sha256: string };
  labels: string[];
  history?: { capacity?: number };
  samples?: string;
}

function fileName(manifest: unknown, key: 'backbone' | 'iciia'): string {
  const section = (manifest as Record<string, unknown> | null)?.[key] as Record<string, unknown> | undefined;
  const file = section?.file;
  if (typeof file !== 'string' || !file) throw new ModelFormatError(`bundle manifest: ${key}.file: missing or not a string`, 'FormatError');
  return file;
}

function parseManifest(text: string): BundleManifestJson {
  try {
    const m = JSON.parse(text) as unknown;
    if (typeof m !== 'object' || m === null) throw new Error('not an object');
    return m as BundleManifestJson;
  } catch (e) {
    throw new ModelFormatError(`bundle manifest: not valid JSON (${(e as Error).message})`, 'FormatError');
  }
}

const bytesOf = (v: Uint8Array | ArrayBuffer | string): Uint8Array =>
  typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof Uint8Array ? v : new Uint8Array(v);

function fromMemory(files: BundleFiles): LoadedBundle {
  const get = (name: string): Uint8Array => {
    const v = files[name];
    if (v === undefined) throw new ModelLoadError(`bundle: '${name}' is not among the in-memory files (${Object.keys(files).join(', ')})`);
    if (typeof v !== 'string' && !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer)) {
      throw new TypeError(`bundle: '${name}' must be a Uint8Array, ArrayBuffer or string`);
    }
    return bytesOf(v);
  };
  const manifestText = new TextDecoder().decode(get('manifest.json'));
  const manifest = parseManifest(manifestText);
  return { manifestText, manifest, backbone: get(fileName(manifest, 'backbone')), iciia: get(fileName(manifest, 'iciia')) };
}

/** Reads one file of the bundle, reporting bytes as they arrive. */
type Reader = (name: string, onBytes: (loaded: number, total: number | undefined) => void) => Promise<Uint8Array>;

function httpReader(base: URL): Reader {
  return async (name, onBytes) => {
    const url = new URL(name, base);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new ModelLoadError(`bundle: cannot fetch ${url.href}: ${(e as Error).message}`);
    }
    if (!response.ok) throw new ModelLoadError(`bundle: ${url.href} answered HTTP ${response.status} ${response.statusText}`);
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    if (!response.body) {
      const all = new Uint8Array(await response.arrayBuffer());
      onBytes(all.length, all.length);
      return all;
    }
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    onBytes(0, total);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes(loaded, total);
    }
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    onBytes(loaded, loaded);
    return out;
  };
}

function fileReader(read: (url: URL) => Promise<Uint8Array>, base: URL): Reader {
  return async (name, onBytes) => {
    const url = new URL(name, base);
    try {
      const data = await read(url);
      onBytes(data.length, data.length);
      return data;
    } catch (e) {
      throw new ModelLoadError(`bundle: cannot read ${url.pathname}: ${(e as Error).message}`);
    }
  };
}

async function baseUrl(model: string | URL): Promise<URL> {
  const url = await platform().resolve(model);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

export async function loadBundle(
  model: string | URL | BundleFiles,
  onProgress?: (p: LoadProgress) => void,
): Promise<LoadedBundle> {
  if (typeof model === 'object' && !(model instanceof URL)) {
    if (model === null) throw new TypeError('createRecognizer: model must be a URL prefix or an object of in-memory files');
    return fromMemory(model);
  }
  if (typeof model !== 'string' && !(model instanceof URL)) {
    throw new TypeError(`createRecognizer: model must be a URL prefix or an object of in-memory files, got ${typeof model}`);
  }
  const base = await baseUrl(model);
  const readFileUrl = platform().readFileUrl;
  const read = base.protocol === 'file:' && readFileUrl ? fileReader(readFileUrl, base) : httpReader(base);

  const sizes = new Map<string, { loaded: number; total: number | undefined }>();
  const report = (file: string) => (loaded: number, total: number | undefined) => {
    sizes.set(file, { loaded, total });
    if (!onProgress) return;
    let all = 0;
    let expected: number | undefined = 0;
    for (const s of sizes.values()) {
      all += s.loaded;
      expected = expected === undefined || s.total === undefined ? undefined : expected + s.total;
    }
    // Until both weight files have announced their size, the total is unknown.
    if (sizes.size < 3) expected = undefined;
    onProgress({ file, loaded: all, total: expected });
  };

  const manifestBytes = await read('manifest.json', report('manifest.json'));
  const manifestText = new TextDecoder().decode(manifestBytes);
  const manifest = parseManifest(manifestText);
  const backboneName = fileName(manifest, 'backbone');
  const iciiaName = fileName(manifest, 'iciia');
  const [backbone, iciia] = await Promise.all([read(backboneName, report(backboneName)), read(iciiaName, report(iciiaName))]);
  return { manifestText, manifest, backbone, iciia };
}
