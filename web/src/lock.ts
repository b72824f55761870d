/**
 * Cross-tab mutual exclusion for a client's history: the read-modify-write
 * of an append (read the head, claim the next seq, write) must not
 * interleave with another tab's. Web Locks where they exist (pages and
 * workers of one origin share them); otherwise (Node 20) a promise chain per
 * name, which covers every recognizer of this JS realm.
 */

type LockManagerLike = { request<T>(name: string, cb: () => Promise<T>): Promise<T> };

const chains = new Map<string, Promise<unknown>>();

function webLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : null;
}

export function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = webLocks();
  if (locks) return locks.request(name, fn);
  const previous = chains.get(name) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(name, tail);
  void tail.then(() => {
    if (chains.get(name) === tail) chains.delete(name);
  });
  return run;
}
