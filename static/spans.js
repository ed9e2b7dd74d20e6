// Quorum labeling widget for entity spans (see kinds.js for the widget contract). Offsets are
// Unicode scalar values (Array.from(text) indices), never UTF-16 units. Selections snap to
// tokens, with the same tokenizer as the server's CoNLL export: runs of letters and digits, or
// any single other character that is not white space.
(function () {
  "use strict";
  var K = window.QuorumKinds;
  var ALNUM = /[\p{Alphabetic}\p{N}]/u, SPACE = /\p{White_Space}/u;
  var PALETTE = ["#e4572e", "#2e86ab", "#76b041", "#a23b72", "#f1a208", "#3b1f2b", "#17bebb", "#8e7dbe"];
  function tokenize(chars) {
    var out = [], run = -1;
    for (var i = 0; i < chars.length; i++) {
      if (ALNUM.test(chars[i])) { if (run < 0) run = i; continue; }
      if (run >= 0) { out.push([run, i]); run = -1; }
      if (!SPACE.test(chars[i])) out.push([i, i + 1]);
    }
    if (run >= 0) out.push([run, chars.length]);
    return out;
  }
  function spans(schema, page) {
    var labels = schema.labels || [], field = schema.field || "text";
    var chars = [], toks = [], marked = [], none = false, cursor = 0, anchor = null, focus = -1, box = null, others = null;
    function colour(v) {
      for (var i = 0; i < labels.length; i++) if (labels[i].value === v) return labels[i].color || PALETTE[i % PALETTE.length];
      return "#888888";
    }
    function keysOf(l, i) { var k = []; if (i < 9) k.push(String(i + 1)); if (l.hotkey) k.push(l.hotkey); return k; }
    function sorted() { return marked.slice().sort(function (a, b) { return a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0); }); }
    function selection() {
      if (!toks.length) return null;
      var a = anchor === null ? cursor : anchor, lo = Math.min(a, cursor), hi = Math.max(a, cursor);
      return { lo: lo, hi: hi, start: toks[lo][0], end: toks[hi][1] };
    }
    function spanOf(t) {
      var s = sorted();
      for (var i = 0; i < s.length; i++) if (toks[t][0] >= s[i].start && toks[t][0] < s[i].end) return s[i];
      return null;
    }
    function draw() {
      if (!box) return;
      box.textContent = "";
      var sel = selection(), f = focus >= 0 ? sorted()[focus] : null, s = sorted(), pos = 0;
      toks.forEach(function (t, i) {
        if (t[0] > pos) box.appendChild(document.createTextNode(chars.slice(pos, t[0]).join("")));
        var e = K.el("span", "tok", chars.slice(t[0], t[1]).join("")); e.setAttribute("data-t", String(i));
        var sp = spanOf(i);
        if (sp) { e.classList.add("ent"); e.style.backgroundColor = colour(sp.label) + "33"; e.style.borderBottomColor = colour(sp.label); e.setAttribute("data-label", sp.label); }
        if (sp && f && sp === f) e.classList.add("focus");
        if (sel && i >= sel.lo && i <= sel.hi) e.classList.add("sel");
        if (i === cursor) e.classList.add("cur");
        box.appendChild(e);
        s.forEach(function (x) {
          var last = i === toks.length - 1 || toks[i + 1][0] >= x.end;
          if (t[0] >= x.start && t[0] < x.end && last) { var tag = K.el("span", "ent-tag", x.label); tag.style.backgroundColor = colour(x.label); box.appendChild(tag); }
        });
        pos = t[1];
      });
      if (pos < chars.length) box.appendChild(document.createTextNode(chars.slice(pos).join("")));
    }
    function changed() { draw(); page.changed(); }
    function apply(label) {
      var sel = selection(); if (!sel) return;
      var span = { start: sel.start, end: sel.end, label: label };
      marked = marked.filter(function (m) {
        var same = m.start === span.start && m.end === span.end;
        var overlaps = m.start < span.end && span.start < m.end;
        return !(same || (overlaps && !schema.allow_overlap));
      });
      marked.push(span); none = false; anchor = null;
      focus = sorted().indexOf(span);
      var ws = window.getSelection && window.getSelection(); if (ws && ws.removeAllRanges) ws.removeAllRanges();
      changed();
    }
    function remove(i) { var s = sorted(); if (i < 0 || i >= s.length) return; var gone = s[i]; marked = marked.filter(function (m) { return m !== gone; }); focus = Math.min(focus, marked.length - 1); if (!marked.length) focus = -1; changed(); }
    function moveFocus(d) {
      var s = sorted(); if (!s.length) return;
      focus = focus < 0 ? (d > 0 ? 0 : s.length - 1) : (focus + d + s.length) % s.length;
      for (var i = 0; i < toks.length; i++) if (toks[i][0] >= s[focus].start) { cursor = i; break; }
      anchor = null; changed();
    }
    function tokenAt(node, end) {
      var el = node && (node.nodeType === 1 ? node : node.parentNode);
      if (el && el.classList && el.classList.contains("tok")) return Number(el.getAttribute("data-t"));
      // In the white space between tokens: the token after it (for a start) or before it (an end).
      var n = node; while (n && n.parentNode !== box) n = n.parentNode;
      if (!n) return null;
      var sib = end ? n.previousSibling : n.nextSibling;
      while (sib && !(sib.classList && sib.classList.contains("tok"))) sib = end ? sib.previousSibling : sib.nextSibling;
      return sib ? Number(sib.getAttribute("data-t")) : null;
    }
    function fromSelection() {
      var ws = window.getSelection(); if (!ws || ws.isCollapsed || !box || !box.contains(ws.anchorNode) || !box.contains(ws.focusNode)) return;
      var r = ws.getRangeAt(0), a = tokenAt(r.startContainer, false), b = tokenAt(r.endContainer, true);
      if (a === null || b === null || b < a) return;
      anchor = a; cursor = b; focus = -1;
      page.changed();
    }
    document.addEventListener("selectionchange", function () { if (box && document.body.contains(box)) fromSelection(); });
    return {
      view: function (v, d) {
        var text = typeof d[field] === "string" ? d[field] : "";
        chars = Array.from(text); toks = tokenize(chars); cursor = 0; anchor = null; focus = -1;
        var h = K.heading(field, ""); if (h) v.appendChild(K.el("h3", "item-heading", h));
        box = K.el("div", "item-text span-text"); box.id = "span-text";
        box.addEventListener("mousedown", function (e) { if (e.shiftKey) e.preventDefault(); });
        box.addEventListener("click", function (e) {
          var ws = window.getSelection(); if (ws && !ws.isCollapsed) { fromSelection(); draw(); return; }
          var t = e.target && e.target.getAttribute && e.target.getAttribute("data-t"); if (t === null || t === undefined) return;
          var i = Number(t);
          if (e.shiftKey) { if (anchor === null) anchor = cursor; cursor = i; focus = -1; }
          else { cursor = i; anchor = null; var sp = spanOf(i); focus = sp ? sorted().indexOf(sp) : -1; }
          changed();
        });
        v.appendChild(box);
        others = K.el("div", "rater-spans"); others.id = "rater-spans"; v.appendChild(others);
        K.rest(v, d, [field]);
        draw();
        return true;
      },
      // Reviewers: every rater's spans, one read-only line each, under the text being decided.
      overlay: function (votes) {
        if (!others) return;
        others.textContent = "";
        votes.forEach(function (vote) {
          if (!Array.isArray(vote.value)) return;
          var line = K.el("div", "rater-line"); line.setAttribute("data-rater", vote.rater);
          line.appendChild(K.el("span", "rater-name", vote.rater));
          var s = vote.value.slice().sort(function (a, b) { return a.start - b.start; }), pos = 0;
          if (!s.length) line.appendChild(K.el("em", "small muted", "no entities"));
          s.forEach(function (x) {
            if (x.start < pos) return;
            if (x.start > pos) line.appendChild(document.createTextNode(chars.slice(pos, x.start).join("")));
            var e = K.el("mark", "ent", chars.slice(x.start, x.end).join(""));
            e.style.backgroundColor = colour(x.label) + "33"; e.style.borderBottomColor = colour(x.label);
            e.setAttribute("data-label", x.label); line.appendChild(e);
            var tag = K.el("span", "ent-tag", x.label); tag.style.backgroundColor = colour(x.label); line.appendChild(tag);
            pos = x.end;
          });
          if (s.length && pos < chars.length) line.appendChild(document.createTextNode(chars.slice(pos).join("")));
          others.appendChild(line);
        });
      },
      start: function (v) {
        marked = Array.isArray(v) ? v.map(function (s) { return { start: s.start, end: s.end, label: s.label }; }) : [];
        none = Array.isArray(v) && v.length === 0; focus = -1; anchor = null; draw();
      },
      controls: function (c) {
        var row = K.el("div", "span-labels");
        labels.forEach(function (l, i) {
          var b = K.el("button", "choice"); b.type = "button"; b.setAttribute("data-value", l.value);
          var sw = K.el("span", "swatch"); sw.style.background = colour(l.value); b.appendChild(sw);
          b.appendChild(K.el("span", "", l.label));
          keysOf(l, i).forEach(function (k) { b.appendChild(K.el("kbd", "", k)); });
          b.addEventListener("mousedown", function (e) { e.preventDefault(); });
          b.addEventListener("click", function () { apply(l.value); });
          row.appendChild(b);
        });
        var nb = K.el("button", "choice no-entities"); nb.type = "button"; nb.id = "no-entities";
        nb.appendChild(K.el("span", "", "No entities")); nb.appendChild(K.el("kbd", "", "0"));
        if (none && !marked.length) nb.classList.add("selected");
        nb.addEventListener("click", function () { marked = []; none = true; focus = -1; changed(); });
        row.appendChild(nb);
        c.appendChild(row);
        var list = K.el("ul", "span-list plain"); list.id = "span-list";
        sorted().forEach(function (s, i) {
          var li = K.el("li", i === focus ? "focus" : "");
          var tag = K.el("span", "ent-tag", s.label); tag.style.backgroundColor = colour(s.label); li.appendChild(tag);
          li.appendChild(K.el("span", "span-words", " " + chars.slice(s.start, s.end).join("") + " "));
          li.appendChild(K.el("span", "small muted", s.start + "–" + s.end + " "));
          var del = K.el("button", "small", "×"); del.type = "button"; del.title = "Delete (Delete or X)"; del.setAttribute("aria-label", "Delete " + s.label + " span");
          del.addEventListener("click", function () { remove(i); });
          li.appendChild(del); list.appendChild(li);
        });
        if (marked.length) c.appendChild(list);
      },
      key: function (e) {
        var k = e.key;
        if (k === "ArrowRight" || k === "ArrowLeft") {
          if (!toks.length) return true;
          var next = Math.max(0, Math.min(toks.length - 1, cursor + (k === "ArrowRight" ? 1 : -1)));
          if (e.shiftKey) { if (anchor === null) anchor = cursor; } else { anchor = null; }
          cursor = next; focus = -1; changed(); return true;
        }
        if (k === "]" || k === "ArrowDown") { moveFocus(1); return true; }
        if (k === "[" || k === "ArrowUp") { moveFocus(-1); return true; }
        if ((k === "Delete" || k === "Backspace" || k === "x" || k === "X") && focus >= 0) { remove(focus); return true; }
        if (k === "Escape") { anchor = null; focus = -1; changed(); return true; }
        if (k === "0") { marked = []; none = true; focus = -1; changed(); return true; }
        for (var i = 0; i < labels.length; i++) {
          var ks = keysOf(labels[i], i);
          for (var j = 0; j < ks.length; j++) if (k === ks[j] || k.toLowerCase() === ks[j].toLowerCase()) { apply(labels[i].value); return true; }
        }
        return false;
      },
      value: function () {
        if (marked.length) return sorted();
        return none ? [] : null;
      },
      backKeys: "Backspace (no span in focus)",
      hint: "Mark entities, or press 0 for “no entities” (S skips).",
      keys: function () {
        var rows = [["← / →", "move over the words"], ["Shift + ← / →", "select several words (or drag with the mouse)"]];
        labels.forEach(function (l, i) { rows.push([keysOf(l, i).join(" or "), "mark the selection as " + l.label]); });
        return rows.concat([["] / [", "next / previous marked span"], ["Delete or X", "delete the marked span in focus"], ["0", "no entities in this text"], ["Esc", "clear the selection"]]);
      }
    };
  }
  K.spans = spans;
})();
