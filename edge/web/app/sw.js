// The app's service worker (Workbox, loaded from the hub's vendored copy). The hub serves this
// file with `self.__PRECACHE` in front: every shell file with its content hash, so a new
// install on the station replaces the handheld's copy. Kept offline: the shell (precached),
// the last-seen station status (network first, the cache when the station is away), and the
// barcode decoder once the camera has used it.
/* global workbox */
importScripts("/vendor/workbox-sw/workbox-sw.js");
workbox.setConfig({ debug: false, modulePathCb: (name) => `/vendor/${name}/${name}.prod.js` });

const { precacheAndRoute, cleanupOutdatedCaches, createHandlerBoundToURL } = workbox.precaching;
const { registerRoute, NavigationRoute } = workbox.routing;
const { NetworkFirst, CacheFirst } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;

const LAST_SEEN = "edge-last-seen";
const DECODER = "edge-decoder";
const FROM_CACHE = "x-edge-from-cache";

self.skipWaiting();
workbox.core.clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.__PRECACHE);
registerRoute(new NavigationRoute(createHandlerBoundToURL("/app/index.html"), { allowlist: [/^\/app\//] }));

// A reply from the cache says so (and when it was fetched), so the screen can say it is old.
const markCached = {
  cachedResponseWillBeUsed: async ({ cachedResponse }) => {
    if (!cachedResponse) return cachedResponse;
    const headers = new Headers(cachedResponse.headers);
    headers.set(FROM_CACHE, headers.get("date") ?? new Date(0).toUTCString());
    return new Response(await cachedResponse.blob(), { status: cachedResponse.status, headers });
  },
};

registerRoute(
  ({ url, request }) =>
    request.method === "GET" && /^\/api\/v1\/(station|devices|replication)$/.test(url.pathname),
  new NetworkFirst({
    cacheName: LAST_SEEN,
    networkTimeoutSeconds: 5,
    plugins: [new ExpirationPlugin({ maxEntries: 10 }), markCached],
  }),
);

registerRoute(
  ({ url }) => /^\/vendor\/(barcode-detector|zxing-wasm)\//.test(url.pathname),
  new CacheFirst({ cacheName: DECODER }),
);

// Signed out: what the last person saw is not kept for the next one.
self.addEventListener("message", (event) => {
  if (event.data?.type === "signed-out") event.waitUntil(caches.delete(LAST_SEEN));
});
