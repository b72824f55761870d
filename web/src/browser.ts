/**
 * iciia-web: client-adaptive image recognition in the browser. The package's
 * API and its entry point for browsers: bundlers get here by the `browser`
 * export condition, and nothing here or below names a Node built-in or the
 * Node build of the core (index.ts adds those).
 *
 * createRecognizer() is the API: a model bundle, a client id, and
 * recognize(image) → adapted and backbone top-k with the attention over the
 * client's own past images (kept in IndexedDB, features only). The ICIIA
 * module and the backbone engine are exported too, for direct use.
 */
export {
  createRecognizer,
  Recognizer,
  type RecognizerOptions,
  type Adaptation,
  type RecognizeOptions,
  type RecognizeResult,
  type Prediction,
  type AttentionEntry,
  type History,
} from './recognizer.js';
export { type StorageUsage } from './storage.js';
export { type ImageInput, type RawImage, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS } from './image.js';
export { type BundleFiles, type LoadProgress, type BundleManifestJson } from './bundle_source.js';
export { type OrtModule } from './ort_backbone.js';
export { loadCore, type WasmOptions } from './loader.js';
export { Backbone, type BackboneOptions, type BackboneInfo } from './backbone.js';
export { IciiaModel, IciiaSession, type IciiaConfig, type QueryOptions, type QueryResult } from './iciia.js';
export {
  IciiaError,
  ModelFormatError,
  ModelLoadError,
  StorageError,
  LimitError,
  DisposedError,
  InvalidArgumentError,
  CoreLoadError,
  type IciiaErrorCode,
} from './errors.js';
export { readSafetensors, type SafetensorsContents } from './safetensors.js';
