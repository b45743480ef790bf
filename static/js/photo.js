// Photos on the phone: downscale before sending (long edge 2048, JPEG, every photo the browser can
// draw goes up at ≤ 500 KB: encodeUnder) while keeping the original's EXIF (capture time, place, device), so the
// server still reads them. Shared by the visit page and the rectification answer page.
(function () {
  "use strict";
  var MAX_EDGE = 2048, SMALL = 500 * 1024;
  // Tried in turn until the JPEG fits under SMALL; if none does, the picture shrinks and they are
  // tried again (a busy 12 MP scene at 0.8 came to 545 KB).
  var QUALITIES = [0.8, 0.7, 0.6, 0.5], SHRINK = 0.8, MIN_EDGE = 800;

  function readBuffer(blob) {
    if (blob.arrayBuffer) return blob.arrayBuffer();
    return new Promise(function (resolve) { var r = new FileReader(); r.onload = function () { resolve(r.result); }; r.readAsArrayBuffer(blob); });
  }
  function exifSegment(buf) {
    var v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return null;
    var off = 2;
    while (off + 10 < v.byteLength) {
      var marker = v.getUint16(off), len = v.getUint16(off + 2);
      if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) return new Uint8Array(buf.slice(off, off + 2 + len));
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) break;
      off += 2 + len;
    }
    return null;
  }
  function resetOrientation(seg) {
    try {
      var v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength), tiff = 10;
      var little = v.getUint16(tiff) === 0x4949, ifd = tiff + v.getUint32(tiff + 4, little), n = v.getUint16(ifd, little);
      for (var i = 0; i < n; i++) {
        var e = ifd + 2 + i * 12;
        if (v.getUint16(e, little) === 0x0112) v.setUint16(e + 8, 1, little);
      }
    } catch (err) { /* an odd EXIF block: keep it as it is */ }
  }
  // The size rule: a JPEG of the upright picture, long edge ≤ MAX_EDGE, ≤ SMALL bytes. Each try is
  // encoded and its blob's size checked: quality steps down first, then the picture shrinks.
  // Resolves null when the browser cannot encode at all.
  function encodeUnder(picture, width, height) {
    var scale = Math.min(1, MAX_EDGE / Math.max(width, height));
    function draw() {
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale)); canvas.height = Math.max(1, Math.round(height * scale));
      canvas.getContext("2d").drawImage(picture, 0, 0, canvas.width, canvas.height);
      return canvas;
    }
    function attempt(canvas, step) {
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITIES[step]); }).then(function (blob) {
        if (!blob || blob.size <= SMALL) return blob;
        if (step + 1 < QUALITIES.length) return attempt(canvas, step + 1);
        if (Math.max(canvas.width, canvas.height) * SHRINK < MIN_EDGE) return blob;  // small enough to read
        scale *= SHRINK;
        return attempt(draw(), 0);
      });
    }
    return attempt(draw(), 0);
  }
  // The browser draws the photo (upright): createImageBitmap, else an <img>; null when it cannot
  // (a HEIC in a browser without a HEIC decoder): then the original goes and the server converts it.
  function decode(file) {
    function viaImg() {
      return new Promise(function (resolve) {
        var img = new Image(), url = URL.createObjectURL(file);
        img.onload = function () { resolve({ picture: img, width: img.naturalWidth, height: img.naturalHeight, done: function () { URL.revokeObjectURL(url); } }); };
        img.onerror = function () { URL.revokeObjectURL(url); resolve(null); };
        img.src = url;
      });
    }
    if (!window.createImageBitmap) return viaImg();
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      return { picture: bmp, width: bmp.width, height: bmp.height, done: function () { bmp.close && bmp.close(); } };
    }, viaImg);
  }
  // Downscale on the phone (encodeUnder) and keep the original's EXIF (time, place, device) so the
  // server still reads them; the pixels are already upright, so orientation → 1.
  function prepare(file) {
    return readBuffer(file).then(function (buf) {
      var seg = exifSegment(buf);
      return decode(file).then(function (drawn) {
        if (!drawn) return file;
        if (drawn.width <= MAX_EDGE && drawn.height <= MAX_EDGE && file.size <= SMALL && /^image\/(jpeg|png|webp)$/.test(file.type)) { drawn.done(); return file; }
        return encodeUnder(drawn.picture, drawn.width, drawn.height).then(function (blob) {
          drawn.done();
          if (!blob) return file;
          if (!seg) return blob;
          resetOrientation(seg);
          return readBuffer(blob).then(function (out) {
            var joined = new Uint8Array(out.byteLength + seg.byteLength);
            joined.set(new Uint8Array(out, 0, 2), 0);
            joined.set(seg, 2);
            joined.set(new Uint8Array(out, 2), 2 + seg.byteLength);
            return new Blob([joined], { type: "image/jpeg" });
          });
        });
      });
    });
  }


  window.InspectPhoto = { prepare: prepare };
})();
