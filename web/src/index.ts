/**
 * iciia-web: client-adaptive image recognition in the browser.
 *
 * This release exposes the ICIIA module and the backbone engine over the
 * WebAssembly core; the recognizer (image input, IndexedDB history) builds on them.
 */
export { loadCore, type WasmOptions } from './core.js';
export { Backbone, type BackboneOptions, type BackboneInfo } from './backbone.js';
export { IciiaModel, IciiaSession, type IciiaConfig, type QueryOptions, type QueryResult } from './iciia.js';
export { IciiaError, ModelFormatError, LimitError, DisposedError, InvalidArgumentError } from './errors.js';
export { readSafetensors, type SafetensorsContents } from './safetensors.js';
