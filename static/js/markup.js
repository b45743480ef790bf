// Marking up a finding's photo (标注): circles, arrows and a short text label, drawn with a finger
// on a canvas of our own. The photo itself is never changed: the editor gives back a marked copy
// (JPEG) and the shapes as data in the photo's own pixel coordinates, so the marks can be drawn
// again (and edited again: the editor opens with the shapes it was given).
//
// Shapes: {type: "circle", x, y, r} (centre and radius), {type: "arrow", x1, y1, x2, y2} (from the
// tail to the tip), {type: "text", x, y, text} (the label's left end, vertically centred); each
// with color "#rrggbb". The data sent is {w, h, shapes}: the picture's natural size.
(function () {
  "use strict";
  var EXPORT_EDGE = 2048, QUALITY = 0.88;
  var editor = document.querySelector("[data-markup-editor]");
  if (!editor) return;
  var stage = editor.querySelector(".markup-stage"), canvas = stage.querySelector("canvas");
  var hint = editor.querySelector("[data-markup-hint]"), textInput = editor.querySelector("[data-markup-text]");
  var msg = function (key) { return editor.dataset["msg" + key] || key; };
  var state = null;  // {image, w, h, shapes, tool, colour, drag, onsave, url}

  function lineWidth(w, h) { return Math.max(3, Math.round(Math.max(w, h) * 0.006)); }
  function fontSize(w, h) { return Math.max(16, Math.round(Math.max(w, h) * 0.04)); }

  function drawShape(ctx, s, w, h) {
    var lw = lineWidth(w, h);
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = lw; ctx.lineCap = "round"; ctx.lineJoin = "round";
    if (s.type === "circle") {
      ctx.beginPath(); ctx.arc(s.x, s.y, s.r, 0, Math.PI * 2); ctx.stroke();
    } else if (s.type === "arrow") {
      var angle = Math.atan2(s.y2 - s.y1, s.x2 - s.x1), head = lw * 5;
      ctx.beginPath(); ctx.moveTo(s.x1, s.y1); ctx.lineTo(s.x2, s.y2); ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(s.x2, s.y2);
      ctx.lineTo(s.x2 - head * Math.cos(angle - Math.PI / 7), s.y2 - head * Math.sin(angle - Math.PI / 7));
      ctx.lineTo(s.x2 - head * Math.cos(angle + Math.PI / 7), s.y2 - head * Math.sin(angle + Math.PI / 7));
      ctx.closePath(); ctx.fill();
    } else if (s.type === "text") {
      ctx.font = fontSize(w, h) + "px sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
      ctx.lineWidth = Math.max(2, lw * 0.8); ctx.strokeStyle = s.color === "#ffffff" ? "#000000" : "#ffffff";
      ctx.strokeText(s.text, s.x, s.y); ctx.fillText(s.text, s.x, s.y);
    }
  }
  // The picture and its marks onto a canvas of the given size (the editor's view or the copy).
  function render(target, scale, extra) {
    var ctx = target.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, target.width, target.height);
    ctx.drawImage(state.image, 0, 0, target.width, target.height);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    state.shapes.concat(extra ? [extra] : []).forEach(function (s) { drawShape(ctx, s, state.w, state.h); });
  }
  function fit() {
    var maxW = stage.clientWidth || window.innerWidth, maxH = Math.max(200, window.innerHeight * 0.62);
    var cssW = Math.min(maxW, maxH * state.w / state.h), cssH = cssW * state.h / state.w;
    var ratio = window.devicePixelRatio || 1;
    canvas.style.width = Math.round(cssW) + "px"; canvas.style.height = Math.round(cssH) + "px";
    canvas.width = Math.round(cssW * ratio); canvas.height = Math.round(cssH * ratio);
    redraw();
  }
  function redraw(extra) { if (state) render(canvas, canvas.width / state.w, extra); }
  function at(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * state.w / r.width, y: (e.clientY - r.top) * state.h / r.height };
  }
  function say(text) { hint.textContent = text || ""; }

  function pending(p0, p1) {
    var d = Math.hypot(p1.x - p0.x, p1.y - p0.y), small = Math.max(state.w, state.h) * 0.02;
    if (state.tool === "circle") {
      if (d < small) return { type: "circle", x: p0.x, y: p0.y, r: Math.round(Math.max(state.w, state.h) * 0.06), color: state.colour };
      return { type: "circle", x: (p0.x + p1.x) / 2, y: (p0.y + p1.y) / 2, r: d / 2, color: state.colour };
    }
    if (state.tool === "arrow") {
      return d < small ? null : { type: "arrow", x1: p0.x, y1: p0.y, x2: p1.x, y2: p1.y, color: state.colour };
    }
    return null;
  }
  function round(s) {
    var out = {};
    Object.keys(s).forEach(function (k) { out[k] = typeof s[k] === "number" ? Math.round(s[k] * 10) / 10 : s[k]; });
    return out;
  }
  canvas.style.touchAction = "none";
  canvas.addEventListener("pointerdown", function (e) {
    if (!state) return;
    e.preventDefault();
    if (canvas.setPointerCapture) { try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic */ } }
    var p = at(e);
    if (state.tool === "text") {
      var text = (textInput.value || "").trim();
      if (!text) { say(msg("NeedText")); textInput.focus(); return; }
      state.shapes.push(round({ type: "text", x: p.x, y: p.y, text: text.slice(0, 20), color: state.colour }));
      say(""); redraw();
      return;
    }
    state.drag = p;
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!state || !state.drag) return;
    e.preventDefault();
    redraw(pending(state.drag, at(e)));
  });
  function finish(e) {
    if (!state || !state.drag) return;
    var shape = pending(state.drag, at(e));
    state.drag = null;
    if (shape) { state.shapes.push(round(shape)); say(""); }
    else if (state.tool === "arrow") say(msg("ArrowHint"));
    redraw();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", function () { if (state) { state.drag = null; redraw(); } });

  function press(selector, attr, value) {
    Array.prototype.forEach.call(editor.querySelectorAll(selector), function (b) {
      b.setAttribute("aria-pressed", b.dataset[attr] === value ? "true" : "false");
    });
  }
  editor.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b || !state) return;
    if (b.dataset.tool) {
      state.tool = b.dataset.tool; press("[data-tool]", "tool", state.tool);
      textInput.hidden = state.tool !== "text";
      if (state.tool === "text") textInput.focus();
      say(state.tool === "text" ? msg("TextHint") : "");
    } else if (b.dataset.colour) {
      state.colour = b.dataset.colour; press("[data-colour]", "colour", state.colour);
    } else if (b.hasAttribute("data-markup-undo")) {
      state.shapes.pop(); redraw();
    } else if (b.hasAttribute("data-markup-cancel")) {
      close();
    } else if (b.hasAttribute("data-markup-save")) {
      save();
    }
  });
  function save() {
    if (!state.shapes.length) { say(msg("Nothing")); return; }
    var s = Math.min(1, EXPORT_EDGE / Math.max(state.w, state.h));
    var out = document.createElement("canvas");
    out.width = Math.round(state.w * s); out.height = Math.round(state.h * s);
    render(out, s);
    var done = state.onsave, data = { w: state.w, h: state.h, shapes: state.shapes.slice() };
    out.toBlob(function (blob) {
      if (!blob) { say(msg("LoadFailed")); return; }
      close();
      done(blob, data);
    }, "image/jpeg", QUALITY);
  }
  function close() {
    editor.hidden = true;
    document.documentElement.classList.remove("markup-open");
    if (state && state.url) URL.revokeObjectURL(state.url);
    state = null;
  }
  window.addEventListener("resize", function () { if (state) fit(); });

  // Open the editor on a picture (a Blob still on the phone, or the URL of the photo as taken) with
  // the marks it has so far (in that picture's coordinates). ``onsave(blob, {w, h, shapes})``.
  function open(options) {
    var image = new Image(), url = options.blob ? URL.createObjectURL(options.blob) : null;
    say(msg("Loading"));
    editor.hidden = false;
    document.documentElement.classList.add("markup-open");
    image.onload = function () {
      var w = image.naturalWidth, h = image.naturalHeight, shapes = [];
      var given = options.shapes;
      if (given && given.w && given.shapes) {  // drawn on this photo before: scaled to this picture
        var k = w / given.w;
        shapes = given.shapes.map(function (s) {
          var c = {};
          Object.keys(s).forEach(function (key) { c[key] = typeof s[key] === "number" && key !== "color" ? s[key] * k : s[key]; });
          return round(c);
        });
      }
      state = { image: image, w: w, h: h, shapes: shapes, tool: "circle", colour: "#e11d48", drag: null,
                onsave: options.onsave, url: url };
      press("[data-tool]", "tool", "circle"); press("[data-colour]", "colour", "#e11d48");
      textInput.hidden = true; textInput.value = "";
      say(msg("CircleHint"));
      fit();
    };
    image.onerror = function () { say(msg("LoadFailed")); state = { shapes: [], url: url }; };
    image.src = url || options.src;
  }
  editor.dataset.ready = "1";
  window.InspectMarkup = { open: open, close: close };
})();
