// A signature pad of our own: pointer events on a canvas (a finger, a stylus or a mouse), strokes
// kept as points so the pad can be redrawn at any size, clear to sign again. It refuses what is
// no signature (an empty box, a tap, a dot) before anything is sent; the server checks again.
//
// Forms with a pad ([data-signed-form]) put the PNG into their hidden field signature_png when
// sent, and go through this person's outbox on the phone (the one visit.js uses, sealed at logout
// by app.js): sent at once when there is network, kept and sent by app.js when it is back.
(function () {
  "use strict";
  var MIN_SPAN = 24, MIN_LENGTH = 40;  // CSS pixels: a tap or a dot is no signature

  function Pad(box) {
    this.box = box;
    this.canvas = box.querySelector("canvas");
    this.strokes = [];
    this.current = null;
    this.onchange = null;
    var self = this;
    this.resize();
    window.addEventListener("resize", function () { self.resize(); });
    var c = this.canvas;
    c.style.touchAction = "none";  // the finger draws; the page does not scroll under it
    c.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      if (c.setPointerCapture) { try { c.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ } }
      self.current = [self.point(e)];
      self.strokes.push(self.current);
      self.draw();
    });
    c.addEventListener("pointermove", function (e) {
      if (!self.current) return;
      e.preventDefault();
      var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      if (!events.length) events = [e];
      events.forEach(function (ev) { self.current.push(self.point(ev)); });
      self.draw();
    });
    function end() {
      if (!self.current) return;
      self.current = null;
      if (self.onchange) self.onchange();
    }
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("pointerleave", end);
  }
  Pad.prototype.point = function (e) {
    var r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  // The canvas takes its box's width in device pixels (sharp on a 2× phone); strokes are in CSS
  // pixels and drawn again after a resize (a phone turned on its side).
  Pad.prototype.resize = function () {
    var width = this.box.clientWidth || 320, height = Math.round(Math.min(220, Math.max(140, width * 0.45)));
    var ratio = window.devicePixelRatio || 1;
    this.canvas.style.width = width + "px";
    this.canvas.style.height = height + "px";
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.ratio = ratio;
    this.draw();
  };
  Pad.prototype.draw = function () {
    var ctx = this.canvas.getContext("2d"), r = this.ratio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = 2.6; ctx.strokeStyle = "#111"; ctx.fillStyle = "#111";
    this.strokes.forEach(function (points) {
      if (points.length === 1) {
        ctx.beginPath(); ctx.arc(points[0][0], points[0][1], 1.3, 0, Math.PI * 2); ctx.fill();
        return;
      }
      ctx.beginPath();
      ctx.moveTo(points[0][0], points[0][1]);
      for (var i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    });
  };
  Pad.prototype.clear = function () { this.strokes = []; this.current = null; this.draw(); if (this.onchange) this.onchange(); };
  Pad.prototype.isEmpty = function () { return !this.strokes.length; };
  // Enough ink to be a signature: it spans some width and its strokes have some length.
  Pad.prototype.isSignature = function () {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, length = 0;
    this.strokes.forEach(function (points) {
      points.forEach(function (p, i) {
        minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]); minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]);
        if (i) length += Math.hypot(p[0] - points[i - 1][0], p[1] - points[i - 1][1]);
      });
    });
    return this.strokes.length > 0 && Math.max(maxX - minX, maxY - minY) >= MIN_SPAN && length >= MIN_LENGTH;
  };
  Pad.prototype.toBlob = function () {
    var canvas = this.canvas;
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); });
  };
  Pad.prototype.toDataURL = function () { return this.canvas.toDataURL("image/png"); };

  function attach(box) {
    if (box._pad) return box._pad;
    var pad = box._pad = new Pad(box);
    var clear = box.querySelector("[data-signature-clear]");
    if (clear) clear.addEventListener("click", function () { pad.clear(); });
    return pad;
  }

  function uid() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- forms with a pad: the 签收 of a notice, the on-site 复查 of a line -----------------------
  function signedForm(form) {
    var box = form.querySelector("[data-signature-pad]");
    if (!box) return;
    var pad = attach(box);
    var status = form.querySelector("[data-signature-status]");
    var toggle = form.querySelector("[data-signature-when]");  // the pad only matters when this is ticked
    var section = form.querySelector("[data-signature-section]");
    function shown() { return !toggle || toggle.checked; }
    function showSection() { if (section) section.hidden = !shown(); if (!section.hidden) pad.resize(); }
    if (toggle && section) { toggle.addEventListener("change", showSection); showSection(); }
    function say(text) { if (status) { status.textContent = text; status.className = "item-status bad"; } }
    form.addEventListener("submit", function (e) {
      var required = form.dataset.signatureRequired === "1" && shown();
      form.querySelector("[name=signature_png]").value = "";
      if (shown() && !pad.isEmpty()) {
        if (!pad.isSignature()) { e.preventDefault(); form.dataset.submitting = ""; say(box.dataset.msgTooSmall); return; }
        form.querySelector("[name=signature_png]").value = pad.toDataURL();
        form.querySelector("[name=signed_at]").value = new Date().toISOString();
      } else if (required) {
        e.preventDefault(); form.dataset.submitting = ""; say(box.dataset.msgEmpty); return;
      }
      var idField = form.querySelector("[name=signature_client_id]");
      if (idField && !idField.value) idField.value = uid();
      if (!window.inspectOutbox || !window.inspectOutbox.queueForm || !window.indexedDB) return;  // a plain post
      // Nothing signed and the network there: a plain post (nothing on this phone to keep safe).
      if (navigator.onLine && !form.querySelector("[name=signature_png]").value) return;
      // Kept on this phone first, then sent from there (app.js): with no network it waits and goes
      // when the network is back; with the same client id a form that did arrive is not done twice.
      e.preventDefault();
      var fields = {};
      new FormData(form).forEach(function (value, name) { if (typeof value === "string") fields[name] = value; });
      var outbox = window.inspectOutbox;
      outbox.queueForm(form.action, fields, form.dataset.signedLabel || "").then(function (op) {
        return outbox.flushForms(op.key);
      }).then(function (outcome) {
        if (outcome === "sent") return;  // the page goes on where the form leads
        form.dataset.submitting = "";
        Array.prototype.forEach.call(form.querySelectorAll("[aria-busy]"), function (b) { b.removeAttribute("aria-busy"); });
        if (outcome.indexOf("refused:") === 0) {
          say(outcome.slice(8));
          if (idField) idField.value = "";  // corrected and sent again, it is a new signing
          return;
        }
        var queued = form.querySelector("[data-signature-queued]");
        if (queued) queued.hidden = false;
        Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
      }, function () { say(box.dataset.msgFailed); form.dataset.submitting = ""; });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-signed-form]"), signedForm);

  window.InspectSignature = { attach: attach };
})();
