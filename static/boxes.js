// Quorum labeling widget for image boxes (see kinds.js for the widget contract). Coordinates
// are the image's own pixels (x, y the top-left corner), whatever size the image is shown at.
// Draw with the mouse or a finger; drag a box to move it, its corner to resize it.
(function () {
  "use strict";
  var K = window.QuorumKinds;
  var PALETTE = ["#e4572e", "#2e86ab", "#76b041", "#a23b72", "#f1a208", "#17bebb", "#8e7dbe", "#3b1f2b"];
  function boxes(schema, page) {
    var labels = schema.labels || [], field = schema.field || "image";
    var list = [], none = false, current = 0, sel = -1, natW = 0, natH = 0, stage = null, layer = null, drag = null;
    // Reviewers: every rater's boxes, drawn dashed under the answer being decided (O hides them).
    var others = [], showOthers = true;
    function colour(v) {
      for (var i = 0; i < labels.length; i++) if (labels[i].value === v) return labels[i].color || PALETTE[i % PALETTE.length];
      return "#888888";
    }
    function keysOf(l, i) { var k = []; if (i < 9) k.push(String(i + 1)); if (l.hotkey) k.push(l.hotkey); return k; }
    function r2(x) { return Math.round(x * 100) / 100; }
    function clamp(b) {
      var x = Math.max(0, Math.min(b.x, natW)), y = Math.max(0, Math.min(b.y, natH));
      var w = Math.min(b.w, natW - x), h = Math.min(b.h, natH - y);
      return { x: r2(x), y: r2(y), w: r2(w), h: r2(h), label: b.label };
    }
    function toImage(e) {
      var r = layer.getBoundingClientRect();
      return { x: (e.clientX - r.left) * natW / r.width, y: (e.clientY - r.top) * natH / r.height };
    }
    function draw() {
      if (!layer || !natW) return;
      layer.textContent = "";
      // The same box from several raters is drawn once, tagged with all their names.
      var seen = {}, order = [];
      if (showOthers) others.forEach(function (o) {
        o.boxes.forEach(function (b) {
          var key = [b.x, b.y, b.w, b.h, b.label].join(",");
          if (!seen[key]) { seen[key] = { b: b, raters: [] }; order.push(key); }
          seen[key].raters.push(o.rater);
        });
      });
      order.forEach(function (key) {
        var b = seen[key].b, d = K.el("div", "bbox other"); d.setAttribute("data-raters", seen[key].raters.join(" "));
        d.style.left = (b.x * 100 / natW) + "%"; d.style.top = (b.y * 100 / natH) + "%";
        d.style.width = (b.w * 100 / natW) + "%"; d.style.height = (b.h * 100 / natH) + "%";
        d.style.borderColor = colour(b.label);
        d.appendChild(K.el("span", "bbox-tag other-tag", seen[key].raters.join(", ") + ": " + b.label));
        layer.appendChild(d);
      });
      var shown = list.slice(); if (drag && drag.draft) shown.push(drag.draft);
      shown.forEach(function (b, i) {
        var d = K.el("div", "bbox" + (i === sel ? " selected" : "") + (drag && b === drag.draft ? " draft" : ""));
        d.setAttribute("data-i", String(i));
        d.style.left = (b.x * 100 / natW) + "%"; d.style.top = (b.y * 100 / natH) + "%";
        d.style.width = (b.w * 100 / natW) + "%"; d.style.height = (b.h * 100 / natH) + "%";
        d.style.borderColor = colour(b.label);
        var tag = K.el("span", "bbox-tag", b.label); tag.style.backgroundColor = colour(b.label); d.appendChild(tag);
        if (i === sel) { var hd = K.el("span", "bbox-handle"); hd.setAttribute("data-handle", "1"); d.appendChild(hd); }
        layer.appendChild(d);
      });
    }
    function changed() { draw(); page.changed(); }
    function down(e) {
      if (!natW) return;
      e.preventDefault();
      var p = toImage(e), t = e.target, i = t && t.closest ? t.closest(".bbox") : null;
      if (i && !i.classList.contains("draft")) {
        sel = Number(i.getAttribute("data-i"));
        var b = list[sel];
        drag = { mode: t.getAttribute("data-handle") ? "resize" : "move", from: p, orig: { x: b.x, y: b.y, w: b.w, h: b.h } };
      } else {
        sel = -1;
        drag = { mode: "draw", from: p, draft: { x: p.x, y: p.y, w: 0, h: 0, label: labels[current].value } };
      }
      if (layer.setPointerCapture) try { layer.setPointerCapture(e.pointerId); } catch (_) {}
      changed();
    }
    function move(e) {
      if (!drag) return;
      var p = toImage(e), dx = p.x - drag.from.x, dy = p.y - drag.from.y;
      if (drag.mode === "draw") {
        drag.draft = { x: Math.min(p.x, drag.from.x), y: Math.min(p.y, drag.from.y), w: Math.abs(dx), h: Math.abs(dy), label: drag.draft.label };
      } else if (drag.mode === "move") {
        var o = drag.orig;
        list[sel] = clamp({ x: Math.max(0, Math.min(o.x + dx, natW - o.w)), y: Math.max(0, Math.min(o.y + dy, natH - o.h)), w: o.w, h: o.h, label: list[sel].label });
      } else {
        list[sel] = clamp({ x: drag.orig.x, y: drag.orig.y, w: Math.max(1, drag.orig.w + dx), h: Math.max(1, drag.orig.h + dy), label: list[sel].label });
      }
      draw();
    }
    function up() {
      if (!drag) return;
      if (drag.mode === "draw" && drag.draft.w >= 2 && drag.draft.h >= 2) { list.push(clamp(drag.draft)); sel = list.length - 1; none = false; }
      drag = null; changed();
    }
    function setLabel(i) {
      current = i;
      if (sel >= 0) list[sel] = { x: list[sel].x, y: list[sel].y, w: list[sel].w, h: list[sel].h, label: labels[i].value };
      changed();
    }
    function nudge(dx, dy) {
      var b = list[sel];
      list[sel] = clamp({ x: Math.max(0, Math.min(b.x + dx, natW - b.w)), y: Math.max(0, Math.min(b.y + dy, natH - b.h)), w: b.w, h: b.h, label: b.label });
      changed();
    }
    return {
      view: function (v, d) {
        var url = typeof d[field] === "string" ? d[field] : "";
        list = []; sel = -1; drag = null;
        natW = typeof d.width === "number" ? d.width : 0; natH = typeof d.height === "number" ? d.height : 0;
        var h = K.heading(field, ""); if (h) v.appendChild(K.el("h3", "item-heading", h));
        stage = K.el("div", "box-stage"); stage.id = "box-stage";
        var img = K.el("img", "box-image"); img.alt = "image to box"; img.draggable = false;
        img.addEventListener("load", function () { if (!natW) { natW = img.naturalWidth; natH = img.naturalHeight; } draw(); });
        if (/^https?:\/\//i.test(url)) img.src = url;
        layer = K.el("div", "box-layer"); layer.id = "box-layer";
        layer.addEventListener("pointerdown", down);
        layer.addEventListener("pointermove", move);
        layer.addEventListener("pointerup", up);
        layer.addEventListener("pointercancel", up);
        stage.appendChild(img); stage.appendChild(layer); v.appendChild(stage);
        K.rest(v, d, [field, "width", "height"]);
        return true;
      },
      overlay: function (votes) {
        others = votes.filter(function (v) { return Array.isArray(v.value); }).map(function (v) { return { rater: v.rater, boxes: v.value }; });
        draw();
      },
      start: function (v) {
        list = Array.isArray(v) ? v.map(function (b) { return { x: b.x, y: b.y, w: b.w, h: b.h, label: b.label }; }) : [];
        none = Array.isArray(v) && v.length === 0; sel = -1; draw();
      },
      controls: function (c) {
        var row = K.el("div", "span-labels");
        labels.forEach(function (l, i) {
          var b = K.el("button", "choice" + (i === current ? " selected" : "")); b.type = "button"; b.setAttribute("data-value", l.value);
          var sw = K.el("span", "swatch"); sw.style.background = colour(l.value); b.appendChild(sw);
          b.appendChild(K.el("span", "", l.label));
          keysOf(l, i).forEach(function (k) { b.appendChild(K.el("kbd", "", k)); });
          b.addEventListener("click", function () { setLabel(i); });
          row.appendChild(b);
        });
        var nb = K.el("button", "choice no-entities" + (none && !list.length ? " selected" : "")); nb.type = "button"; nb.id = "nothing-to-box";
        nb.appendChild(K.el("span", "", "Nothing to box")); nb.appendChild(K.el("kbd", "", "0"));
        nb.addEventListener("click", function () { list = []; none = true; sel = -1; changed(); });
        row.appendChild(nb); c.appendChild(row);
        var ul = K.el("ul", "span-list plain"); ul.id = "box-list";
        list.forEach(function (b, i) {
          var li = K.el("li", i === sel ? "focus" : "");
          var tag = K.el("span", "ent-tag", b.label); tag.style.backgroundColor = colour(b.label); li.appendChild(tag);
          li.appendChild(K.el("span", "small", " " + Math.round(b.w) + "×" + Math.round(b.h) + " at " + Math.round(b.x) + "," + Math.round(b.y) + " "));
          var del = K.el("button", "small", "×"); del.type = "button"; del.setAttribute("aria-label", "Delete box " + (i + 1));
          del.addEventListener("click", function () { list.splice(i, 1); sel = -1; changed(); });
          li.appendChild(del); ul.appendChild(li);
        });
        if (list.length) c.appendChild(ul);
      },
      key: function (e) {
        var k = e.key;
        if (k === "]" || k === "[") { if (list.length) { sel = sel < 0 ? (k === "]" ? 0 : list.length - 1) : (sel + (k === "]" ? 1 : list.length - 1)) % list.length; changed(); } return true; }
        if ((k === "Delete" || k === "Backspace" || k === "x" || k === "X") && sel >= 0) { list.splice(sel, 1); sel = -1; changed(); return true; }
        if (sel >= 0 && (k === "ArrowLeft" || k === "ArrowRight" || k === "ArrowUp" || k === "ArrowDown")) {
          var s = e.shiftKey ? 10 : 1;
          nudge(k === "ArrowLeft" ? -s : k === "ArrowRight" ? s : 0, k === "ArrowUp" ? -s : k === "ArrowDown" ? s : 0);
          return true;
        }
        if (k === "Escape") { sel = -1; changed(); return true; }
        if ((k === "o" || k === "O") && others.length) { showOthers = !showOthers; draw(); return true; }
        if (k === "0") { list = []; none = true; sel = -1; changed(); return true; }
        for (var i = 0; i < labels.length; i++) {
          var ks = keysOf(labels[i], i);
          for (var j = 0; j < ks.length; j++) if (k === ks[j] || k.toLowerCase() === ks[j].toLowerCase()) { setLabel(i); return true; }
        }
        return false;
      },
      value: function () { if (list.length) return list.map(clamp); return none ? [] : null; },
      backKeys: "Backspace (no box selected)",
      hint: "Draw boxes on the image, or press 0 for “nothing to box” (S skips).",
      keys: function () {
        var rows = [["drag", "draw a box (mouse or finger); drag a box to move it, its corner to resize"]];
        labels.forEach(function (l, i) { rows.push([keysOf(l, i).join(" or "), l.label + " (for new boxes and the selected one)"]); });
        if (others.length) rows.push(["O", "show or hide the raters' boxes (dashed)"]);
        return rows.concat([["] / [", "select the next / previous box"], ["arrows", "move the selected box (Shift: 10 px)"], ["Delete or X", "delete the selected box"], ["0", "nothing to box"], ["Esc", "deselect"]]);
      }
    };
  }
  K.boxes = boxes;
})();
