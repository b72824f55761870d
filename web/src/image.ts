/**
 * Turning what a page, a worker or Node holds into 8-bit pixels for the core:
 * ImageBitmap, ImageData, HTMLImageElement, HTMLCanvasElement,
 * OffscreenCanvas, or a plain `{ data, width, height, channels }`.
 * Everything else, and sizes the core would refuse, is a TypeError that says
 * what was expected. Resizing and normalisation happen in the core, so the
 * arithmetic is the same everywhere (and the same as `iciia extract`).
 */

/** Raw pixels: rows top to bottom, channels interleaved (1 gray, 3 RGB, 4 RGBA). */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

export type ImageInput =
  | RawImage
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas;

/** Largest side and pixel count accepted (the core's bounds). */
export const MAX_IMAGE_SIDE = 16384;
export const MAX_IMAGE_PIXELS = 2 ** 26;

const EXPECTED =
  'expected an ImageBitmap, ImageData, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas or {data, width, height, channels}';

function has<T extends string>(x: unknown, key: T): x is Record<T, unknown> {
  return typeof x === 'object' && x !== null && key in x;
}

function checkSize(width: unknown, height: unknown, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height)) {
    throw new TypeError(`${what}: width and height must be integers, got ${String(width)}x${String(height)}`);
  }
  const w = width as number, h = height as number;
  if (w < 1 || h < 1) throw new TypeError(`${what}: image is ${w}x${h}; expected at least 1x1 pixels`);
  if (w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || w * h > MAX_IMAGE_PIXELS) {
    throw new TypeError(
      `${what}: image is ${w}x${h}; expected at most ${MAX_IMAGE_SIDE} pixels per side and ${MAX_IMAGE_PIXELS} in all`,
    );
  }
}

const isA = (x: unknown, name: string): boolean => {
  const ctor = (globalThis as Record<string, unknown>)[name];
  return typeof ctor === 'function' && x instanceof (ctor as new (...a: never[]) => unknown);
};

/** Draws a drawable source on a 2D canvas of its size and reads RGBA back. */
function rasterize(source: CanvasImageSource, width: number, height: number, what: string): RawImage {
  let ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;
  if (typeof OffscreenCanvas === 'function') {
    ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  } else if (typeof document === 'object') {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    ctx = canvas.getContext('2d', { willReadFrequently: true });
  }
  if (!ctx) throw new TypeError(`${what}: no 2D canvas here to read its pixels; pass {data, width, height, channels}`);
  ctx.drawImage(source, 0, 0, width, height);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

/** Validates `image` and returns its pixels. Throws TypeError naming what is wrong. */
export function toPixels(image: unknown, what = 'recognize'): RawImage {
  if (image === null || typeof image !== 'object') throw new TypeError(`${what}: ${EXPECTED}, got ${image === null ? 'null' : typeof image}`);

  if (isA(image, 'ImageBitmap')) {
    const bitmap = image as ImageBitmap;
    // A closed bitmap reports 0x0.
    if (bitmap.width === 0 || bitmap.height === 0) throw new TypeError(`${what}: the ImageBitmap is closed (or empty); expected an open bitmap`);
    checkSize(bitmap.width, bitmap.height, what);
    return rasterize(bitmap, bitmap.width, bitmap.height, what);
  }
  if (isA(image, 'ImageData')) {
    const d = image as ImageData;
    checkSize(d.width, d.height, what);
    return { data: d.data, width: d.width, height: d.height, channels: 4 };
  }
  if (isA(image, 'HTMLImageElement')) {
    const img = image as HTMLImageElement;
    if (!img.complete || img.naturalWidth === 0) {
      throw new TypeError(`${what}: the <img> has not loaded (or failed to); expected a decoded image (await img.decode())`);
    }
    checkSize(img.naturalWidth, img.naturalHeight, what);
    return rasterize(img, img.naturalWidth, img.naturalHeight, what);
  }
  if (isA(image, 'HTMLCanvasElement') || isA(image, 'OffscreenCanvas')) {
    const canvas = image as HTMLCanvasElement | OffscreenCanvas;
    checkSize(canvas.width, canvas.height, what);
    return rasterize(canvas, canvas.width, canvas.height, what);
  }
  if (has(image, 'data') && has(image, 'width') && has(image, 'height')) {
    const { data, width, height } = image;
    const channels = has(image, 'channels') ? image.channels : undefined;
    if (!(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray)) {
      throw new TypeError(`${what}: data must be a Uint8Array or Uint8ClampedArray of 8-bit pixels, got ${Object.prototype.toString.call(data)}`);
    }
    if (channels !== 1 && channels !== 3 && channels !== 4) {
      throw new TypeError(`${what}: channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got ${String(channels)}`);
    }
    checkSize(width, height, what);
    const need = (width as number) * (height as number) * channels;
    if (data.length !== need) {
      throw new TypeError(`${what}: data holds ${data.length} bytes; ${String(width)}x${String(height)}x${channels} needs ${need}`);
    }
    return { data, width: width as number, height: height as number, channels };
  }
  throw new TypeError(`${what}: ${EXPECTED}, got ${Object.prototype.toString.call(image)}`);
}
