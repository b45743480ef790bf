// Service worker: the app shell from cache, pages network-first with the last copy kept, so a
// visit opened once (or downloaded ahead) can be filled with no network at all. Writes never go
// through here: the page's outbox sends and retries them, so nothing depends on Background Sync
// (which iOS Safari lacks).
"use strict";
var VERSION = "__VERSION__";
var SHELL = __SHELL__;
var SHELL_CACHE = "shell-" + VERSION;
var PAGES = "pages-v1";
// a notice or a line opened once can be acknowledged or re-checked (with a signature) with no
// network: the form waits in the outbox (signature.js, app.js)
var OFFLINE_PAGES = /^\/(home|visits(\/\d+(\/(fill|checkin))?)?|notices\/\d+|lines\/\d+)$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("shell-") === 0 && k !== SHELL_CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "clear-pages") {
    // logging out on a shared phone: nobody else may see this user's pages
    event.waitUntil(caches.delete(PAGES));
  } else if (data.type === "cache-pages" && Array.isArray(data.urls)) {
    event.waitUntil(caches.open(PAGES).then(function (cache) {
      return Promise.all(data.urls.map(function (url) {
        return fetch(url, { credentials: "same-origin", headers: { "X-Inspect-Copy": "1" } }).then(function (res) {
          if (res.ok && !res.redirected) return cache.put(url, res);
          if (res.status === 404) return cache.delete(url);  // no longer the viewer's (a cross-inspection released)
        }).catch(function () {});
      }));
    }).then(function () {
      if (event.source) event.source.postMessage({ type: "cached", count: data.urls.length });
    }));
  }
});

// What a navigation gets when there is no network and no kept copy: the app's own words instead of
// the browser's error page. A form sent with no network says that it was not sent.
function offlinePage(posted) {
  var text = posted
    ? "没有网络，表单没有发送。联网后返回上一页再提交一次。<br>No network: the form was not sent. Go back and send it again once you are online."
    : "没有网络，此页面尚未保存到本机。<br>No network, and this page was not saved on this phone.";
  return new Response("<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
    "<title>没有网络 · Offline</title><p style='font:16px/1.6 sans-serif;padding:2rem'>" + text +
    "</p><p style='font:16px sans-serif;padding:0 2rem'><a href='javascript:history.back()'>返回 · Back</a> · <a href='/home'>首页 · Home</a></p>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (request.method !== "GET" || !OFFLINE_PAGES.test(url.pathname))) {
    event.respondWith(fetch(request).catch(function () { return offlinePage(request.method !== "GET"); }));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (res) {
        if (res.ok && url.searchParams.get("v")) {
          var copy = res.clone();
          caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return res;
      });
    }));
    return;
  }
  if (request.mode === "navigate" && OFFLINE_PAGES.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (res) {
      if (res.ok && !res.redirected) {
        var copy = res.clone();
        caches.open(PAGES).then(function (cache) { cache.put(url.pathname, copy); });
      } else if (res.status === 404) {
        // the server no longer shows this page to this person (a cross-inspection's visit once
        // released, a visit cancelled): the copy kept for offline use goes too
        caches.open(PAGES).then(function (cache) { cache.delete(url.pathname); });
      }
      return res;
    }).catch(function () {
      return caches.open(PAGES).then(function (cache) { return cache.match(url.pathname); }).then(function (hit) {
        return hit || offlinePage(false);
      });
    }));
  }
});
