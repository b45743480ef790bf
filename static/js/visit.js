// Filling a visit on a phone. Every answer and photo goes into a durable outbox (IndexedDB) first
// and is sent from there, one at a time, until the server confirms it: a closed tab, a reload or
// a dead network loses nothing, and a repeat is recognised by its client id on the server.
(function () {
  "use strict";
  var root = document.getElementById("visit");
  if (!root) return;
  var visitId = root.dataset.visit, owner = root.dataset.user;
  var csrf = (document.querySelector("[data-submit-form] input[name=csrf_token]") || {}).value;
  var msg = function (key) { return root.dataset["msg" + key] || key; };

  // --- a tiny IndexedDB store ----------------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
    var req = indexedDB.open("inspect-outbox", 1);
    req.onupgradeneeded = function () {
      var store = req.result.createObjectStore("ops", { keyPath: "key" });
      store.createIndex("owner", "owner");
    };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
  var memory = {};  // fallback when IndexedDB is unavailable (private mode): still retried in this tab
  function tx(mode, fn) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction("ops", mode), store = t.objectStore("ops"), out = fn(store);
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    }, function () {
      return fn(null);
    });
  }
  var store = {
    put: function (op) { memory[op.key] = op; return tx("readwrite", function (s) { return s ? s.put(op) : null; }); },
    del: function (key) { delete memory[key]; return tx("readwrite", function (s) { return s ? s.delete(key) : null; }); },
    // Drop the entry only if it is still this write: the check and the delete in one transaction,
    // so a newer edit put in between (typing while the reply came back) is never deleted unsent.
    delIf: function (key, clientId) {
      if (memory[key] && memory[key].client_id === clientId) delete memory[key];
      return tx("readwrite", function (s) {
        if (!s) return null;
        var req = s.get(key);
        req.onsuccess = function () { if (req.result && req.result.client_id === clientId) s.delete(key); };
        return null;
      });
    },
    all: function () {
      return tx("readonly", function (s) { return s ? s.index("owner").getAll(owner) : null; }).then(function (rows) {
        rows = rows || Object.keys(memory).map(function (k) { return memory[k]; });
        // oldest first; a queued submit always last, after every write it must not overtake
        return rows.filter(function (op) { return op.owner === owner && op.visit === visitId; })
          .sort(function (a, b) { return (a.kind === "submit") - (b.kind === "submit") || a.created - b.created; });
      });
    }
  };
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().then(function (granted) {
      if (!granted) {
        var warn = document.querySelector("[data-sync]");
        if (warn) { warn.hidden = false; warn.className = "sync-line warn"; warn.textContent = msg("Persist"); }
      }
    });
  }

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- item state ----------------------------------------------------------------------------
  var items = {};
  Array.prototype.forEach.call(root.querySelectorAll("article.item"), function (el) { items[el.dataset.code] = el; });

  function stateOf(el) {
    var s = { item_code: el.dataset.code, result: el.dataset.result || null, note: el.querySelector("[data-note]") ? el.querySelector("[data-note]").value : "" };
    if (el.dataset.rule === "per_occurrence" && s.result !== "na" && el.dataset.occurrences !== "") s.occurrences = parseInt(el.dataset.occurrences, 10);
    if (el.dataset.rule === "scale" && s.result !== "na" && el.dataset.scale !== "") s.scale_value = parseInt(el.dataset.scale, 10);
    var staff = el.querySelector("[data-staff]");
    if (staff) s.staff_id = staff.value;  // "" names nobody; no list (no staff): left as it is
    if (!answered(el)) s.clear = true;  // taken back (undo): the item is unanswered again
    return s;
  }
  function answered(el) {
    return !!el.dataset.result || el.dataset.occurrences !== "" || el.dataset.scale !== "";
  }
  function isFail(el) {
    if (el.dataset.result === "na") return false;
    if (el.dataset.rule === "per_occurrence") return parseInt(el.dataset.occurrences || "0", 10) > 0;
    if (el.dataset.rule === "scale") {
      return el.dataset.scale !== "" && parseInt(el.dataset.scale, 10) < parseInt(el.dataset.failBelow, 10);
    }
    return el.dataset.result === "fail";
  }
  function paint(el) {
    var fail = isFail(el), answered = !!el.dataset.result || el.dataset.occurrences !== "" || el.dataset.scale !== "";
    el.classList.toggle("is-fail", fail);
    el.classList.toggle("is-pass", answered && !fail && el.dataset.result !== "na");
    el.classList.toggle("is-na", el.dataset.result === "na");
    Array.prototype.forEach.call(el.querySelectorAll("[data-set]"), function (b) {
      var on = b.dataset.set === el.dataset.result && !(b.dataset.set === "pass" && fail);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    Array.prototype.forEach.call(el.querySelectorAll("[data-scale-value]"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.scaleValue === el.dataset.scale && el.dataset.result !== "na" ? "true" : "false");
    });
    var count = el.querySelector("[data-count]");
    if (count) count.textContent = el.dataset.occurrences || "0";
  }
  function setStatus(el, text, kind) {
    var s = el.querySelector("[data-status]");
    if (!s) return;
    s.textContent = text || "";
    s.className = "item-status" + (kind ? " " + kind : "");
  }

  // --- what the server confirmed, remembered on this phone ----------------------------------
  // A page opened from the service worker's copy can be older than what this phone saved since.
  // The last confirmed answer of each item (and the check-in) is kept per person and visit, so the
  // page shows it and the next edit builds on its version: no false "changed on another device".
  // The copy itself is refreshed after each confirmation. app.js clears both at logout.
  var confirmedKey = "inspect-confirmed:" + owner + ":" + visitId;
  function readConfirmed() {
    try { return JSON.parse(localStorage.getItem(confirmedKey) || "{}"); } catch (err) { return {}; }
  }
  var copyTimer = null;
  function refreshCopy() {
    clearTimeout(copyTimer);
    if (leaving) return;  // submitted: the page is going, and there is nothing more to keep
    copyTimer = setTimeout(function () {
      var sw = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (sw) sw.postMessage({ type: "cache-pages", urls: [location.pathname] });
    }, 1500);
  }
  function remember(key, value) {
    var known = readConfirmed();
    known[key] = value;
    try { localStorage.setItem(confirmedKey, JSON.stringify(known)); } catch (err) { /* full: the copy still refreshes */ }
    refreshCopy();
  }
  function showAnswer(el, a) {
    el.dataset.version = a.version;
    el.dataset.result = a.result || "";
    el.dataset.occurrences = a.occurrences == null ? "" : String(a.occurrences);
    el.dataset.scale = a.scale_value == null ? "" : String(a.scale_value);
    var note = el.querySelector("[data-note]");
    if (note) note.value = a.note || "";
    showStaff(el, a.staff_id);
    paint(el);
  }
  function showStaff(el, staffId) {
    var staff = el.querySelector("[data-staff]");
    if (staff && staffId !== undefined) staff.value = staffId == null ? "" : String(staffId);
  }

  // --- progress ------------------------------------------------------------------------------
  var bar = document.querySelector("[data-progress]");
  function showProgress(p) {
    bar.querySelector("[data-answered]").textContent = p.answered;
    bar.querySelector("[data-total]").textContent = p.total;
    bar.querySelector("[data-score]").textContent = (Math.round(p.score * 10) / 10).toString();
    bar.querySelector("[data-progress-bar]").value = p.answered;
    bar.querySelector("[data-redline]").hidden = !(p.red_lines && p.red_lines.length);
  }
  function localAnswered() {
    var n = 0;
    Object.keys(items).forEach(function (k) {
      var el = items[k];
      if (el.dataset.rule === "timer") { n += 0; return; }
      if (el.dataset.result || el.dataset.occurrences !== "" || el.dataset.scale !== "") n += 1;
    });
    bar.querySelector("[data-answered]").textContent = n;
    bar.querySelector("[data-progress-bar]").value = n;
  }

  // --- the outbox ----------------------------------------------------------------------------
  var sending = false, backoff = 0, timer = null, sessionEnded = false, pendingCount = 0, checkinFailed = false;
  var syncLine = document.querySelector("[data-sync]");

  // Ids of this item's writes that were sent but never confirmed: the server may hold one of them,
  // and must not take it for another device's change when a newer edit replaces it.
  var unconfirmed = {};
  function queueAnswer(el, quiet) {
    var state = stateOf(el);
    var key = "answer:" + owner + ":" + visitId + ":" + el.dataset.code;
    var op = { key: key, owner: owner, visit: visitId, kind: "answer", url: root.dataset.answerUrl, payload: state,
               client_id: uid(), created: Date.now(), supersedes: (unconfirmed[key] || []).slice(-20) };
    setStatus(el, msg("Saving"), "pending");
    var box = el.querySelector("[data-conflict]");
    if (box) {  // answered again after seeing both: this answer is the inspector's choice
      el.dataset.version = box.dataset.version;
      box.remove();
    }
    return store.put(op).then(function () { announce(); return quiet ? refreshSyncLine() : kick(); });
  }
  function queueSummary(text, quiet) {
    return store.put({ key: "summary:" + owner + ":" + visitId, owner: owner, visit: visitId, kind: "summary",
                       url: root.dataset.summaryUrl, payload: { summary: text }, client_id: uid(), created: Date.now() })
      .then(quiet ? refreshSyncLine : kick);
  }
  function queueDetails(payload, quiet) {
    return store.put({ key: "details:" + owner + ":" + visitId, owner: owner, visit: visitId, kind: "details",
                       url: root.dataset.detailsUrl, payload: payload, client_id: uid(), created: Date.now() })
      .then(quiet ? refreshSyncLine : kick);
  }

  // --- secret-visit timers: one tap records the phone's time to the second -------------------
  var timerBox = document.querySelector("[data-timers]");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function showTimer(name, iso, pending) {
    if (!timerBox) return;
    var row = timerBox.querySelector('[data-timer-row="' + name + '"]');
    if (!row) return;
    var out = row.querySelector("output");
    if (iso) {
      var d = new Date(iso);
      out.textContent = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
      row.classList.add("is-set");
    } else {
      out.textContent = "—";
      row.classList.remove("is-set");
    }
    row.classList.toggle("is-pending", !!pending);
    updateDurations();
  }
  function updateDurations() {
    if (!timerBox) return;
    function at(name) {
      var row = timerBox.querySelector('[data-timer-row="' + name + '"]');
      return row && row.classList.contains("is-set") ? row.dataset.at : null;
    }
    [["queue_start", "service_start", "wait"], ["service_start", "service_end", "service"]].forEach(function (p) {
      var a = at(p[0]), b = at(p[1]), out = timerBox.querySelector('[data-duration="' + p[2] + '"]');
      if (!out) return;
      if (a && b) { var s = Math.round((new Date(b) - new Date(a)) / 1000); out.textContent = Math.floor(s / 60) + ":" + pad(s % 60); }
      else out.textContent = "—";
    });
  }
  function queueTimer(name, clear) {
    var iso = new Date().toISOString();
    var row = timerBox.querySelector('[data-timer-row="' + name + '"]');
    row.dataset.at = clear ? "" : iso;
    showTimer(name, clear ? null : iso, true);
    return store.put({ key: "timer:" + owner + ":" + visitId + ":" + name, owner: owner, visit: visitId, kind: "timer",
                       url: root.dataset.timerUrl, payload: clear ? { name: name, clear: true } : { name: name, at: iso },
                       client_id: uid(), created: Date.now() }).then(kick);
  }
  if (timerBox) {
    timerBox.addEventListener("click", function (e) {
      var btn = e.target.closest("button");
      if (!btn) return;
      if (btn.dataset.timer) queueTimer(btn.dataset.timer, false);
      else if (btn.dataset.timerClear) queueTimer(btn.dataset.timerClear, true);
    });
    Array.prototype.forEach.call(timerBox.querySelectorAll("[data-timer-row]"), function (row) {
      if (row.dataset.at) showTimer(row.dataset.timerRow, row.dataset.at, false);
    });
  }

  function refreshSyncLine() {
    return store.all().then(function (ops) {
      // session over: what waits is sealed on this phone, still unsent; the line asks to sign in
      if (sessionEnded) return ops;
      pendingCount = ops.length;
      root.dataset.pending = String(pendingCount);
      if (!ops.length && submitProblem) {
        syncLine.hidden = false; syncLine.className = "sync-line bad"; syncLine.textContent = submitProblem;
        return ops;
      }
      if (!ops.length) {
        var last = localStorage.getItem("inspect-last-sync:" + owner);
        syncLine.hidden = !last;
        syncLine.className = "sync-line ok";
        if (last) syncLine.textContent = msg("Saved") + " · " + new Date(parseInt(last, 10)).toLocaleTimeString();
        return ops;
      }
      syncLine.hidden = false;
      var oldest = ops[0].created, stale = Date.now() - oldest > 24 * 3600 * 1000;
      syncLine.className = "sync-line " + (stale ? "bad" : "warn");
      var queued = ops[ops.length - 1].kind === "submit";
      var conflicts = ops.filter(function (op) { return op.conflict; }).length;
      var writes = ops.length - (queued ? 1 : 0) - conflicts;
      if (conflicts) syncLine.className = "sync-line bad";
      syncLine.textContent = [queued ? msg("SubmitQueued") : "", conflicts ? msg("Conflicts").replace("{n}", conflicts) : "",
                              writes ? msg("Pending").replace("{n}", writes) : ""].filter(Boolean).join(" · ") + (stale ? " ⚠" : "");
      showSubmitQueued(queued);
      return ops;
    });
  }

  // The server ended the session (logout elsewhere, idle, expired): nothing is dropped. The
  // outbox stays on this phone; the line offers to sign in again and come back here to send it.
  function signInAgain(data) {
    // the session is over: what waits is sealed for this person with the key this page fetched
    if (!sessionEnded && window.inspectOutbox) window.inspectOutbox.seal(true).catch(function () {}).then(refreshSyncLine);
    sessionEnded = true;
    syncLine.hidden = false;
    syncLine.className = "sync-line bad";
    syncLine.textContent = (data && data.error ? data.error : "401") + " ";
    var link = document.createElement("a");
    link.href = ((data && data.login) || "/login") + "?next=" + encodeURIComponent(location.pathname);
    link.textContent = msg("SignIn");
    link.className = "btn btn-small";
    syncLine.appendChild(link);
  }
  function kick() {
    refreshSyncLine();
    if (sending || sessionEnded || checkinFailed || following) return;
    clearTimeout(timer);
    sending = true;
    store.all().then(function (all) {
      var ops = all.filter(function (op) { return !op.conflict && !waitsForPhoto(op, all); });  // those wait for the inspector
      if (!ops.length) { sending = false; return; }
      var op = ops[0];
      return send(op).then(function (ok) {
        sending = false;
        if (ok) { backoff = 0; announce(); kick(); return; }
        backoff = Math.min(60000, backoff ? backoff * 2 : 1000);
        // the answers waiting behind this one are not being saved either: say so
        ops.slice(1).forEach(function (waiting) {
          var behind = waiting.kind === "answer" && items[waiting.payload.item_code];
          if (behind) setStatus(behind, msg("Offline"), "warn");
        });
        // A write that keeps failing goes to the back of the line, so it never holds up the
        // ones behind it; it is tried again in its turn.
        op.attempts = (op.attempts || 0) + 1;
        var setAside = op.attempts >= 3 && ops.length > 1 && !sessionEnded && op.kind !== "checkin";
        if (setAside) { op.created = Date.now(); op.attempts = 0; }
        (setAside ? store.put(op) : Promise.resolve()).then(function () { timer = setTimeout(kick, setAside ? 0 : backoff); });
      });
    }).catch(function () { sending = false; });
  }

  // A photo's marks follow the photo: while the photo itself waits in the outbox, so do they.
  function waitsForPhoto(op, all) {
    return op.kind === "markup" && !!op.photo_client_id &&
      all.some(function (other) { return other.kind === "photo" && other.client_id === op.photo_client_id; });
  }

  // A submit queued offline (or behind unsent writes) goes once everything before it is through;
  // the server answers in JSON: where to go next, or in words why it was not accepted.
  var leaving = false, submitProblem = null;
  function sendSubmit(op) {
    clearTimeout(copyTimer);
    return fetch(op.url, { method: "POST", credentials: "same-origin", body: new URLSearchParams(op.payload),
                           headers: { "Accept": "application/json" } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.status === 401) { signInAgain(data); return false; }
        if (res.status >= 500 || res.status === 429 || (res.ok && !data.redirect)) return false;
        return store.del(op.key).then(function () {
          if (data.redirect) { leaving = true; location.assign(data.redirect); return true; }
          showSubmitQueued(false);
          submitProblem = data.error || String(res.status);  // shown by refreshSyncLine until the next try
          return true;
        });
      });
    }, function () { return false; });
  }

  function send(op) {
    if (op.kind === "submit") return sendSubmit(op);
    if (op.kind === "photo") return sendPhoto(op);
    if (op.kind === "markup") return sendMarkup(op);
    if (op.kind === "signature") return sendSignature(op);
    if (op.kind === "checkin") {
      return fetch(op.url, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify(Object.assign({}, op.payload, { client_id: op.client_id })) }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          // 409 with the first check-in's time: the visit was checked in already (another tab or
          // device); that check-in stands and this phone simply goes on filling
          if (res.ok || (res.status === 409 && data.checkin_at)) {
            remember("_checkin", true);
            return finish(op).then(function () { return true; });
          }
          if (res.status >= 500 || res.status === 429) return false;
          if (res.status === 401) { signInAgain(data); return false; }
          // refused: stop here so the answers behind it wait instead of failing; check in again
          checkinFailed = true;
          var card = document.querySelector("[data-checkin-card]");
          if (card) { card.hidden = false; card.querySelector("[data-geo-status]").textContent = data.error || String(res.status); }
          root.classList.add("not-started");
          return store.del(op.key).then(function () { return true; });
        });
      }, function () { return false; });
    }
    var body = Object.assign({}, op.payload, { client_id: op.client_id });
    var el = op.kind === "answer" ? items[op.payload.item_code] : null;
    if (el) {
      body.base_version = parseInt(el.dataset.version || "0", 10);
      var sent = unconfirmed[op.key] = unconfirmed[op.key] || (op.supersedes || []).slice();
      if (sent.indexOf(op.client_id) < 0) sent.push(op.client_id);
      body.supersedes = sent.filter(function (id) { return id !== op.client_id; }).slice(-20);
    }
    return fetch(op.url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body) }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) { return handle(op, el, res.status, data); });
    }, function () {
      if (el) setStatus(el, msg("Offline"), "warn");
      return false;
    });
  }

  function finish(op) {
    // Drop the op only if it was not replaced by a newer change while it was in flight.
    return store.delIf(op.key, op.client_id).then(function () {
      localStorage.setItem("inspect-last-sync:" + owner, String(Date.now()));
    });
  }

  function handle(op, el, status, data) {
    if ((status === 200 || status === 201) && op.kind === "answer" && !data.answer) {
      return false;  // a reply cut short (or a captive portal's page): not a confirmation, retry
    }
    if (status === 200 || status === 201) {
      if (el && data.answer) {
        el.dataset.version = data.answer.version;
        remember(data.answer.item_code, data.answer);
        setStatus(el, msg("Saved"), "ok");
        delete unconfirmed[op.key];
      }
      if (op.kind === "timer") {
        refreshCopy();
        var t = (data.timers || {})[op.payload.name];
        var row = timerBox.querySelector('[data-timer-row="' + op.payload.name + '"]');
        row.dataset.at = t ? t.at : "";
        showTimer(op.payload.name, t ? t.at : null, false);
      }
      if (data.progress) showProgress(data.progress);
      return finish(op).then(function () { return true; });
    }
    if (status === 401) { signInAgain(data); return false; }
    if (status >= 500 || status === 0 || status === 429) { if (el) setStatus(el, msg("Offline"), "warn"); return false; }
    // 4xx: this write can never succeed as it is; show why and drop it.
    if (op.kind === "timer" && timerBox) {
      var r = timerBox.querySelector('[data-timer-row="' + op.payload.name + '"]');
      var saved = (data.timers || {})[op.payload.name];
      r.dataset.at = saved ? saved.at : "";
      showTimer(op.payload.name, saved ? saved.at : null, false);
      var err = timerBox.querySelector("[data-timer-error]");
      if (err) err.textContent = data.error || String(status);
    }
    if (el && status === 409 && "current" in data) {
      // Really changed elsewhere (another device, or a reviewer): nothing is thrown away. The
      // phone's answer waits in the outbox beside the stored one until the inspector chooses.
      var current = data.current || { item_code: op.payload.item_code, result: null, occurrences: null,
                                       scale_value: null, note: "", version: 0 };
      remember(current.item_code, current);
      op.conflict = current;
      return store.put(op).then(function () { showConflict(el, op); announce(); return true; });
    }
    if (el) setStatus(el, data.error || String(status), "bad");
    return store.del(op.key).then(function () { return true; });
  }

  // --- a conflict: both answers shown, the inspector chooses ---------------------------------
  function describe(el, a) {
    var text;
    if (a.result === "na") text = msg("Na");
    else if (el.dataset.rule === "per_occurrence" && a.occurrences != null) text = msg("Times").replace("{n}", a.occurrences);
    else if (el.dataset.rule === "scale" && a.scale_value != null) text = String(a.scale_value);
    else if (a.result === "pass") text = msg("Pass");
    else if (a.result === "fail") text = msg("Fail");
    else text = msg("Blank");
    return a.note ? text + " · “" + a.note + "”" : text;
  }
  function showConflict(el, op) {
    var box = el.querySelector("[data-conflict]");
    if (!box) {
      box = document.createElement("div");
      box.className = "conflict-box";
      box.setAttribute("data-conflict", "");
      box.setAttribute("role", "group");
      el.insertBefore(box, el.querySelector("[data-status]"));
    }
    box.innerHTML = "";
    box.dataset.version = op.conflict.version;
    function line(label, value) {
      var p = document.createElement("p"), b = document.createElement("b");
      p.textContent = label + ": ";
      b.textContent = value;
      p.appendChild(b);
      box.appendChild(p);
    }
    var head = document.createElement("p");
    head.className = "conflict-head";
    head.textContent = msg("ConflictTitle");
    box.appendChild(head);
    line(msg("Theirs"), describe(el, op.conflict));
    line(msg("Mine"), describe(el, op.payload.clear ? {} : op.payload));
    [["mine", msg("KeepMine"), "btn btn-small btn-primary"], ["theirs", msg("KeepTheirs"), "btn btn-small"]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button"; button.className = b[2]; button.dataset.keep = b[0]; button.textContent = b[1];
      box.appendChild(button);
    });
    setStatus(el, msg("Conflict"), "bad");
  }
  function resolveConflict(el, choice) {
    var key = "answer:" + owner + ":" + visitId + ":" + el.dataset.code;
    return store.all().then(function (ops) {
      var op = ops.filter(function (o) { return o.key === key && o.conflict; })[0];
      var box = el.querySelector("[data-conflict]");
      if (box) box.remove();
      if (!op) return;
      var theirs = op.conflict;
      el.dataset.version = theirs.version;  // the next write builds on what the server holds now
      if (choice === "theirs") {
        showAnswer(el, theirs);
        localAnswered();
        setStatus(el, msg("TookTheirs"), "ok");
        return store.del(op.key).then(function () { announce(); }).then(refreshSyncLine);
      }
      delete op.conflict;
      op.created = Date.now();
      setStatus(el, msg("Saving"), "pending");
      return store.put(op).then(function () { announce(); }).then(kick);
    });
  }
  root.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-keep]");
    if (btn) resolveConflict(btn.closest("article.item"), btn.dataset.keep);
  });

  // --- what the server holds: answers changed elsewhere, a visit submitted elsewhere ---------
  var stateBusy = false;
  function syncState() {
    if (stateBusy || following || sessionEnded || !navigator.onLine || !root.dataset.stateUrl) return;
    stateBusy = true;
    fetch(root.dataset.stateUrl, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (!data) return;
        return store.all().then(function (ops) {
          var waiting = {};
          ops.forEach(function (op) { if (op.kind === "answer") waiting[op.payload.item_code] = true; });
          Object.keys(data.answers || {}).forEach(function (code) {
            var a = data.answers[code], el = items[code];
            if (!el || waiting[code] || a.version <= parseInt(el.dataset.version || "0", 10)) return;
            showAnswer(el, a);
            remember(code, a);
            setStatus(el, msg("ChangedElsewhere"), "bad");
          });
          localAnswered();
          if (data.checkin_at && root.classList.contains("not-started") &&
              !ops.some(function (op) { return op.kind === "checkin"; })) {
            remember("_checkin", true);
            startedLocally();
          }
          if (!data.editable && !ops.some(function (op) { return op.kind === "submit"; })) {
            submittedElsewhere(data.detail);
          }
        });
      })
      .catch(function () { /* offline or a captive portal: nothing learned */ })
      .then(function () { stateBusy = false; });
  }
  function submittedElsewhere(detail) {
    role = "closed"; following = true;
    setInert(true);
    syncLine.hidden = false; syncLine.className = "sync-line bad"; syncLine.textContent = msg("SubmittedElsewhere") + " ";
    var link = document.createElement("a");
    link.href = detail; link.className = "btn btn-small"; link.textContent = msg("OpenVisit");
    syncLine.appendChild(link);
  }

  // --- one writer per visit on this phone ----------------------------------------------------
  // Two tabs of one visit would each send their own edits over the other's. The tab holding a Web
  // Lock writes; another tab only follows what it does (read from the shared outbox when told)
  // until the writer closes or is asked to hand over, and then takes over where it stands.
  var role = "pending", following = true;  // nothing is sent until this tab knows it is the writer
  var lockName = "inspect-visit:" + owner + ":" + visitId;
  var channel = window.BroadcastChannel ? new BroadcastChannel(lockName) : null;
  var followBar = document.querySelector("[data-follower]");
  var releaseLock = null;
  function announce(extra) { if (channel && role === "writer") channel.postMessage(Object.assign({ type: "changed" }, extra || {})); }
  function setInert(on) {
    [root, submitForm, checkinCard].forEach(function (node) { if (node) node.inert = on; });
    root.classList.toggle("is-following", on);
  }
  function follow() {
    role = "follower"; following = true;
    clearTimeout(timer);
    setInert(true);
    if (followBar) followBar.hidden = false;
    root.dataset.role = "follower";
  }
  function becomeWriter() {
    var wasFollowing = role === "follower";
    role = "writer"; following = false;
    setInert(false);
    if (followBar) followBar.hidden = true;
    root.dataset.role = "writer";
    started.then(function () { return wasFollowing ? applyKnown() : null; }).then(function () {
      if (window.inspectOutbox && navigator.onLine) window.inspectOutbox.key().catch(function () {});
      kick();
      syncState();
    });
  }
  function requestTurn() {
    navigator.locks.request(lockName, function () {
      becomeWriter();
      return new Promise(function (release) { releaseLock = release; });
    }).catch(function () { becomeWriter(); });
  }
  if (channel) {
    channel.onmessage = function (e) {
      var data = e.data || {};
      if (role === "follower" && data.type === "changed") {
        applyKnown().then(function () { if (data.photo) photoSaved(data.photo); });
      } else if (role === "writer" && data.type === "yield") {  // the inspector is in the other tab now
        follow();
        if (releaseLock) { releaseLock(); releaseLock = null; }
        requestTurn();  // and this one takes over again when that one closes
      }
    };
  }
  if (followBar) {
    followBar.querySelector("button").addEventListener("click", function () {
      if (channel) channel.postMessage({ type: "yield" });
    });
  }
  function claimWriting() {
    if (!navigator.locks) { becomeWriter(); return; }
    requestTurn();
    // a reload frees the old page's lock a moment after this one starts: wait that long first
    setTimeout(function () { if (role === "pending") follow(); }, 800);
  }

  // --- photos --------------------------------------------------------------------------------
  var prepare = window.InspectPhoto.prepare;
  function counterValue() { var c = document.querySelector("[data-detail=counter_number]"); return c ? c.value : undefined; }

  function photoFigure(el, op) {
    if (!el) return null;
    var fig = document.createElement("figure");
    fig.className = "thumb is-uploading";
    fig.dataset.clientId = op.client_id;
    var img = document.createElement("img");
    img.src = URL.createObjectURL(op.blob); img.width = 72; img.height = 72; img.alt = op.item_code || op.purpose;
    var prog = document.createElement("progress"); prog.max = 100; prog.value = 0;
    fig.appendChild(img); fig.appendChild(prog);
    if (markable(op)) fig.appendChild(markButton());
    var box = el;
    box.insertBefore(fig, box.querySelector(".photo-add"));
    return fig;
  }

  function photoSaved(photo) {
    var fig = root.querySelector('[data-client-id="' + photo.client_id + '"]');
    if (!fig || fig.classList.contains("is-saved")) return;
    fig.className = "thumb is-saved" + (fig.dataset.marked ? " is-marked" : "");
    fig.dataset.photoId = photo.id;
    if (photo.original) { fig.dataset.originalUrl = photo.original; fig.dataset.width = photo.width; fig.dataset.height = photo.height; }
    var del = document.createElement("button");
    del.type = "button"; del.className = "thumb-del"; del.textContent = "×";
    del.dataset.deleteUrl = photo["delete"];
    fig.appendChild(del);
    var p = fig.querySelector("progress"); if (p) p.remove();
  }
  function photoBox(op) {
    var key = op.item_code || ("_" + (op.purpose || "general"));
    return root.querySelector('[data-photo-key="' + key + '"]');
  }
  function addPhotos(el, files) {
    Array.prototype.forEach.call(files, function (file) {
      prepare(file).then(function (blob) {
        var purpose = el.dataset.purpose || "item";
        var op = { key: "photo:" + uid(), owner: owner, visit: visitId, kind: "photo", url: root.dataset.photoUrl,
                   item_code: purpose === "item" ? el.dataset.code : null, purpose: purpose, blob: blob,
                   client_id: uid(), created: Date.now() };
        op.key = "photo:" + op.client_id;
        photoFigure(photoBox(op), op);
        return store.put(op).then(kick);
      });
    });
  }

  function sendPhoto(op) {
    var box = photoBox(op);
    var el = op.item_code ? items[op.item_code] : null;
    var fig = box && box.querySelector('[data-client-id="' + op.client_id + '"]');
    if (box && !fig) fig = photoFigure(box, op);
    return new Promise(function (resolve) {
      var form = new FormData();
      form.append("file", op.blob, "photo.jpg");
      if (op.item_code) form.append("item_code", op.item_code);
      form.append("purpose", op.purpose || "item");
      form.append("client_id", op.client_id);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", op.url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) { if (fig && e.lengthComputable) fig.querySelector("progress").value = Math.round(e.loaded / e.total * 100); };
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
        if ((xhr.status === 200 || xhr.status === 201) && data.photo) {
          var saved = { client_id: op.client_id, id: data.photo.id, "delete": data.photo["delete"], original: data.photo.original,
                        width: data.photo.width, height: data.photo.height };
          photoSaved(saved);
          refreshCopy();  // the kept page shows the photo too
          announce({ photo: saved });
          if (el && el.dataset.photoTrouble) {  // a failure said so on the item: say it is over
            delete el.dataset.photoTrouble;
            setStatus(el, msg("Saved"), "ok");
          }
          finish(op).then(function () { resolve(true); });
        } else if (xhr.status >= 500 || xhr.status === 429 || xhr.status === 401 || xhr.status === 200 || xhr.status === 201) {
          if (fig) fig.className = "thumb is-failed";
          if (xhr.status === 401) signInAgain(data);
          // the server says why (507: its storage is full): shown in words; the photo waits here
          else if (data.error && el) { setStatus(el, data.error, "warn"); el.dataset.photoTrouble = "1"; }
          resolve(false);
        } else {
          if (fig) { fig.className = "thumb is-rejected"; fig.title = data.error || String(xhr.status); }
          if (el) setStatus(el, data.error || String(xhr.status), "bad");
          store.del(op.key).then(function () { resolve(true); });
        }
      };
      xhr.onerror = xhr.ontimeout = function () {
        if (fig) fig.className = "thumb is-failed";
        if (el) { setStatus(el, msg("PhotoFailed"), "warn"); el.dataset.photoTrouble = "1"; }
        resolve(false);
      };
      xhr.timeout = 120000;
      xhr.send(form);
    });
  }

  // --- marking up a finding's photo (标注) -----------------------------------------------------
  // The marked copy and its shapes go into the outbox like a photo; a photo marked while it still
  // waits to be sent is named by its client id, and its marks go after it (waitsForPhoto).
  function markable(op) { return !!root.dataset.markupUrl && (op.purpose || "item") === "item"; }
  function markButton() {
    var b = document.createElement("button");
    b.type = "button"; b.className = "thumb-mark"; b.textContent = "✎";
    b.setAttribute("aria-label", msg("MarkPhoto"));
    return b;
  }
  function markKey(fig) { return "markup:" + owner + ":" + visitId + ":" + (fig.dataset.clientId || "id" + fig.dataset.photoId); }
  function figureFor(op) {
    if (op.photo_client_id) {
      var byClient = root.querySelector('figure[data-client-id="' + op.photo_client_id + '"]');
      if (byClient) return byClient;
    }
    return op.photo_id ? root.querySelector('figure[data-photo-id="' + op.photo_id + '"]') : null;
  }
  function showMarked(fig, src, pending) {
    if (!fig) return;
    var img = fig.querySelector("img");
    if (img && src) img.src = src;
    fig.dataset.marked = "1";
    fig.classList.add("is-marked");
    fig.classList.toggle("is-mark-pending", !!pending);
  }
  function openMarkup(fig) {
    store.all().then(function (ops) {
      var photoOp = fig.dataset.clientId && ops.filter(function (o) { return o.kind === "photo" && o.client_id === fig.dataset.clientId; })[0];
      var queued = ops.filter(function (o) { return o.key === markKey(fig); })[0];
      var shapes = queued ? queued.shapes : (fig.dataset.shapes ? JSON.parse(fig.dataset.shapes) : null);
      if (!photoOp && !fig.dataset.originalUrl) return;
      window.InspectMarkup.open({
        blob: photoOp ? photoOp.blob : null, src: fig.dataset.originalUrl, shapes: shapes,
        onsave: function (blob, data) {
          var op = { key: markKey(fig), owner: owner, visit: visitId, kind: "markup", url: root.dataset.markupUrl,
                     photo_id: fig.dataset.photoId ? parseInt(fig.dataset.photoId, 10) : null,
                     photo_client_id: fig.dataset.clientId || null, blob: blob, shapes: data,
                     client_id: uid(), created: Date.now() };
          showMarked(fig, URL.createObjectURL(blob), true);
          store.put(op).then(function () { announce(); kick(); });
        }
      });
    });
  }
  function sendMarkup(op) {
    var fig = figureFor(op);
    var el = fig ? fig.closest("article.item") : null;
    return new Promise(function (resolve) {
      var form = new FormData();
      form.append("file", op.blob, "marked.jpg");
      form.append("shapes", JSON.stringify(op.shapes));
      if (op.photo_id) form.append("photo_id", op.photo_id);
      if (op.photo_client_id) form.append("photo_client_id", op.photo_client_id);
      form.append("client_id", op.client_id);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", op.url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
        if ((xhr.status === 200 || xhr.status === 201) && data.markup) {
          if (fig) { fig.dataset.shapes = JSON.stringify(data.markup.shapes); fig.classList.remove("is-mark-pending"); }
          refreshCopy();
          finish(op).then(function () { resolve(true); });
        } else if (xhr.status >= 500 || xhr.status === 429 || xhr.status === 401 || xhr.status === 200 || xhr.status === 201) {
          if (xhr.status === 401) signInAgain(data);
          resolve(false);
        } else {  // refused: these marks can never be taken as they are; say why, keep the photo
          if (fig) { fig.classList.remove("is-mark-pending"); fig.classList.add("is-mark-rejected"); fig.title = data.error || String(xhr.status); }
          if (el) setStatus(el, data.error || String(xhr.status), "bad");
          store.del(op.key).then(function () { resolve(true); });
        }
      };
      xhr.onerror = xhr.ontimeout = function () { resolve(false); };
      xhr.timeout = 120000;
      xhr.send(form);
    });
  }

  // --- the outlet's confirmation on site (现场签字确认) ----------------------------------------
  // The outlet's person signs on this phone (or refuses, with a reason); it waits in the outbox
  // like an answer, one per visit (signing again replaces what is not sent yet).
  var signCard = document.querySelector("[data-sign-card]");
  var signPad = signCard ? window.InspectSignature.attach(signCard.querySelector("[data-signature-pad]")) : null;
  function signKey() { return "signature:" + owner + ":" + visitId; }
  function showSigned(state, pending, problem) {
    var box = signCard.querySelector("[data-sign-current]");
    box.hidden = false;
    box.className = "sign-current" + (pending ? " is-pending" : "") + (problem ? " is-bad" : "");
    box.querySelector("[data-sign-who]").textContent = state.refused
      ? msg("SignRefused").replace("{name}", state.name).replace("{reason}", state.reason)
      : state.name + (state.post ? " · " + state.post : "");
    var img = box.querySelector("img");
    if (state.imageUrl) { img.src = state.imageUrl; img.hidden = false; } else { img.hidden = true; img.removeAttribute("src"); }
    box.querySelector("[data-sign-state]").textContent = problem || (pending ? msg("Offline") : msg("Saved"));
  }
  function signSay(text, kind) {
    var s = signCard.querySelector("[data-sign-status]");
    s.textContent = text || ""; s.className = "item-status" + (kind ? " " + kind : "");
  }
  if (signCard) {
    var refusedBox = signCard.querySelector("[data-sign-refused]");
    var refusedOnly = signCard.querySelector("[data-sign-refusal]"), signedOnly = signCard.querySelector("[data-sign-drawn]");
    refusedBox.addEventListener("change", function () {
      refusedOnly.hidden = !refusedBox.checked; signedOnly.hidden = refusedBox.checked;
      if (!refusedBox.checked) signPad.resize();
    });
    signCard.querySelector("[data-sign-save]").addEventListener("click", function () {
      var name = signCard.querySelector("[data-sign-name]").value.trim(), post = signCard.querySelector("[data-sign-post]").value.trim();
      var refused = refusedBox.checked, reason = signCard.querySelector("[data-sign-reason]").value.trim();
      if (!name) { signSay(msg("SignName"), "bad"); signCard.querySelector("[data-sign-name]").focus(); return; }
      if (refused && reason.length < 2) { signSay(msg("SignReason"), "bad"); return; }
      if (!refused && !signPad.isSignature()) { signSay(signPad.isEmpty() ? msg("SignEmpty") : msg("SignTooSmall"), "bad"); return; }
      (refused ? Promise.resolve(null) : signPad.toBlob()).then(function (blob) {
        var op = { key: signKey(), owner: owner, visit: visitId, kind: "signature", url: root.dataset.signatureUrl,
                   payload: { signer_name: name, signer_post: post, refused: refused ? "1" : "", refusal_reason: refused ? reason : "",
                              signed_at: new Date().toISOString() },
                   blob: blob, client_id: uid(), created: Date.now() };
        showSigned({ name: name, post: post, refused: refused, reason: reason, imageUrl: blob ? URL.createObjectURL(blob) : null }, true);
        signSay("", "");
        signPad.clear();
        return store.put(op).then(function () { announce(); kick(); });
      });
    });
  }
  function sendSignature(op) {
    var form = new FormData();
    Object.keys(op.payload).forEach(function (k) { form.append(k, op.payload[k]); });
    form.append("signature_client_id", op.client_id);
    if (op.blob) form.append("signature", op.blob, "signature.png");
    return fetch(op.url, { method: "POST", credentials: "same-origin", body: form,
                           headers: { "X-CSRFToken": csrf, "Accept": "application/json" } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.ok && data.signature) {
          var sig = data.signature;
          if (signCard) showSigned({ name: sig.name, post: sig.post, refused: sig.refused, reason: sig.reason, imageUrl: sig.image }, false);
          refreshCopy();
          return finish(op).then(function () { return true; });
        }
        if (res.status === 401) { signInAgain(data); return false; }
        if (res.status >= 500 || res.status === 429 || res.ok) return false;
        if (signCard) {  // refused: said on the card, the person signs again
          showSigned({ name: op.payload.signer_name, post: op.payload.signer_post, refused: !!op.payload.refused,
                       reason: op.payload.refusal_reason }, false, data.error || String(res.status));
          signSay(data.error || String(res.status), "bad");
        }
        return store.del(op.key).then(function () { return true; });
      });
    }, function () { return false; });
  }

  // --- events --------------------------------------------------------------------------------
  root.addEventListener("click", function (e) {
    var btn = e.target.closest("button");
    if (!btn) return;
    var el = btn.closest("article.item");
    if (btn.classList.contains("thumb-mark")) { openMarkup(btn.closest("figure")); return; }
    if (btn.classList.contains("thumb-del")) {
      if (!window.confirm(msg("Delete"))) return;
      var fig = btn.closest("figure");
      fetch(btn.dataset.deleteUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
        .then(function (res) { if (res.ok) fig.remove(); });
      return;
    }
    if (!el) return;
    if (btn.dataset.set) {
      el.dataset.result = btn.dataset.set;
      if (el.dataset.rule === "per_occurrence") el.dataset.occurrences = btn.dataset.set === "pass" ? "0" : "";
    } else if (btn.dataset.step) {
      var n = Math.max(0, Math.min(99, parseInt(el.dataset.occurrences || "0", 10) + parseInt(btn.dataset.step, 10)));
      el.dataset.occurrences = String(n);
      el.dataset.result = n > 0 ? "fail" : "pass";
    } else if (btn.dataset.scaleValue !== undefined) {
      el.dataset.scale = btn.dataset.scaleValue;
      el.dataset.result = "";
    } else {
      return;
    }
    paint(el);
    localAnswered();
    queueAnswer(el);
    if (isFail(el)) { var note = el.querySelector("[data-note]"); if (note && !note.value) note.focus({ preventScroll: true }); }
  });
  // Typing goes into the outbox at once (durable even if the tab dies mid-word); only the sending
  // waits for a pause in the typing.
  var typingTimer = null;
  root.addEventListener("input", function (e) {
    var queued = null;
    if (e.target.matches("[data-note], [data-staff]")) {
      var el = e.target.closest("article.item");
      if (el.dataset.result || el.dataset.occurrences || el.dataset.scale) queued = queueAnswer(el, true);
    } else if (e.target.matches("[data-summary]")) {
      queued = root.dataset.detailsUrl ? queueDetails({ summary: e.target.value, counter_number: counterValue() }, true)
                                       : queueSummary(e.target.value, true);
      var count = document.querySelector("[data-summary-count]");
      if (count) count.textContent = e.target.value.trim().length;
    } else if (e.target.matches("[data-detail]")) {
      queued = queueDetails({ summary: (document.querySelector("[data-summary]") || {}).value || "", counter_number: counterValue() }, true);
    }
    if (queued) {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(kick, 700);
    }
  });
  window.addEventListener("pagehide", kick);
  root.addEventListener("change", function (e) {
    if (e.target.matches("[data-photo-input]") && e.target.files.length) {
      addPhotos(e.target.closest("[data-photo-owner]"), e.target.files);
      e.target.value = "";
    }
  });
  // "Next unanswered": the first unanswered item after the one in view (wrapping round), scrolled
  // to and focused, so a thumb can answer it at once.
  var progressLine = bar.querySelector(".sync-line");
  document.querySelector("[data-next]").addEventListener("click", function () {
    var open = Object.keys(items).map(function (k) { return items[k]; }).filter(function (el) {
      return el.dataset.rule !== "timer" && !answered(el);
    });
    if (!open.length) {
      progressLine.hidden = false; progressLine.textContent = msg("AllAnswered"); progressLine.className = "sync-line ok";
      return;
    }
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("article.item");
    var next = open[0];
    if (focused) {
      var after = open.filter(function (el) { return focused.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING; });
      if (after.length) next = after[0];
    }
    next.scrollIntoView({ behavior: "smooth", block: "center" });
    var target = next.querySelector(".choice");
    if (target) target.focus({ preventScroll: true });
  });

  // 回头看: only the items that failed here in the last visits or are still being rectified, or
  // every item again. Marks and findings are in the page itself, so this works offline too.
  var pastFilter = document.querySelector("[data-past-filter]");
  if (pastFilter) pastFilter.addEventListener("click", function () {
    var only = root.classList.toggle("only-past");
    pastFilter.setAttribute("aria-pressed", only ? "true" : "false");
    pastFilter.textContent = only ? pastFilter.dataset.msgAll : pastFilter.dataset.msgOnly;
    if (only) root.scrollIntoView({ block: "start" });
  });

  // "All pass in this section": every item of the section not answered yet is marked passed (a
  // scale at its best value); answers already given are never touched. Undo takes back exactly
  // those items that still hold what the button set.
  root.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-section-pass], [data-undo]");
    if (!btn) return;
    var section = btn.closest("[data-section]");
    var undoBar = section.querySelector("[data-section-undo]");
    if (btn.hasAttribute("data-undo")) {
      (section._passed || []).forEach(function (mark) {
        var el = items[mark.code];
        if (el.dataset.result !== mark.result || el.dataset.occurrences !== mark.occurrences || el.dataset.scale !== mark.scale) return;
        el.dataset.result = ""; el.dataset.occurrences = ""; el.dataset.scale = "";
        paint(el); queueAnswer(el);
      });
      section._passed = [];
      undoBar.hidden = true;
      localAnswered();
      return;
    }
    var marked = [];
    Array.prototype.forEach.call(section.querySelectorAll("article.item"), function (el) {
      if (el.dataset.rule === "timer" || answered(el)) return;
      if (el.dataset.rule === "scale") {
        var values = el.querySelectorAll("[data-scale-value]");
        el.dataset.scale = values[values.length - 1].dataset.scaleValue;
      } else {
        el.dataset.result = "pass";
        if (el.dataset.rule === "per_occurrence") el.dataset.occurrences = "0";
      }
      paint(el); queueAnswer(el);
      marked.push({ code: el.dataset.code, result: el.dataset.result, occurrences: el.dataset.occurrences, scale: el.dataset.scale });
    });
    section._passed = marked;
    localAnswered();
    undoBar.querySelector("[data-undo-text]").textContent = marked.length ? msg("SectionDone").replace("{n}", marked.length) : msg("SectionNone");
    undoBar.querySelector("[data-undo]").hidden = !marked.length;
    undoBar.hidden = false;
  });
  window.addEventListener("online", function () { kick(); syncState(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { kick(); syncState(); } });
  window.addEventListener("focus", function () { kick(); syncState(); });
  window.addEventListener("beforeunload", function (e) {
    if (pendingCount > 0 && !leaving && !window.inspectLeaving) { e.preventDefault(); e.returnValue = msg("Unsent"); return msg("Unsent"); }
  });
  var submitForm = document.querySelector("[data-submit-form]");
  function showSubmitQueued(queued) {
    var button = submitForm.querySelector("button");
    button.disabled = !!queued;
    root.dataset.submitQueued = queued ? "1" : "";
  }
  submitForm.addEventListener("submit", function (e) {
    if (e.defaultPrevented) return;  // not confirmed
    // Offline, or writes still waiting: the submit joins the outbox and goes after them, instead of
    // landing on an error page or listing unsent answers as missing.
    if (pendingCount > 0 || !navigator.onLine) {
      e.preventDefault();
      submitForm.dataset.submitting = "";
      submitProblem = null;
      var payload = {};
      new FormData(submitForm).forEach(function (value, name) { payload[name] = value; });
      store.put({ key: "submit:" + owner + ":" + visitId, owner: owner, visit: visitId, kind: "submit",
                  url: submitForm.action, payload: payload, client_id: uid(), created: Date.now() })
        .then(function () { showSubmitQueued(true); kick(); });
    }
  });

  // --- check-in from this page (works offline: it waits in the outbox before the answers) ------
  var checkinCard = document.querySelector("[data-checkin-card]");
  function startedLocally() {
    root.classList.remove("not-started");
    if (checkinCard) checkinCard.hidden = true;
  }
  if (checkinCard) {
    var geo = null;
    var status = checkinCard.querySelector("[data-geo-status]");
    var reasonBox = checkinCard.querySelector("[data-geo-reason]");
    var reason = checkinCard.querySelector("#checkin-reason");
    var farBox = checkinCard.querySelector("[data-geo-far]");
    var farReason = checkinCard.querySelector("#checkin-far-reason");
    function queueCheckin() {
      var payload = { at: new Date().toISOString(), checklist_version_id: parseInt(root.dataset.versionId, 10) };
      if (geo) {
        payload.lat = geo.latitude; payload.lon = geo.longitude; payload.accuracy = Math.round(geo.accuracy);
        // far from the outlet: told here, the reason travels with the check-in (offline too)
        var place = window.checkinPlace(checkinCard, payload.lat, payload.lon, payload.accuracy);
        if (place && place.far) {
          if (farBox.hidden) {
            farBox.hidden = false;
            farBox.querySelector("[data-geo-far-text]").textContent = checkinCard.dataset.msgFar
              .replace("{m}", Math.round(place.meters)).replace("{r}", place.radius);
            farReason.focus();
            return;
          }
          if (farReason.value.trim().length < 2) { farReason.focus(); return; }
          payload.far_reason = farReason.value.trim();
        }
      } else {
        if (reason.value.trim().length < 2) { reasonBox.hidden = false; status.textContent = msg("Reason"); reason.focus(); return; }
        payload.reason = reason.value.trim();
      }
      checkinFailed = false;
      store.put({ key: "checkin:" + owner + ":" + visitId, owner: owner, visit: visitId, kind: "checkin",
                  url: root.dataset.checkinUrl, payload: payload, client_id: uid(), created: Date.now() }).then(kick);
      startedLocally();
    }
    checkinCard.querySelector("[data-checkin-go]").addEventListener("click", function () {
      if (geo || !reasonBox.hidden || !navigator.geolocation) { queueCheckin(); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        geo = pos.coords;
        status.textContent = msg("GeoOk").replace("{a}", Math.round(geo.accuracy));
        queueCheckin();
      }, function (err) {
        reasonBox.hidden = false;
        // err.message is the browser's own English: the page says why in its language, by the code
        var why = { 1: "GeoDenied", 2: "GeoUnavailable", 3: "GeoTimeout" }[err && err.code] || "GeoUnavailable";
        status.textContent = msg("GeoFail").replace("{e}", msg(why));
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // --- start: what the server confirmed since this copy was made, then what still waits -------
  // (also run by a tab that follows the writer, each time the writer says something changed)
  function applyKnown() {
    var known = readConfirmed();
    if (known._checkin) startedLocally();
    Object.keys(items).forEach(function (code) {
      var a = known[code], el = items[code];
      if (a && a.version > parseInt(el.dataset.version || "0", 10)) { showAnswer(el, a); setStatus(el, "", ""); }
    });
    return store.all().then(function (ops) {
      ops.forEach(function (op) {
        if (op.kind === "checkin") { startedLocally(); return; }
        if (op.kind === "answer" && items[op.payload.item_code]) {
          var el = items[op.payload.item_code], p = op.payload;
          el.dataset.result = p.result || "";
          el.dataset.occurrences = p.occurrences == null ? "" : String(p.occurrences);
          el.dataset.scale = p.scale_value == null ? "" : String(p.scale_value);
          var note = el.querySelector("[data-note]"); if (note) note.value = p.note || "";
          showStaff(el, p.staff_id);
          paint(el);
          if (op.conflict) showConflict(el, op);
          else setStatus(el, msg("Offline"), "warn");
        } else if (op.kind === "summary") {
          document.querySelector("[data-summary]").value = op.payload.summary;
        } else if (op.kind === "photo") {
          var box = photoBox(op);
          if (box && !box.querySelector('[data-client-id="' + op.client_id + '"]')) photoFigure(box, op);
        } else if (op.kind === "markup") {
          showMarked(figureFor(op), URL.createObjectURL(op.blob), true);
        } else if (op.kind === "signature" && signCard) {
          showSigned({ name: op.payload.signer_name, post: op.payload.signer_post, refused: !!op.payload.refused,
                       reason: op.payload.refusal_reason, imageUrl: op.blob ? URL.createObjectURL(op.blob) : null }, true);
        } else if (op.kind === "timer") {
          showTimer(op.payload.name, op.payload.clear ? null : op.payload.at, true);
        } else if (op.kind === "details") {
          var counter = document.querySelector("[data-detail=counter_number]");
          if (counter && op.payload.counter_number !== undefined) counter.value = op.payload.counter_number;
          var summary = document.querySelector("[data-summary]");
          if (summary && op.payload.summary !== undefined) summary.value = op.payload.summary;
        }
      });
      localAnswered();
      return refreshSyncLine();
    });
  }
  var outboxReady = (window.inspectOutbox && window.inspectOutbox.ready) || Promise.resolve();
  var started = outboxReady.then(applyKnown).then(function () {
    root.dataset.ready = "1";  // the outbox is read: "pending" from here on is the phone's own count
  });
  claimWriting();
  setInterval(function () { if (!document.hidden) syncState(); }, 30000);
})();
