/* The visit form's service worker: keeps the form page and the static files it uses, so that an
 * officer's phone reloads the form with no network. Network first, always: a fresh page when the
 * network answers, the kept copy when it fails, errs with a 5xx, or is too slow to wait for.
 * Visits never pass through here: the page's own queue (visits.js) owns them, and API calls and
 * every non-GET request go straight to the network.
 */
'use strict';

const CACHE = 'bangfu-visits-v1'; // visits.js keeps the page under the same name
const PAGE = new URL('./', self.location).pathname; // /admin/visits/
const WAIT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  const old = (key) => key.startsWith('bangfu-visits-') && key !== CACHE;
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter(old).map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

/** Only the form page itself and static files are kept; never the API, never another page. */
function kept(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  return url.origin === self.location.origin && (url.pathname === PAGE || url.pathname.startsWith('/static/'));
}

self.addEventListener('fetch', (event) => {
  if (kept(event.request)) event.respondWith(networkFirst(event.request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  // The page is kept once, without its query: visits.js preselects ?household= itself.
  const url = new URL(request.url);
  const key = url.pathname === PAGE ? PAGE : request;
  const cached = await cache.match(key);
  const network = fetch(request).then((response) => {
    // A redirect (to the sign-in page, say) or an error page is passed on, never kept.
    if (response.ok && response.type === 'basic' && !response.redirected) {
      cache.put(key, response.clone());
      return response;
    }
    return response.status >= 500 && cached ? cached : response;
  });
  if (!cached) return network;
  const slow = new Promise((resolve) => setTimeout(() => resolve(cached), WAIT_MS));
  return Promise.race([network.catch(() => cached), slow]);
}
