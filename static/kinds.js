// Quorum label kinds beyond choices and free text: each kind is a widget the labeling page
// (label.js) asks to draw the item and the answer controls, to read keys, and to say the value.
// A widget: { view(el, data) -> bool (true: drawn), start(value), controls(el), key(e) -> bool,
//             value() -> value or null, keys() -> [[keys, meaning]] }.
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag); if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function kbd(k) { return el("kbd", "", k); }
  function str(v) { return typeof v === "string" ? v : (v === undefined || v === null ? "" : JSON.stringify(v)); }
  // The task's item layout (src/domain/layout.rs): {fields: [{field, as, label}]}; empty is the
  // default one. The server already left the hidden fields out of the item data.
  var layout = { fields: [] };
  function setLayout(l) { layout = l && Array.isArray(l.fields) ? l : { fields: [] }; }
  function isDefault() { return !layout.fields.length; }
  function entry(k) { for (var i = 0; i < layout.fields.length; i++) if (layout.fields[i].field === k) return layout.fields[i]; return null; }
  // A field's heading (or side-table key): the layout's label, else `dflt`.
  function heading(k, dflt) { var e = entry(k); return e && e.label ? e.label : dflt; }
  // http(s) URLs or paths on this server; never javascript:, data: or //host (as safe_image_url).
  function safeImage(u) {
    if (typeof u !== "string") return false;
    u = u.trim();
    if (!u || /[\u0000-\u001f\u007f]/.test(u)) return false;
    if (/^https?:\/\//i.test(u)) return true;
    if (u.indexOf("//") === 0 || u.charAt(0) === "\\") return false;
    return u.split(/[\/?#]/)[0].indexOf(":") < 0;
  }
  // The item's other fields, as side information.
  function fieldTable(d, skip) {
    var rest = Object.keys(d).filter(function (k) { return skip.indexOf(k) < 0; });
    if (!rest.length) return null;
    var t = el("table", "table item-fields");
    rest.forEach(function (k) {
      var tr = el("tr"); tr.appendChild(el("th", "", heading(k, k))); tr.appendChild(el("td", "", str(d[k]))); t.appendChild(tr);
    });
    return t;
  }
  // A text block: its heading (when the layout gives one) over the text.
  function textBlock(k, text) {
    var label = heading(k, "");
    if (!label) return el("p", "item-text", text);
    var b = el("div", "item-block"); b.setAttribute("data-field", k);
    b.appendChild(el("h3", "item-heading", label)); b.appendChild(el("p", "item-text", text));
    return b;
  }
  // Draws the fields of item `d` that the kind does not draw itself (`own`): the image, the text
  // fields, then the side table. Default layout: `text` as text, `image_url` (or `image`) when
  // an http(s) URL as the image, the rest in the table. With a layout: as it says, in its
  // order; fields it does not name are side information.
  function drawItem(v, d, own) {
    own = own || [];
    var keys = [];
    layout.fields.forEach(function (f) { if (Object.prototype.hasOwnProperty.call(d, f.field)) keys.push(f.field); });
    Object.keys(d).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); });
    keys = keys.filter(function (k) { return own.indexOf(k) < 0; });
    var img = null, texts = [], side = [];
    if (isDefault()) {
      var u = d.image_url || d.image;
      if (typeof u === "string" && /^https?:\/\//i.test(u) && own.indexOf("image_url") < 0 && own.indexOf("image") < 0) img = u;
      if (typeof d.text === "string" && own.indexOf("text") < 0) texts.push("text");
      side = keys.filter(function (k) { return k !== "text" && k !== "image_url" && k !== "image"; });
    } else {
      keys.forEach(function (k) {
        var e = entry(k), as = e ? e.as : "side";
        if (as === "image") { if (img === null && safeImage(d[k])) img = d[k]; }
        else if (as === "text" || as === "prompt" || as === "candidate_a" || as === "candidate_b") texts.push(k);
        else if (as !== "hidden") side.push(k);
      });
    }
    if (img !== null) { var im = el("img", "item-image"); im.alt = "item image"; im.src = img; v.appendChild(im); }
    texts.forEach(function (k) { v.appendChild(textBlock(k, str(d[k]))); });
    var t = fieldTable(d, Object.keys(d).filter(function (k) { return side.indexOf(k) < 0; }));
    if (t) v.appendChild(t);
  }
  // What a kind draws under its own view: the side table (default layout, as before layouts),
  // or the layout's other texts, image and side table.
  function rest(v, d, own) {
    if (isDefault()) { var t = fieldTable(d, own); if (t) v.appendChild(t); return; }
    drawItem(v, d, own);
  }

  // rating: one button per point; the digit of a point picks it, ↑/↓ (or +/−) move.
  function rating(schema, page) {
    var value = null, min = schema.min, max = schema.max, anchors = schema.anchors || {};
    function keyOf(p) {
      if (p >= 0 && p <= 9) return String(p);
      if (p === 10 && min > 0) return "0";
      return null;
    }
    function set(p) { value = Math.max(min, Math.min(max, p)); page.changed(); }
    return {
      view: function () { return false; },
      start: function (v) { value = typeof v === "number" ? v : null; },
      controls: function (c) {
        var row = el("div", "rating-scale"); row.setAttribute("role", "radiogroup"); row.setAttribute("aria-label", "Rating");
        for (var p = min; p <= max; p++) {
          (function (p) {
            var b = el("button", "choice rating-point"); b.type = "button"; b.setAttribute("data-value", String(p));
            b.setAttribute("role", "radio"); b.setAttribute("aria-checked", value === p ? "true" : "false");
            b.appendChild(el("span", "point", String(p)));
            if (anchors[String(p)]) b.appendChild(el("span", "anchor", anchors[String(p)]));
            var k = keyOf(p); if (k !== null && k !== String(p)) b.appendChild(kbd(k));
            if (value === p) b.classList.add("selected");
            b.addEventListener("click", function () { set(p); page.submit(); });
            row.appendChild(b);
          })(p);
        }
        c.appendChild(row);
      },
      key: function (e) {
        for (var p = min; p <= max; p++) if (keyOf(p) === e.key) { set(p); return true; }
        if (e.key === "ArrowUp" || e.key === "+") { set(value === null ? min : value + 1); return true; }
        if (e.key === "ArrowDown" || e.key === "-") { set(value === null ? max : value - 1); return true; }
        return false;
      },
      value: function () { return value; },
      keys: function () {
        var first = keyOf(min), last = keyOf(max);
        return [[(first || "") + "–" + (last || ""), "rate " + min + " to " + max + " by its number"], ["↑ / ↓", "one point up or down"]];
      }
    };
  }

  // pairwise: prompt on top, the two candidates side by side (stacked on a phone).
  var WORDS = { A: "A is better", B: "B is better", tie: "Tie", both_bad: "Both bad" };
  var KEYS = { A: ["a", "1"], B: ["b", "2"], tie: ["t", "3"], both_bad: ["x", "4"] };
  function pairwise(schema, page) {
    var choice = null, reason = "";
    var choices = ["A", "B"].concat(schema.allow_tie === false ? [] : ["tie"]).concat(schema.allow_both_bad === false ? [] : ["both_bad"]);
    function keysOf(c) { return KEYS[c]; }
    function pick(c) { choice = c; page.changed(); }
    return {
      view: function (v, d) {
        var pf = schema.prompt_field === undefined ? "prompt" : schema.prompt_field;
        var af = schema.a_field || "a", bf = schema.b_field || "b";
        if (pf && d[pf] !== undefined) { var p = el("div", "pair-prompt"); p.appendChild(el("div", "pair-tag", heading(pf, "Prompt"))); p.appendChild(el("p", "item-text", str(d[pf]))); v.appendChild(p); }
        var cols = el("div", "pair-cols");
        [["A", af], ["B", bf]].forEach(function (x) {
          var col = el("div", "pair-col"); col.id = "candidate-" + x[0].toLowerCase();
          col.appendChild(el("div", "pair-tag", heading(x[1], "Response " + x[0])));
          col.appendChild(el("p", "item-text", str(d[x[1]])));
          cols.appendChild(col);
        });
        v.appendChild(cols);
        // The candidates' sources are hidden: raters judge the answers, not the names.
        var skip = [pf, af, bf, schema.a_source_field, schema.b_source_field].filter(Boolean);
        rest(v, d, skip);
        return true;
      },
      start: function (v) {
        if (typeof v === "string") { choice = v; reason = ""; }
        else if (v && typeof v === "object") { choice = v.choice || null; reason = v.reason || ""; }
        else { choice = null; reason = ""; }
      },
      controls: function (c) {
        var row = el("div", "pair-choices");
        choices.forEach(function (ch) {
          var b = el("button", "choice"); b.type = "button"; b.setAttribute("data-value", ch);
          b.appendChild(el("span", "", WORDS[ch]));
          keysOf(ch).forEach(function (k) { b.appendChild(kbd(k)); });
          if (choice === ch) b.classList.add("selected");
          b.setAttribute("aria-pressed", choice === ch ? "true" : "false");
          b.addEventListener("click", function () { pick(ch); });
          row.appendChild(b);
        });
        c.appendChild(row);
        var lab = el("label", "grow pair-reason", "Reason (optional, R) ");
        var inp = el("input"); inp.id = "pair-reason"; inp.maxLength = 2000; inp.value = reason;
        inp.placeholder = "e.g. B answers the question; A does not";
        inp.setAttribute("data-submit-on-enter", "1");
        inp.addEventListener("input", function () { reason = inp.value; });
        lab.appendChild(inp); c.appendChild(lab);
      },
      key: function (e) {
        if (e.key === "r" || e.key === "R") { var i = document.getElementById("pair-reason"); if (i) i.focus(); return true; }
        for (var i2 = 0; i2 < choices.length; i2++) {
          var ks = keysOf(choices[i2]);
          if (ks.indexOf(e.key.toLowerCase()) >= 0) { pick(choices[i2]); return true; }
        }
        return false;
      },
      value: function () {
        if (!choice) return null;
        var r = reason.trim();
        return r ? { choice: choice, reason: r } : choice;
      },
      keys: function () {
        return choices.map(function (c) { return [keysOf(c).join(" or "), WORDS[c]]; }).concat([["R", "type a reason (Enter submits, Esc leaves the box)"]]);
      }
    };
  }

  window.QuorumKinds = { rating: rating, pairwise: pairwise, el: el, fieldTable: fieldTable, setLayout: setLayout, heading: heading, drawItem: drawItem, rest: rest, safeImage: safeImage };
})();
