/** Reading safetensors files with the core's bounded parser (float tensors as Float32Array). */
import { core } from './errors.js';
import { loadCore, type WasmOptions } from './core.js';

export interface SafetensorsContents {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; data?: Float32Array }>;
}

export async function readSafetensors(bytes: Uint8Array, options: WasmOptions = {}): Promise<SafetensorsContents> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readSafetensors: expected a Uint8Array');
  const m = await loadCore(options);
  return core(() => m.readSafetensors(bytes));
}
