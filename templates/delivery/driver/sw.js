{% load static %}/* The driver app's service worker: keeps the app's shell (the page, its script and styles) so it opens
   without a connection. The trip's data lives in IndexedDB (the page's script); actions are queued there too. */
importScripts(
  "{% static workbox|add:'/workbox-core.prod.js' %}",
  "{% static workbox|add:'/workbox-routing.prod.js' %}",
  "{% static workbox|add:'/workbox-strategies.prod.js' %}"
);
const SHELL = "driver-shell-v2";
const PAGE = "{% url 'delivery:driver_app' %}";
const ASSETS = [
  "{% static 'vendor/signature_pad-5.1.4/signature_pad.umd.min.js' %}",
  "{% static 'delivery/driver/app.js' %}",
  "{% static 'delivery/driver/driver.css' %}",
  "{% static 'img/logo.svg' %}",
  "{% url 'delivery:driver_manifest' %}",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) => cache.addAll([PAGE, ...ASSETS])).then(() => self.skipWaiting())
  );
});
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("driver-shell-") && n !== SHELL).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

const { registerRoute } = workbox.routing;
const { NetworkFirst, StaleWhileRevalidate } = workbox.strategies;
// The page: the network when there is one (fresh CSRF token and session), the kept copy when there is not.
registerRoute(
  ({ url, request }) => request.mode === "navigate" && url.pathname === PAGE,
  new NetworkFirst({ cacheName: SHELL, networkTimeoutSeconds: 4 })
);
// The shell's files: served from the cache at once, refreshed behind.
registerRoute(
  ({ url }) => ASSETS.includes(url.pathname),
  new StaleWhileRevalidate({ cacheName: SHELL })
);
