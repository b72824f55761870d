/**
 * iciia-web: client-adaptive image recognition in the browser.
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
export { type ImageInput, type RawImage, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS } from './image.js';
export { type BundleFiles, type LoadProgress, type BundleManifestJson } from './bundle_source.js';
export { type OrtModule } from './ort_backbone.js';
export { loadCore, type WasmOptions } from './core.js';
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
} from './errors.js';
export { readSafetensors, type SafetensorsContents } from './safetensors.js';
