// After-photos for a rectification answer: each photo is downscaled on the phone, uploaded on its
// own with a progress bar, retried with backoff until the server confirms it, and shown as saved.
(function () {
  "use strict";
  var box = document.querySelector("[data-line-photos]");
  if (!box) return;
  var url = box.dataset.uploadUrl;
  var csrf = (document.querySelector("input[name=csrf_token]") || {}).value;
  var input = box.querySelector("[data-photo-input]");
  var add = box.querySelector(".photo-add");

  function uid() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function figure(blob) {
    var fig = document.createElement("figure");
    fig.className = "thumb is-uploading";
    var img = document.createElement("img");
    img.src = URL.createObjectURL(blob); img.width = 72; img.height = 72; img.alt = "";
    var prog = document.createElement("progress"); prog.max = 100; prog.value = 0;
    fig.appendChild(img); fig.appendChild(prog);
    box.insertBefore(fig, add);
    return fig;
  }
  function upload(blob, clientId, fig, attempt) {
    var form = new FormData();
    form.append("file", blob, "photo.jpg");
    form.append("client_id", clientId);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) fig.querySelector("progress").value = Math.round(e.loaded / e.total * 100); };
    function retry() {
      fig.className = "thumb is-failed";
      setTimeout(function () { upload(blob, clientId, fig, attempt + 1); }, Math.min(60000, 1000 * Math.pow(2, attempt)));
    }
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
      if ((xhr.status === 200 || xhr.status === 201) && data.photo) {
        fig.className = "thumb is-saved";
        var p = fig.querySelector("progress"); if (p) p.remove();
        var del = document.createElement("button");
        del.type = "button"; del.className = "thumb-del"; del.textContent = "×"; del.dataset.deleteUrl = data.photo["delete"];
        fig.appendChild(del);
      } else if (xhr.status >= 500 || xhr.status === 429) {
        retry();
      } else {
        fig.className = "thumb is-rejected";
        fig.title = data.error || String(xhr.status);
        var msg = box.querySelector("[data-photo-error]");
        if (msg) msg.textContent = data.error || String(xhr.status);
      }
    };
    xhr.onerror = xhr.ontimeout = retry;
    xhr.timeout = 120000;
    xhr.send(form);
  }
  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, function (file) {
      window.InspectPhoto.prepare(file).then(function (blob) { upload(blob, uid(), figure(blob), 0); });
    });
    input.value = "";
  });
  box.addEventListener("click", function (e) {
    var btn = e.target.closest(".thumb-del");
    if (!btn || !window.confirm(box.dataset.msgDelete)) return;
    fetch(btn.dataset.deleteUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(function (res) { if (res.ok) btn.closest("figure").remove(); });
  });
  // An answer cannot go while a photo is still on its way.
  var form = box.closest("form");
  if (form) form.addEventListener("submit", function (e) {
    if (box.querySelector(".is-uploading, .is-failed")) { e.preventDefault(); form.dataset.submitting = ""; window.alert(box.dataset.msgWait); }
  });
})();
