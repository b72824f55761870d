/**
 * The origin's storage as the browser manages it (the Storage API,
 * navigator.storage): how much the site uses, how much it may, and whether
 * the browser may evict it under storage pressure. `rec.history.usage()` and
 * `rec.history.persist()` (README, "Durability").
 *
 * The estimate covers the whole origin (every database, cache and service
 * worker of the site), not one client's history: browsers report no finer
 * figure, and it is what eviction and quotas are decided on.
 */
import { StorageError } from './errors.js';

export interface StorageUsage {
  /** Bytes the origin's storage uses, as the browser estimates (every database of the site, not this history alone). */
  usage: number;
  /** Bytes the origin may use before writes fail with a quota error. */
  quota: number;
  /** Whether the browser keeps the origin's storage under storage pressure (granted by persist()). */
  persisted: boolean;
}

/** The subset of StorageManager used here (a test may install a fake as globalThis.navigator.storage). */
interface StorageManagerLike {
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  persist?: () => Promise<boolean>;
  persisted?: () => Promise<boolean>;
}

function manager(what: string): StorageManagerLike {
  const storage = (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage;
  if (!storage || typeof storage.estimate !== 'function') {
    throw new StorageError(
      `${what}: the Storage API (navigator.storage) is not available here ` +
        '(pages and workers of a secure context have it, e.g. https: or http://127.0.0.1; Node does not)',
      false,
    );
  }
  return storage;
}

async function persisted(storage: StorageManagerLike): Promise<boolean> {
  // Firefox and Chromium have persisted() wherever they have estimate().
  return typeof storage.persisted === 'function' ? (await storage.persisted()) === true : false;
}

/** navigator.storage.estimate() and persisted(), checked. Rejects with a StorageError where there is no Storage API. */
export async function storageUsage(): Promise<StorageUsage> {
  const storage = manager('history.usage');
  let estimate: { usage?: number; quota?: number };
  let kept: boolean;
  try {
    [estimate, kept] = await Promise.all([(storage.estimate as () => Promise<{ usage?: number; quota?: number }>)(), persisted(storage)]);
  } catch (e) {
    throw new StorageError(`history.usage: the browser refused a storage estimate: ${(e as Error)?.message ?? String(e)}`, false, { cause: e });
  }
  const usage = Number(estimate?.usage);
  const quota = Number(estimate?.quota);
  if (!Number.isFinite(usage) || !Number.isFinite(quota) || usage < 0 || quota < 0) {
    throw new StorageError(`history.usage: the browser's estimate is not a pair of byte counts (usage ${String(estimate?.usage)}, quota ${String(estimate?.quota)})`, false);
  }
  return { usage, quota, persisted: kept };
}

/**
 * Asks the browser to keep the origin's storage under storage pressure
 * (navigator.storage.persist()); resolves to whether it is now persistent.
 * Browsers decide by their own rules: Firefox asks the user, Chromium grants
 * it to sites the user engages with (bookmarked, installed, notifications)
 * and otherwise answers false without asking. Call it from a user gesture
 * (a click). Workers cannot ask (persist() is a page's): there it resolves to
 * whether the storage is already persistent.
 */
export async function persistStorage(): Promise<boolean> {
  const storage = manager('history.persist');
  try {
    if (typeof storage.persist !== 'function') return await persisted(storage);
    return (await storage.persist()) === true;
  } catch (e) {
    throw new StorageError(`history.persist: the browser refused: ${(e as Error)?.message ?? String(e)}`, false, { cause: e });
  }
}
