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
  // The item's other fields, as side information.
  function fieldTable(d, skip) {
    var rest = Object.keys(d).filter(function (k) { return skip.indexOf(k) < 0; });
    if (!rest.length) return null;
    var t = el("table", "table item-fields");
    rest.forEach(function (k) {
      var tr = el("tr"); tr.appendChild(el("th", "", k)); tr.appendChild(el("td", "", str(d[k]))); t.appendChild(tr);
    });
    return t;
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
        if (pf && d[pf] !== undefined) { var p = el("div", "pair-prompt"); p.appendChild(el("div", "pair-tag", "Prompt")); p.appendChild(el("p", "item-text", str(d[pf]))); v.appendChild(p); }
        var cols = el("div", "pair-cols");
        [["A", af], ["B", bf]].forEach(function (x) {
          var col = el("div", "pair-col"); col.id = "candidate-" + x[0].toLowerCase();
          col.appendChild(el("div", "pair-tag", "Response " + x[0]));
          col.appendChild(el("p", "item-text", str(d[x[1]])));
          cols.appendChild(col);
        });
        v.appendChild(cols);
        // The candidates' sources are hidden: raters judge the answers, not the names.
        var skip = [pf, af, bf, schema.a_source_field, schema.b_source_field].filter(Boolean);
        var t = fieldTable(d, skip); if (t) v.appendChild(t);
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

  window.QuorumKinds = { rating: rating, pairwise: pairwise, el: el, fieldTable: fieldTable };
})();
