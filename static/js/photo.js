// Photos on the phone: downscale before sending (long edge 2048, JPEG 0.8, a 12 MP photo goes up as
// well under 500 KB) while keeping the original's EXIF (capture time, place, device), so the
// server still reads them. Shared by the visit page and the rectification answer page.
(function () {
  "use strict";
  var MAX_EDGE = 2048, QUALITY = 0.8, SMALL = 500 * 1024;

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
  // Downscale on the phone (long edge 2048, JPEG 0.8) and keep the original's EXIF (time, place,
  // device) so the server still reads them; the pixels are already upright, so orientation → 1.
  function prepare(file) {
    return readBuffer(file).then(function (buf) {
      var seg = exifSegment(buf);
      if (!window.createImageBitmap) return file;
      return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
        var scale = Math.min(1, MAX_EDGE / Math.max(bmp.width, bmp.height));
        if (scale === 1 && file.size <= SMALL && /^image\/(jpeg|png|webp)$/.test(file.type)) { bmp.close && bmp.close(); return file; }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bmp.width * scale); canvas.height = Math.round(bmp.height * scale);
        canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
        bmp.close && bmp.close();
        return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITY); }).then(function (blob) {
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
      }, function () { return file; });  // e.g. HEIC the browser cannot draw: the server converts it
    });
  }


  window.InspectPhoto = { prepare: prepare };
})();
