// A minimal PNG reader for the headless example: enough for the bundle's
// sample images (and most PNGs a user would have): 8-bit depth, grey, grey +
// alpha, RGB or RGBA, not interlaced. Pixels come out as the recognizer's
// `{ data, width, height, channels }` (grey + alpha loses its alpha).
// Inflating is Node's zlib; everything else is checked here, since a PNG is
// untrusted input.
import { crc32, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 }; // by colour type
const MAX_PIXELS = 1 << 26;

function fail(what) {
  throw new Error(`PNG: ${what}`);
}

/** Undoes the per-row filters (PNG spec, section 9) in place; returns the pixels. */
function unfilter(raw, width, height, bpp) {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const up = y ? out.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp] : 0;
      const b = up ? up[x] : 0;
      const c = up && x >= bpp ? up[x - bpp] : 0;
      let p;
      switch (type) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: fail(`row ${y} has unknown filter type ${type}`);
      }
      row[x] = (src[x] + p) & 255;
    }
  }
  return out;
}

/** Decodes a PNG file's bytes. */
export function decodePng(bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) fail('not a PNG file (bad signature)');
  let header = null;
  const idat = [];
  for (let at = 8; ; ) {
    if (at + 12 > buf.length) fail('file ends before IEND');
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (length > buf.length - at - 12) fail(`chunk ${type} runs past the end of the file`);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (crc32(buf.subarray(at + 4, at + 8 + length)) !== buf.readUInt32BE(at + 8 + length)) fail(`chunk ${type} has a bad CRC`);
    at += 12 + length;
    if (type === 'IHDR') {
      if (length !== 13) fail('IHDR is not 13 bytes');
      header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], colour: data[9], interlace: data[12] };
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  if (!header) fail('no IHDR chunk');
  const { width, height, depth, colour, interlace } = header;
  const channels = CHANNELS[colour];
  if (depth !== 8 || !channels) fail(`only 8-bit grey, grey+alpha, RGB and RGBA are supported (bit depth ${depth}, colour type ${colour})`);
  if (interlace !== 0) fail('interlaced images are not supported');
  if (!width || !height || width * height > MAX_PIXELS) fail(`unsupported size ${width}x${height}`);
  const raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (width * channels + 1) * height });
  if (raw.length !== (width * channels + 1) * height) fail(`image data holds ${raw.length} bytes, expected ${(width * channels + 1) * height}`);
  const pixels = unfilter(raw, width, height, channels);
  if (channels !== 2) return { data: pixels, width, height, channels };
  const grey = new Uint8Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = pixels[2 * i];
  return { data: grey, width, height, channels: 1 };
}
