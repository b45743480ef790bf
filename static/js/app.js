// Small progressive enhancements; every page works without them.

// The check-in's distance to the outlet as the server judges it (visits.checkin_place, with
// evidence.checks.distance_m's haversine): far when
// even the nearest point the phone may be at (its accuracy allowed up to the radius) lies beyond
// the radius. ``el`` carries data-outlet-lat/-lon and data-radius; null without the outlet's place.
window.checkinPlace = function (el, lat, lon, accuracy) {
  "use strict";
  if (!el.dataset.outletLat || lat == null || lon == null) return null;
  var rad = function (d) { return d * Math.PI / 180; };
  var p1 = rad(lat), p2 = rad(parseFloat(el.dataset.outletLat));
  var dp = p2 - p1, dl = rad(parseFloat(el.dataset.outletLon) - lon);
  var a = Math.pow(Math.sin(dp / 2), 2) + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(dl / 2), 2);
  var meters = 2 * 6371000 * Math.asin(Math.sqrt(a));
  var radius = parseInt(el.dataset.radius || "300", 10);
  var allowance = Math.min(Math.max(accuracy || 0, 0), radius);
  return { meters: meters, radius: radius, far: meters - allowance > radius };
};

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

// Offline support: the service worker, one outbox per person (sealed at logout), downloading ahead.
(function () {
  "use strict";
  var user = document.body.dataset.user;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the app works without it */ });
  }

  // --- the outbox store, shared with visit.js -------------------------------------------------
  function openOutbox() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var req = indexedDB.open("inspect-outbox", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("ops", { keyPath: "key" }).createIndex("owner", "owner"); };
      req.onerror = function () { reject(req.error); };
      req.onsuccess = function () { resolve(req.result); };
    });
  }
  function ownRecords(db) {
    return new Promise(function (resolve, reject) {
      var req = db.transaction("ops").objectStore("ops").index("owner").getAll(user);
      req.onsuccess = function () { resolve(req.result || []); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function replace(db, put, del) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction("ops", "readwrite"), store = t.objectStore("ops");
      put.forEach(function (r) { store.put(r); });
      del.forEach(function (k) { store.delete(k); });
      t.oncomplete = resolve;
      t.onerror = function () { reject(t.error); };
      t.onabort = function () { reject(t.error); };
    });
  }

  // A person's unsent work is sealed (AES-GCM) when they log out or their session ends, with a key
  // only their own signed-in sessions get from the server; the next person on the phone finds
  // ciphertext. At that person's next login here it is opened again and sent.
  var keyPromise = null;
  function outboxKey(fresh) {
    if (!keyPromise || fresh) {
      keyPromise = fetch("/account/outbox-key", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (res) {
          if (!res.ok) throw new Error(String(res.status));
          return res.json();
        }).then(function (data) {
          if (String(data.user) !== String(user)) throw new Error("not this person's key");
          var raw = Uint8Array.from(atob(data.key), function (c) { return c.charCodeAt(0); });
          return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
        });
      keyPromise.catch(function () { keyPromise = null; });  // try again next time
    }
    return keyPromise;
  }
  function uid() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function sealOne(key, op) {
    var plain = Object.assign({}, op), blob = plain.blob;
    delete plain.blob;
    var iv = crypto.getRandomValues(new Uint8Array(12)), blobIv = crypto.getRandomValues(new Uint8Array(12));
    var text = new TextEncoder().encode(JSON.stringify(plain));
    return Promise.all([
      crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, key, text),
      blob ? blob.arrayBuffer().then(function (bytes) { return crypto.subtle.encrypt({ name: "AES-GCM", iv: blobIv }, key, bytes); }) : null
    ]).then(function (out) {
      var sealed = { key: "sealed:" + user + ":" + uid(), owner: op.owner, sealed: 1, iv: iv, data: out[0], created: op.created };
      if (out[1]) { sealed.blobIv = blobIv; sealed.blob = out[1]; sealed.blobType = blob.type; }
      return sealed;
    });
  }
  function openOne(key, sealed) {
    return Promise.all([
      crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, key, sealed.data),
      sealed.blob ? crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.blobIv }, key, sealed.blob) : null
    ]).then(function (out) {
      var op = JSON.parse(new TextDecoder().decode(out[0]));
      if (out[1]) op.blob = new Blob([out[1]], { type: sealed.blobType || "image/jpeg" });
      return op;
    });
  }
  function seal(cachedOnly) {
    if (!user || !window.crypto || !crypto.subtle) return Promise.resolve(0);
    // at logout the key is fetched again: that also proves the network is there for the logout
    var keyReady = cachedOnly ? (keyPromise || Promise.reject(new Error("no key"))) : outboxKey(true);
    return Promise.all([openOutbox(), keyReady]).then(function (got) {
      var db = got[0], key = got[1];
      return ownRecords(db).then(function (rows) {
        var plain = rows.filter(function (r) { return !r.sealed; });
        return Promise.all(plain.map(function (op) { return sealOne(key, op); })).then(function (sealed) {
          return replace(db, sealed, plain.map(function (r) { return r.key; })).then(function () { return sealed.length; });
        });
      });
    });
  }
  function unseal() {
    if (!user || !window.indexedDB || !window.crypto || !crypto.subtle) return Promise.resolve(0);
    return openOutbox().then(function (db) {
      return ownRecords(db).then(function (rows) {
        var sealed = rows.filter(function (r) { return r.sealed; });
        if (!sealed.length) return 0;
        return outboxKey().then(function (key) {
          return Promise.all(sealed.map(function (r) { return openOne(key, r); })).then(function (ops) {
            return replace(db, ops, sealed.map(function (r) { return r.key; })).then(function () { return ops.length; });
          });
        });
      });
    }).catch(function () { return 0; });  // no network: they stay sealed until the next page
  }
  // --- forms with a signature (a 签收, an on-site 复查: signature.js) -----------------------------
  // Such a form goes into the same outbox first (sealed at logout like everything else) and is
  // sent from there: at once when there is network, else from any page once it is back, one at a
  // time. A resend is harmless: the server knows the signature's client id.
  function queueForm(url, fields, label) {
    var op = { key: "form:" + user + ":" + uid(), owner: user, kind: "form", url: url, fields: fields, label: label,
               created: Date.now() };
    return openOutbox().then(function (db) { return replace(db, [op], []); }).then(function () { return op; });
  }
  function say(text, kind) {
    var main = document.querySelector("main");
    if (!main || !text) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + kind; p.textContent = text; p.setAttribute("role", "status");
    main.insertBefore(p, main.firstChild);
  }
  try {  // the message of a form sent from the page before this one (it went on to this page)
    var carried = sessionStorage.getItem("inspect-flash");
    if (carried) { sessionStorage.removeItem("inspect-flash"); say(carried, "success"); }
  } catch (err) { /* no session storage: no message */ }
  // Send the kept forms; ``live`` is the key of the form just sent from this page: on success the
  // page goes where the form leads, a refusal is given back to it. Resolves to "sent", "refused"
  // or "kept" for that form.
  var chain = Promise.resolve();
  function flushForms(live) {
    var outcome = "kept";
    chain = chain.then(function () {
      if (!user || !window.indexedDB) return;
      var token = (document.querySelector("input[name=csrf_token]") || {}).value;  // this page's, not the old one
      return openOutbox().then(function (db) {
        return ownRecords(db).then(function (rows) {
          var forms = rows.filter(function (r) { return !r.sealed && r.kind === "form"; })
            .sort(function (a, b) { return a.created - b.created; });
          return forms.reduce(function (done, op) {
            return done.then(function (goOn) {
              if (!goOn) return false;
              var body = new URLSearchParams(op.fields);
              if (token) body.set("csrf_token", token);
              return fetch(op.url, { method: "POST", credentials: "same-origin", body: body,
                                     headers: { "Accept": "application/json", "X-CSRFToken": token || "" } })
                .then(function (res) {
                  return res.json().catch(function () { return {}; }).then(function (data) {
                    if (res.status >= 500 || res.status === 429 || res.status === 401 || (res.ok && !data.ok)) return false;
                    var text = res.ok ? data.message : (data.error || String(res.status));
                    return replace(db, [], [op.key]).then(function () {
                      if (op.key === live) {
                        outcome = res.ok ? "sent" : "refused:" + text;
                        if (res.ok) {
                          try { sessionStorage.setItem("inspect-flash", text); } catch (err) { /* shown nowhere */ }
                          location.assign(data.redirect || location.pathname);
                        }
                      } else {
                        say((op.label ? op.label + ": " : "") + text, res.ok ? "success" : "error");
                      }
                      return true;
                    });
                  });
                }, function () { return false; });
            });
          }, Promise.resolve(true));
        });
      }).catch(function () {});
    });
    return chain.then(function () { return outcome; });
  }
  var ready = unseal();
  window.inspectOutbox = { ready: ready, seal: seal, key: outboxKey, queueForm: queueForm, flushForms: flushForms };
  ready.then(function () { flushForms(); });
  window.addEventListener("online", function () { flushForms(); });

  function pendingOps() {
    if (!user || !window.indexedDB) return Promise.resolve(0);
    return openOutbox().then(ownRecords).then(function (rows) { return rows.length; }, function () { return 0; });
  }
  // Logging out on a shared phone: the warning counts what is unsent now, not when the page
  // loaded; what stays is sealed first (which needs the network, as logging out does), and the
  // visit page's own "leave?" prompt does not follow.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-logout")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    function stay(text) {
      if (text) window.alert(text);
      form.dataset.submitting = "";  // staying: the button works again
      Array.prototype.forEach.call(form.querySelectorAll("[aria-busy]"), function (b) { b.removeAttribute("aria-busy"); });
    }
    pendingOps().then(function (n) {
      if (n > 0 && !window.confirm(form.dataset.unsent.replace("{n}", n))) { stay(); return; }
      (n > 0 ? seal(false) : Promise.resolve(0)).then(function () {
        if (navigator.serviceWorker && navigator.serviceWorker.controller) {
          navigator.serviceWorker.controller.postMessage({ type: "clear-pages" });
        }
        // what visit.js remembered of this person's confirmed answers goes with the pages
        Object.keys(localStorage).forEach(function (key) {
          if (key.indexOf("inspect-confirmed:" + user + ":") === 0 || key === "inspect-last-sync:" + user) localStorage.removeItem(key);
        });
        window.inspectLeaving = true;
        form.submit();  // no submit event: nothing above runs twice
      }, function () { stay(form.dataset.offline); });
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
