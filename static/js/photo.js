// Photos on the phone: downscale before sending (long edge 2048, JPEG, every photo the browser can
// draw goes up at ≤ 500 KB: encodeUnder) while keeping the original's EXIF (capture time, place, device), so the
// server still reads them. Shared by the visit page and the rectification answer page.
//
// The EXIF is read from every format a phone hands over that carries it (JPEG's APP1, PNG's eXIf
// chunk, WebP's EXIF chunk, the Exif item of HEIC/AVIF) and written into the JPEG made here. When
// the EXIF cannot be carried over (a file whose structure cannot be read, a block too large for a
// JPEG segment) or the browser cannot draw the picture, the original goes up as it is: the server
// reads and converts every one of these formats itself.
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
  function ascii(v, at, n) {
    var s = "";
    for (var i = 0; i < n; i++) s += String.fromCharCode(v.getUint8(at + i));
    return s;
  }
  function isTiff(bytes) {
    return bytes.length > 8 && ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2A && bytes[3] === 0) ||
                                (bytes[0] === 0x4D && bytes[1] === 0x4D && bytes[2] === 0 && bytes[3] === 0x2A));
  }
  function tiffAfterExifHeader(bytes) {  // "Exif\0\0" in front of the TIFF block, or not
    if (bytes.length > 6 && bytes[0] === 0x45 && bytes[1] === 0x78 && bytes[2] === 0x69 && bytes[3] === 0x66) bytes = bytes.subarray(6);
    return isTiff(bytes) ? bytes : null;
  }

  // --- the EXIF (a TIFF block) of each format -------------------------------------------------
  function jpegTiff(buf, v) {
    var off = 2;
    while (off + 4 <= v.byteLength) {
      var marker = v.getUint16(off), len = v.getUint16(off + 2);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA || marker === 0xFFD9) break;
      if (marker === 0xFFE1 && off + 10 <= v.byteLength && v.getUint32(off + 4) === 0x45786966) {
        return tiffAfterExifHeader(new Uint8Array(buf, off + 4, Math.min(len - 2, v.byteLength - off - 4)));
      }
      off += 2 + len;
    }
    return null;
  }
  function pngTiff(buf, v) {
    var off = 8;
    while (off + 8 <= v.byteLength) {
      var len = v.getUint32(off), type = ascii(v, off + 4, 4);
      if (off + 12 + len > v.byteLength) throw new Error("truncated PNG");
      if (type === "eXIf") return tiffAfterExifHeader(new Uint8Array(buf, off + 8, len));
      if (type === "IEND") break;
      off += 12 + len;
    }
    return null;
  }
  function webpTiff(buf, v) {
    var off = 12;
    while (off + 8 <= v.byteLength) {
      var type = ascii(v, off, 4), len = v.getUint32(off + 4, true);
      if (off + 8 + len > v.byteLength) throw new Error("truncated WebP");
      if (type === "EXIF") return tiffAfterExifHeader(new Uint8Array(buf, off + 8, len));
      off += 8 + len + (len & 1);
    }
    return null;
  }
  // ISOBMFF boxes between start and end: [{type, start (of the body), end}]
  function boxes(v, start, end) {
    var found = [];
    while (start + 8 <= end) {
      var size = v.getUint32(start), type = ascii(v, start + 4, 4), head = 8;
      if (size === 1) { size = v.getUint32(start + 8) * 4294967296 + v.getUint32(start + 12); head = 16; }
      else if (size === 0) size = end - start;
      if (size < head || start + size > end) throw new Error("bad box");
      found.push({ type: type, start: start + head, end: start + size });
      start += size;
    }
    return found;
  }
  function readUint(v, at, size) {
    if (size === 0) return 0;
    if (size === 2) return v.getUint16(at);
    if (size === 4) return v.getUint32(at);
    if (size === 8) return v.getUint32(at) * 4294967296 + v.getUint32(at + 4);
    throw new Error("bad size");
  }
  function heifTiff(buf, v) {  // HEIC and AVIF: the item of type "Exif" in the meta box
    var meta = boxes(v, 0, v.byteLength).filter(function (b) { return b.type === "meta"; })[0];
    if (!meta) return null;
    var inner = boxes(v, meta.start + 4, meta.end), exifId = null, at, i, n;
    inner.forEach(function (b) {
      if (b.type !== "iinf") return;
      var version = v.getUint8(b.start);
      boxes(v, b.start + 4 + (version === 0 ? 2 : 4), b.end).forEach(function (infe) {
        var ver = v.getUint8(infe.start);
        if (infe.type !== "infe" || ver < 2) return;
        var id = ver === 2 ? v.getUint16(infe.start + 4) : v.getUint32(infe.start + 4);
        if (ascii(v, infe.start + 4 + (ver === 2 ? 2 : 4) + 2, 4) === "Exif" && exifId === null) exifId = id;
      });
    });
    if (exifId === null) return null;
    var iloc = inner.filter(function (b) { return b.type === "iloc"; })[0];
    if (!iloc) throw new Error("no iloc");
    var version = v.getUint8(iloc.start);
    at = iloc.start + 4;
    var sizes = v.getUint16(at), offsetSize = sizes >> 12, lengthSize = (sizes >> 8) & 15,
        baseSize = (sizes >> 4) & 15, indexSize = version === 1 || version === 2 ? sizes & 15 : 0;
    at += 2;
    n = version < 2 ? v.getUint16(at) : v.getUint32(at);
    at += version < 2 ? 2 : 4;
    for (i = 0; i < n; i++) {
      var id = version < 2 ? v.getUint16(at) : v.getUint32(at);
      at += version < 2 ? 2 : 4;
      var method = 0;
      if (version === 1 || version === 2) { method = v.getUint16(at) & 15; at += 2; }
      at += 2;  // data_reference_index
      var base = readUint(v, at, baseSize); at += baseSize;
      var extents = v.getUint16(at), parts = [], total = 0; at += 2;
      for (var e = 0; e < extents; e++) {
        at += indexSize;
        var offset = readUint(v, at, offsetSize); at += offsetSize;
        var length = readUint(v, at, lengthSize); at += lengthSize;
        parts.push([base + offset, length]); total += length;
      }
      if (id !== exifId) continue;
      if (method !== 0) throw new Error("Exif item not in the file");  // in idat or elsewhere: not read here
      var data = new Uint8Array(total), filled = 0;
      parts.forEach(function (p) {
        if (p[0] + p[1] > v.byteLength) throw new Error("truncated HEIF");
        data.set(new Uint8Array(buf, p[0], p[1]), filled); filled += p[1];
      });
      var skip = 4 + new DataView(data.buffer).getUint32(0);
      return tiffAfterExifHeader(data.subarray(skip)) || tiffAfterExifHeader(data.subarray(4));
    }
    throw new Error("Exif item without a location");
  }
  // The EXIF of a photo as a TIFF block: {format, tiff (null when it has none)}. Throws when the
  // file says it is one of these formats but cannot be read (its EXIF could be lost).
  function exifOf(buf) {
    var v = new DataView(buf);
    if (v.byteLength >= 4 && v.getUint16(0) === 0xFFD8) return { format: "jpeg", tiff: jpegTiff(buf, v) };
    if (v.byteLength >= 8 && v.getUint32(0) === 0x89504E47 && v.getUint32(4) === 0x0D0A1A0A) return { format: "png", tiff: pngTiff(buf, v) };
    if (v.byteLength >= 12 && ascii(v, 0, 4) === "RIFF" && ascii(v, 8, 4) === "WEBP") return { format: "webp", tiff: webpTiff(buf, v) };
    if (v.byteLength >= 12 && ascii(v, 4, 4) === "ftyp") return { format: "heif", tiff: heifTiff(buf, v) };
    return { format: "other", tiff: null };  // no EXIF to lose (GIF, BMP...)
  }
  // A JPEG APP1 segment holding the TIFF block, orientation set to 1 (the pixels drawn here are
  // already upright); null when it does not fit in one segment.
  function app1(tiff) {
    if (tiff.length + 8 > 0xFFFF) return null;
    var seg = new Uint8Array(tiff.length + 10), v = new DataView(seg.buffer);
    v.setUint16(0, 0xFFE1); v.setUint16(2, tiff.length + 8);
    seg.set([0x45, 0x78, 0x69, 0x66, 0, 0], 4);
    seg.set(tiff, 10);
    try {
      var t = 10, little = v.getUint16(t) === 0x4949, ifd = t + v.getUint32(t + 4, little), n = v.getUint16(ifd, little);
      for (var i = 0; i < n; i++) {
        var e = ifd + 2 + i * 12;
        if (v.getUint16(e, little) === 0x0112) v.setUint16(e + 8, 1, little);
      }
    } catch (err) { /* an odd EXIF block: keep it as it is */ }
    return seg;
  }

  // The size rule: a JPEG of the upright picture, long edge ≤ MAX_EDGE, ≤ limit bytes (SMALL less the EXIF carried over). Each try is
  // encoded and its blob's size checked: quality steps down first, then the picture shrinks.
  // Resolves null when the browser cannot encode at all.
  function encodeUnder(picture, width, height, limit) {
    var scale = Math.min(1, MAX_EDGE / Math.max(width, height));
    function draw() {
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale)); canvas.height = Math.max(1, Math.round(height * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);  // a transparent PNG on white, not black
      ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
      return canvas;
    }
    function attempt(canvas, step) {
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITIES[step]); }).then(function (blob) {
        if (!blob || blob.size <= limit) return blob;
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
  // Downscale on the phone (encodeUnder) with the original's EXIF (time, place, device) so the
  // server still reads them, or the original when the EXIF cannot be carried or the picture drawn.
  function prepare(file) {
    return readBuffer(file).then(function (buf) {
      var seg = null;
      try {
        var exif = exifOf(buf);
        if (exif.tiff) {
          seg = app1(exif.tiff);
          if (!seg) return file;  // too large to carry over: the original, EXIF and all
        }
      } catch (err) { return file; }  // a structure not understood here: the server reads it
      return decode(file).then(function (drawn) {
        if (!drawn) return file;
        if (drawn.width <= MAX_EDGE && drawn.height <= MAX_EDGE && file.size <= SMALL && /^image\/(jpeg|png|webp)$/.test(file.type)) { drawn.done(); return file; }
        // the EXIF carried over counts towards the 500 KB
        return encodeUnder(drawn.picture, drawn.width, drawn.height, SMALL - (seg ? seg.byteLength : 0)).then(function (blob) {
          drawn.done();
          if (!blob) return file;
          if (!seg) return blob;
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

  window.InspectPhoto = { prepare: prepare, exifOf: exifOf };
})();
