// An independent reader of what the package stores in IndexedDB (the
// formats of docs/design.md, "History store"), written apart from the core's
// decoder so that the tests compare two readings: raw IndexedDB, record by
// record, checksums recomputed here.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (b, at, n) => String.fromCharCode(...b.subarray(at, at + n));

/** A record's fields, or {error} saying what is wrong with it (torn, corrupt, wrong magic). */
export function parseRecord(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 68) return { error: `${b.length} bytes, shorter than a record` };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (ascii(b, 0, 4) !== 'ICHR') return { error: `magic ${JSON.stringify(ascii(b, 0, 4))}` };
  const version = v.getUint16(4, true);
  if (version !== 2) return { error: `version ${version}` };
  const seq = Number(v.getBigUint64(8, true));
  const dim = v.getUint32(56, true), classes = v.getUint32(60, true);
  const size = 64 + 4 * dim + 4 * classes + 4;
  if (b.length !== size) return { error: `seq ${seq}: ${b.length} bytes, the header says ${size} (torn)` };
  const crc = v.getUint32(size - 4, true);
  if (crc !== crc32(b.subarray(0, size - 4))) return { error: `seq ${seq}: checksum mismatch (torn or corrupt)` };
  return { seq, timestamp: v.getFloat64(16, true), dim, classes };
}

/** The head's fields, or {error}. */
export function parseHead(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length !== 28 || ascii(b, 0, 4) !== 'ICHH') return { error: `${b.length} bytes, not a head` };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(24, true) !== crc32(b.subarray(0, 24))) return { error: 'head checksum mismatch' };
  return { nextSeq: Number(v.getBigUint64(8, true)), generation: Number(v.getBigUint64(16, true)) };
}

/**
 * Every key of `clientId` in database `name` (never creating it: an absent
 * database reads as empty), values as Uint8Array, ascending by seq; the head
 * (seq -1) apart.
 */
export async function readClient(clientId, name = 'iciia-web') {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onupgradeneeded = () => request.transaction.abort(); // absent: leave it absent
    request.onsuccess = () => resolve(request.result);
    request.onerror = (e) => {
      e.preventDefault();
      // Absent (the upgrade aborted above) reads as empty; any other failure is an error.
      if (request.error?.name === 'AbortError') resolve(null);
      else reject(new Error(`IndexedDB ${name} cannot be opened: ${request.error?.name}: ${request.error?.message}`));
    };
    request.onblocked = () => reject(new Error(`IndexedDB ${name} blocked`));
  });
  if (!db) return { head: null, records: [] };
  try {
    if (!db.objectStoreNames.contains('records')) return { head: null, records: [] };
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('records', 'readonly');
      const store = tx.objectStore('records');
      const range = IDBKeyRange.bound([clientId, -1], [clientId, Infinity]);
      const keys = store.getAllKeys(range);
      const values = store.getAll(range);
      tx.oncomplete = () => {
        let head = null;
        const records = [];
        keys.result.forEach((k, i) => {
          const value = new Uint8Array(values.result[i]);
          if (k[1] === -1) head = value;
          else records.push({ key: k[1], value });
        });
        resolve({ head, records });
      };
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The records of an export ("iciia-history/1"), as byte arrays. */
export function exportRecords(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (ascii(b, 0, 8) !== 'ICIIAHX1') throw new Error('not an export');
  const count = v.getUint32(8, true);
  const out = [];
  let at = 16;
  for (let i = 0; i < count; i++) {
    const n = v.getUint32(at, true);
    out.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
