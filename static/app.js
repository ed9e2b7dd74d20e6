// Quorum: small helpers for every page. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var confirmText = t.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) { e.preventDefault(); return; }
    var copyId = t.getAttribute("data-copy");
    if (copyId) {
      var el = document.getElementById(copyId);
      if (el && navigator.clipboard) {
        navigator.clipboard.writeText(el.textContent.trim()).then(function () { t.textContent = "Copied"; });
      }
    }
  });
  function bars() {
    document.querySelectorAll("[data-pct]").forEach(function (b) {
      var p = Math.max(0, Math.min(100, Number(b.getAttribute("data-pct")) || 0));
      b.style.width = p + "%";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bars); else bars();
  window.Quorum = { csrf: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }, bars: bars };
})();
