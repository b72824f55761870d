// Emscripten JS library (--js-library): the IndexedDB side of
// wasm/idb_backend.cpp. One database per name, one object store "records",
// keys [clientId, seq] (seq -1: the client's head), values the record bytes.
//
// Not Emscripten's IDBFS (it mirrors a whole mount per sync, rewrites whole
// files and deletes entries the syncing tab does not hold: a second tab can
// erase the first tab's records) and not its idbstore.js helpers (one
// transaction per key, no key listing, no error names — a full disk must be
// told apart from other failures). Every operation here is one transaction.
//
// Each operation ends by calling the exported C function
// iciia_idb_complete(ctx, status, ptr, len): status 0 ok (ptr/len: result
// bytes), 1 quota exceeded, 2 other failure (ptr/len: UTF-8 message).
//
// Writes start in a later task, not during the call that stages them: the
// transaction's setup (serialising the values, the request calls) then
// happens after recognize() has delivered its answer, off its critical path.
// Operations still start in call order: while a write waits, later reads
// wait behind it (IndexedDB orders transactions by creation).

mergeInto(LibraryManager.library, {
  $IciiaIdb__deps: ['malloc', 'free'],
  $IciiaIdb: {
    databases: {},
    // Per database name: how often it was deleted or force-closed from
    // outside (another tab's deleteDatabase, the user clearing site data).
    // The store compares it before each operation (RecordBackend::losses).
    losses: {},
    // Per database name: what the browser said it lost when it opened the
    // database (Chromium: `dataLoss` 'total' on the upgrade event when it
    // deleted a corrupt database and made an empty one), else absent; and
    // the clients already told of it (database + '\0' + client).
    dataLoss: {},
    dataLossTold: {},
    waiting: [],  // operations deferred to a later task, in call order
    // The channel whose messages run them in a browser, made on first use
    // and kept: a new one per deferral (made, posted to, closed) took about
    // 0.06 ms of each recognize() in Chromium's CPU profile.
    channel: null,

    drain: function() {
      var all = IciiaIdb.waiting;
      IciiaIdb.waiting = [];
      for (var i = 0; i < all.length; ++i) all[i]();
    },

    // Runs `start` in a later task (a macrotask: after the microtasks that
    // deliver an answer), after every operation deferred before it.
    defer: function(start) {
      IciiaIdb.waiting.push(start);
      if (IciiaIdb.waiting.length > 1) return;
      if (typeof setImmediate === 'function') {
        setImmediate(IciiaIdb.drain);
      } else if (typeof MessageChannel === 'function') {
        // No 4 ms clamp, unlike a nested setTimeout(0).
        if (!IciiaIdb.channel) {
          IciiaIdb.channel = new MessageChannel();
          IciiaIdb.channel.port1.onmessage = IciiaIdb.drain;
        }
        IciiaIdb.channel.port2.postMessage(0);
      } else {
        setTimeout(IciiaIdb.drain, 0);
      }
    },

    // Starts now, unless deferred operations wait: then behind them.
    soon: function(start) {
      if (IciiaIdb.waiting.length) IciiaIdb.defer(start);
      else start();
    },

    open: function(name) {
      var cached = IciiaIdb.databases[name];
      if (cached) return cached;
      var promise = new Promise(function(resolve, reject) {
        var factory = typeof indexedDB !== 'undefined' ? indexedDB : null;
        if (!factory) {
          reject(new Error('IndexedDB is not available here (in Node, import "fake-indexeddb/auto" first)'));
          return;
        }
        var request = factory.open(name, 1);
        request.onupgradeneeded = function(event) {
          var db = request.result;
          if (event && event.dataLoss && event.dataLoss !== 'none')
            IciiaIdb.dataLoss[name] = 'dataLoss ' + event.dataLoss + (event.dataLossMessage ? ': ' + event.dataLossMessage : '');
          if (!db.objectStoreNames.contains('records')) db.createObjectStore('records');
        };
        request.onsuccess = function() {
          var db = request.result;
          // Another tab upgrading or deleting the database: step aside, and
          // reopen on next use. A deletion (newVersion null) took every
          // record with it: counted, so the store drops what it had read.
          db.onversionchange = function(event) {
            db.close();
            if (IciiaIdb.databases[name] === promise) delete IciiaIdb.databases[name];
            if (!event || event.newVersion === null) IciiaIdb.losses[name] = (IciiaIdb.losses[name] || 0) + 1;
          };
          // Closed by the browser, not by us: site data cleared (Chromium
          // closes the connections of a database it deletes that way), or
          // the storage gone. Counted as a deletion: what comes next may be
          // an empty database.
          db.onclose = function() {
            if (IciiaIdb.databases[name] === promise) delete IciiaIdb.databases[name];
            IciiaIdb.losses[name] = (IciiaIdb.losses[name] || 0) + 1;
          };
          resolve(db);
        };
        request.onerror = function() { reject(request.error || new Error('cannot open IndexedDB database ' + name)); };
        request.onblocked = function() { reject(new Error('IndexedDB database ' + name + ' is blocked by another tab')); };
      });
      IciiaIdb.databases[name] = promise;
      promise.catch(function() { delete IciiaIdb.databases[name]; });
      return promise;
    },

    complete: function(ctx, status, bytes) {
      var n = bytes ? bytes.length : 0;
      var ptr = n ? _malloc(n) : 0;
      if (n) HEAPU8.set(bytes, ptr);
      try {
        _iciia_idb_complete(ctx, status, ptr, n);
      } finally {
        if (ptr) _free(ptr);
      }
    },

    fail: function(ctx, error) {
      var name = error && error.name ? error.name : 'Error';
      var quota = name === 'QuotaExceededError' || (error && error.code === 22);
      var message = name + ': ' + (error && error.message ? error.message : String(error));
      IciiaIdb.complete(ctx, quota ? 1 : 2, new TextEncoder().encode(message));
    },

    // Runs body(store, tx) in one transaction; calls done(result) once it
    // has committed, fail on any error or abort (exactly one of the two).
    // `durability`: the IndexedDB hint of a readwrite transaction ('strict':
    // complete fires once the data is flushed to disk; 'relaxed': once the
    // browser has it, which a browser crash survives but a power cut may
    // not; README, "Durability"). Browsers that predate the hint ignore it.
    run: function(dbName, mode, ctx, body, durability) {
      IciiaIdb.open(dbName).then(function(db) {
        var tx;
        try {
          tx = durability ? db.transaction('records', mode, { durability: durability }) : db.transaction('records', mode);
        } catch (e) {
          IciiaIdb.fail(ctx, e);
          return;
        }
        var settled = false;
        var result = null;
        var firstError = null;
        tx.oncomplete = function() {
          if (settled) return;
          settled = true;
          IciiaIdb.complete(ctx, 0, result);
        };
        tx.onabort = function() {
          if (settled) return;
          settled = true;
          IciiaIdb.fail(ctx, firstError || tx.error || new Error('transaction aborted'));
        };
        tx.onerror = function(event) {
          if (!firstError && event && event.target) firstError = event.target.error;
        };
        try {
          body(tx.objectStore('records'), function(r) { result = r; });
        } catch (e) {
          firstError = firstError || e;
          try { tx.abort(); } catch (ignored) {}
        }
      }, function(e) { IciiaIdb.fail(ctx, e); });
    },
  },

  // How often database `dbName` was deleted from outside (see losses above).
  iciia_idb_losses__deps: ['$IciiaIdb'],
  iciia_idb_losses: function(dbName) {
    return IciiaIdb.losses[UTF8ToString(dbName)] || 0;
  },

  iciia_idb_take_data_loss__deps: ['$IciiaIdb', 'malloc'],
  iciia_idb_take_data_loss: function(dbName, client) {
    var name = UTF8ToString(dbName), key = name + '\0' + UTF8ToString(client);
    var text = IciiaIdb.dataLoss[name];
    if (!text || IciiaIdb.dataLossTold[key]) return 0;
    IciiaIdb.dataLossTold[key] = true;
    var size = lengthBytesUTF8(text) + 1;
    var ptr = _malloc(size);
    stringToUTF8(text, ptr, size);
    return ptr;
  },

  // seqs: f64[count]. Result: per key, i32 length (-1: absent), then the bytes.
  iciia_idb_get__deps: ['$IciiaIdb'],
  iciia_idb_get: function(dbName, client, seqsPtr, count, ctx) {
    var name = UTF8ToString(dbName), id = UTF8ToString(client);
    var seqs = Array.from(HEAPF64.subarray(seqsPtr >> 3, (seqsPtr >> 3) + count));
    IciiaIdb.soon(function() { IciiaIdb.run(name, 'readonly', ctx, function(store, setResult) {
      var values = new Array(seqs.length);
      var pending = seqs.length;
      var finish = function() {
        var total = 0;
        for (var i = 0; i < values.length; ++i) total += 4 + (values[i] ? values[i].length : 0);
        var out = new Uint8Array(total);
        var view = new DataView(out.buffer);
        var at = 0;
        for (var j = 0; j < values.length; ++j) {
          var v = values[j];
          view.setInt32(at, v ? v.length : -1, true);
          at += 4;
          if (v) { out.set(v, at); at += v.length; }
        }
        setResult(out);
      };
      if (!pending) { finish(); return; }
      var asValue = function(v) {
        // Stored as Uint8Array; anything else is not ours and reads as corrupt bytes.
        return v === undefined ? null : v instanceof Uint8Array ? v
             : v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(0);
      };
      if (seqs.length > 8) {
        // Many keys (a start-up load): two range requests instead of one
        // request per key; keys and values come back in the same order.
        var lo = Math.min.apply(null, seqs), hi = Math.max.apply(null, seqs);
        var range = IDBKeyRange.bound([id, lo], [id, hi]);
        var keysRequest = store.getAllKeys(range);
        var valuesRequest = store.getAll(range);
        valuesRequest.onsuccess = function() {
          var bySeq = new Map();
          var keys = keysRequest.result, all = valuesRequest.result;
          for (var k = 0; k < keys.length; ++k) bySeq.set(keys[k][1], all[k]);
          for (var j = 0; j < seqs.length; ++j) values[j] = asValue(bySeq.get(seqs[j]));
          finish();
        };
        return;
      }
      seqs.forEach(function(seq, i) {
        var request = store.get([id, seq]);
        request.onsuccess = function() {
          values[i] = asValue(request.result);
          if (--pending === 0) finish();
        };
      });
    }); });
  },

  // Result: f64[] of the client's record seqs (>= 0), ascending.
  iciia_idb_list__deps: ['$IciiaIdb'],
  iciia_idb_list: function(dbName, client, ctx) {
    var name = UTF8ToString(dbName), id = UTF8ToString(client);
    IciiaIdb.soon(function() { IciiaIdb.run(name, 'readonly', ctx, function(store, setResult) {
      var request = store.getAllKeys(IDBKeyRange.bound([id, 0], [id, Infinity]));
      request.onsuccess = function() {
        var keys = request.result;
        var seqs = new Float64Array(keys.length);
        for (var i = 0; i < keys.length; ++i) seqs[i] = keys[i][1];
        setResult(new Uint8Array(seqs.buffer));
      };
    }); });
  },

  // puts: u32 count, then per entry f64 seq, u32 length, bytes. Then deletes
  // the keys in [eraseFrom, eraseTo) (eraseFrom -1 takes the head too). One
  // readwrite transaction, durability 'strict' unless `strict` is 0.
  iciia_idb_write__deps: ['$IciiaIdb'],
  iciia_idb_write: function(dbName, client, putsPtr, putsLen, eraseFrom, eraseTo, strict, ctx) {
    var name = UTF8ToString(dbName), id = UTF8ToString(client);
    // Copy now: the caller frees its buffer once this returns.
    var puts = HEAPU8.slice(putsPtr, putsPtr + putsLen);
    IciiaIdb.defer(function() { IciiaIdb.run(name, 'readwrite', ctx, function(store) {
      var view = new DataView(puts.buffer);
      var count = view.getUint32(0, true);
      var at = 4;
      for (var i = 0; i < count; ++i) {
        var seq = view.getFloat64(at, true);
        var len = view.getUint32(at + 8, true);
        at += 12;
        store.put(puts.slice(at, at + len), [id, seq]);
        at += len;
      }
      if (eraseFrom < eraseTo) {
        store.delete(IDBKeyRange.bound([id, Math.max(eraseFrom, -1)], [id, eraseTo], false, true));
      }
    }, strict ? 'strict' : 'relaxed'); });
  },
});
