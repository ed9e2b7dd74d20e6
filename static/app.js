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
  // Choice options as the labeling and review pages offer them: retired options left out, the
  // number keys 1–9 pick by place, and an option's hotkey is an extra key.
  function offered(schema) { return (schema.options || []).filter(function (o) { return !o.retired; }); }
  function keysOf(o, i) {
    var k = [];
    if (i < 9) k.push(String(i + 1));
    if (o.hotkey && o.hotkey !== String(i + 1)) k.push(o.hotkey);
    return k;
  }
  function optionForKey(opts, key) {
    for (var i = 0; i < opts.length; i++) {
      var ks = keysOf(opts[i], i);
      for (var j = 0; j < ks.length; j++) if (key === ks[j] || key.toLowerCase() === ks[j].toLowerCase()) return opts[i];
    }
    return null;
  }
  function choiceButton(o, i, selected) {
    var b = document.createElement("button"); b.type = "button"; b.className = "choice";
    b.setAttribute("data-value", o.value);
    if (o.color) { var sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = o.color; b.appendChild(sw); }
    var label = document.createElement("span"); label.textContent = o.label; b.appendChild(label);
    keysOf(o, i).forEach(function (k) { var kb = document.createElement("kbd"); kb.textContent = k; b.appendChild(kb); });
    if (selected) b.classList.add("selected");
    b.setAttribute("aria-pressed", selected ? "true" : "false");
    return b;
  }
  // One row per option in a help overlay: its keys and its label.
  function keyHelp(tbody, opts) {
    if (!tbody) return;
    tbody.textContent = "";
    opts.forEach(function (o, i) {
      var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
      keysOf(o, i).forEach(function (k, j) { if (j) a.appendChild(document.createTextNode(" or ")); var kb = document.createElement("kbd"); kb.textContent = k; a.appendChild(kb); });
      b.textContent = o.label; tr.appendChild(a); tr.appendChild(b); tbody.appendChild(tr);
    });
  }
  window.Quorum = {
    csrf: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; },
    bars: bars, offered: offered, keysOf: keysOf, optionForKey: optionForKey, choiceButton: choiceButton, keyHelp: keyHelp
  };
})();
