// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Confirm before destructive POSTs (no inline handlers: the CSP forbids them).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    // One tap, one submit: a second tap while the first is under way does nothing.
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit], button:not([type])"), function (b) {
      b.setAttribute("aria-busy", "true");
    });
    window.setTimeout(function () { form.dataset.submitting = ""; }, 8000);
  }, true);
  // Close the account menu when tapping elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
})();

// Offline support: the service worker, the outbox count for logout, downloading visits ahead.
(function () {
  "use strict";
  var user = document.body.dataset.user;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the app works without it */ });
  }
  function pendingOps() {
    return new Promise(function (resolve) {
      if (!window.indexedDB || !user) { resolve(0); return; }
      var req = indexedDB.open("inspect-outbox", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("ops", { keyPath: "key" }).createIndex("owner", "owner"); };
      req.onerror = function () { resolve(0); };
      req.onsuccess = function () {
        try {
          var count = req.result.transaction("ops").objectStore("ops").index("owner").count(user);
          count.onsuccess = function () { resolve(count.result); };
          count.onerror = function () { resolve(0); };
        } catch (err) { resolve(0); }
      };
    });
  }
  // Logging out on a shared phone: the warning counts what is unsent now, not when the page
  // loaded, and the visit page's own "leave?" prompt does not follow it a second time.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-logout")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    pendingOps().then(function (n) {
      if (n > 0 && !window.confirm(form.dataset.unsent.replace("{n}", n))) {
        form.dataset.submitting = "";  // staying: the button works again
        Array.prototype.forEach.call(form.querySelectorAll("[aria-busy]"), function (b) { b.removeAttribute("aria-busy"); });
        return;
      }
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ type: "clear-pages" });
      }
      // what visit.js remembered of this person's confirmed answers goes with the pages
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf("inspect-confirmed:" + user + ":") === 0) localStorage.removeItem(key);
      });
      window.inspectLeaving = true;
      form.submit();  // no submit event: nothing above runs twice
    });
  }, true);
  var ahead = document.querySelector("[data-download-ahead]");
  if (ahead) {
    ahead.addEventListener("click", function () {
      var urls = JSON.parse(ahead.dataset.urls || "[]");
      var status = document.querySelector("[data-download-status]");
      if (!navigator.serviceWorker || !navigator.serviceWorker.controller) {
        if (status) status.textContent = ahead.dataset.msgUnsupported;
        return;
      }
      navigator.serviceWorker.addEventListener("message", function (e) {
        if (e.data && e.data.type === "cached" && status) status.textContent = ahead.dataset.msgDone.replace("{n}", e.data.count);
      });
      navigator.serviceWorker.controller.postMessage({ type: "cache-pages", urls: urls });
      if (status) status.textContent = ahead.dataset.msgWorking;
    });
  }
})();
