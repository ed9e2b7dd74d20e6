// Quorum: item upload on the task page, with a progress bar. The file goes as the request body,
// so the server parses it as it arrives.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) return;
  var input = document.getElementById("upload-file");
  var status = document.getElementById("upload-status");
  var bar = document.querySelector("#upload-progress .bar");
  var wrap = document.getElementById("upload-progress");
  function types(name) {
    var n = name.toLowerCase();
    if (n.endsWith(".csv")) return "text/csv";
    if (n.endsWith(".json")) return "application/json";
    return "application/x-ndjson";
  }
  function setPct(p) { bar.setAttribute("data-pct", String(p)); bar.style.width = p + "%"; }
  // The page reloads after a good upload to show the new counts; the result line survives the
  // reload (once), so it cannot vanish before anyone has read it.
  var KEPT = "quorum.upload-result." + form.getAttribute("data-task");
  try {
    var kept = window.sessionStorage.getItem(KEPT);
    if (kept) {
      window.sessionStorage.removeItem(KEPT);
      status.className = "small ok-text";
      status.textContent = kept;
    }
  } catch (_) {}
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = input.files && input.files[0];
    if (!file) return;
    var task = form.getAttribute("data-task");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/tasks/" + task + "/items?filename=" + encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", types(file.name));
    xhr.setRequestHeader("X-CSRF-Token", window.Quorum.csrf());
    wrap.hidden = false; bar.classList.remove("failed"); setPct(0);
    status.className = "small"; status.textContent = "Uploading " + file.name + "…";
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) {
        var p = Math.round(ev.loaded * 100 / ev.total);
        setPct(p);
        status.textContent = p < 100 ? "Uploading… " + p + "%" : "Checking and storing the items…";
      }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) {}
      if (xhr.status >= 200 && xhr.status < 300) {
        setPct(100);
        status.className = "small ok-text";
        var done = "Imported " + body.imported + " items from " + file.name +
          (body.skipped_duplicates ? " (" + body.skipped_duplicates + " already there, skipped)" : "") + "." +
          (body.anomalous ? " " + body.anomalous + " break the item schema" +
            (body.quarantined ? " (" + body.quarantined + " held in quarantine)" : "") + "." : "") +
          (body.drift && body.drift.drifting ? " The data drifts from the previous import." : "");
        status.textContent = done + " Reloading…";
        try { window.sessionStorage.setItem(KEPT, done); } catch (_) {}
        setTimeout(function () { window.location.reload(); }, 900);
      } else {
        var err = body.error || {};
        // The bar shows the upload reached the server; a refused file must not look done.
        bar.classList.add("failed"); wrap.hidden = true;
        status.className = "small error-text";
        status.textContent = "Nothing was imported. " + (err.message || ("Error " + xhr.status));
      }
    };
    xhr.onerror = function () { bar.classList.add("failed"); wrap.hidden = true; status.className = "small error-text"; status.textContent = "The upload failed: network error. Nothing was imported."; };
    xhr.send(file);
  });
})();
