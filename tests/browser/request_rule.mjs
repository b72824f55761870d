// The request audit's one rule, shared by the three engines' drivers: a page
// may GET, without a body or query, the routes the test server serves on its
// own origin and the origins a test allows explicitly; in-memory URLs (data:,
// blob:, about:) never reach the network.

/**
 * @param {{origin: string, external: Set<string>, routes?: Set<string>}} site
 * @returns {(method: string, url: string, hasBody: boolean) => boolean}
 */
export function requestRule({ origin, external, routes }) {
  return (method, url, hasBody) => {
    if (/^(data|blob|about):/.test(url)) return true;
    if (method !== 'GET' || hasBody) return false;
    let u;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (external.has(u.origin)) return true;
    return u.origin === origin && u.search === '' && u.hash === '' && (routes?.has(u.pathname) || u.pathname === '/');
  };
}
