// Crops a PNG (8-bit RGB or RGBA, not interlaced: what WebDriver's
// screenshots are) to a rectangle and writes it back as a PNG. The WebKit
// driver (webkit.mjs) needs it for screenshot({ clip }): W3C WebDriver only
// screenshots the whole viewport or an element.
import { deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Decodes `png` into { width, height, channels, pixels } (rows unfiltered). */
export function decodePng(png) {
  if (!SIGNATURE.equals(png.subarray(0, 8))) throw new Error('decodePng: not a PNG (bad signature)');
  let width = 0, height = 0, channels = 0;
  const idat = [];
  for (let at = 8; at + 12 <= png.length;) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = data.subarray(8, 13);
      channels = { 2: 3, 6: 4 }[color];
      if (depth !== 8 || !channels || interlace) throw new Error(`decodePng: expected 8-bit RGB(A), not interlaced; got depth ${depth}, colour type ${color}, interlace ${interlace}`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`decodePng: ${raw.length} bytes of image data for ${width}x${height}x${channels}`);
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels] : 0, b = up[i], c = i >= channels ? up[i - channels] : 0;
      let p;
      if (filter === 0) p = 0;
      else if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`decodePng: unknown row filter ${filter}`);
      row[i] = (src[i] + p) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Encodes 8-bit RGB(A) pixels as a PNG (rows unfiltered). */
export function encodePng({ width, height, channels, pixels }) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** `png` cropped to { x, y, width, height } (CSS pixels = image pixels here), which must lie inside it. */
export function cropPng(png, { x, y, width, height }) {
  const img = decodePng(png);
  [x, y, width, height] = [x, y, width, height].map(Math.round);
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > img.width || y + height > img.height)
    throw new Error(`cropPng: clip ${width}x${height} at (${x}, ${y}) is not inside the ${img.width}x${img.height} image`);
  const stride = width * img.channels;
  const pixels = Buffer.alloc(height * stride);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * img.width + x) * img.channels;
    img.pixels.copy(pixels, r * stride, from, from + stride);
  }
  return encodePng({ width, height, channels: img.channels, pixels });
}
