/**
 * iciia-web: client-adaptive image recognition in the browser.
 *
 * This release exposes the ICIIA module over the WebAssembly core; the
 * recognizer (backbone, image input, IndexedDB history) builds on it.
 */
export { loadCore, type WasmOptions } from './core.js';
export { IciiaModel, IciiaSession, type IciiaConfig, type QueryOptions, type QueryResult } from './iciia.js';
export { IciiaError, ModelFormatError, LimitError, DisposedError, InvalidArgumentError } from './errors.js';
export { readSafetensors, type SafetensorsContents } from './safetensors.js';
