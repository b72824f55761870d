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

/**
 * A lock kept across several operations: acquired on first use, held until
 * the holder releases it. Holding it, a recognizer knows no other tab writes
 * the client's history, so its copy in memory stays current.
 *
 * Whoever requests it says so on a BroadcastChannel of the lock's name (tabs,
 * workers, and other holders in this realm hear it; Web Locks cannot tell a
 * holder that someone waits), so a holder can let go as soon as it is idle
 * instead of after its idle period: `onWanted`.
 */
export class HeldLock {
  readonly #name: string;
  readonly #channel: BroadcastChannel | null;
  #ready: Promise<void> | null = null;
  #release: (() => void) | null = null;
  #since = 0;
  /** Called when another holder-to-be requests the lock while this one holds or awaits it. */
  onWanted: (() => void) | null = null;

  constructor(name: string) {
    this.#name = name;
    this.#channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;
    if (this.#channel) {
      this.#channel.onmessage = () => {
        if (this.#ready) this.onWanted?.();
      };
      // Node: an open channel must not keep the process alive.
      (this.#channel as { unref?: () => void }).unref?.();
    }
  }

  /** Stops listening (the lock must be released). */
  close(): void {
    this.#channel?.close();
  }

  /** Requested or granted, and not released. */
  get held(): boolean {
    return this.#ready !== null;
  }

  /** Milliseconds since it was granted (0 while waiting). */
  get age(): number {
    return this.#since ? performance.now() - this.#since : 0;
  }

  /** Resolves once granted (at once when already held). */
  acquire(): Promise<void> {
    if (this.#ready) return this.#ready;
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const ready = new Promise<void>((granted, failed) => {
      withLock(this.#name, () => {
        if (this.#ready === ready) this.#since = performance.now();
        granted();
        return until;
      }).catch((e: unknown) => {
        if (this.#ready === ready) this.#ready = this.#release = null;
        failed(e);
      });
    });
    this.#ready = ready;
    this.#release = release;
    this.#channel?.postMessage('wanted');
    return ready;
  }

  release(): void {
    this.#release?.();
    this.#ready = this.#release = null;
    this.#since = 0;
  }
}
