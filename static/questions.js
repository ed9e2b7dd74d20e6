// Quorum labeling widget for several questions per item (see kinds.js for the widget contract).
// Each question is answered by its own kind's widget (choices and free text get small ones
// here); one question is active at a time and gets the keys. Tab / Shift+Tab move between
// questions, and picking a choice moves on to the next question; Enter submits them all.
(function () {
  "use strict";
  var K = window.QuorumKinds, Q = window.Quorum;
  // Single / multiple choice and free text, as widgets.
  function basic(schema, page) {
    var choice = null, opts = Q.offered(schema), multi = schema.kind === "multi_choice", text = schema.kind === "free_text";
    function pick(v) {
      if (multi) {
        var s = (choice || []).slice(), at = s.indexOf(v); if (at >= 0) s.splice(at, 1); else s.push(v);
        choice = opts.map(function (o) { return o.value; }).filter(function (x) { return s.indexOf(x) >= 0; });
        page.changed();
      } else { choice = v; page.submit(); }
    }
    return {
      view: function () { return false; },
      start: function (v) { choice = v === undefined ? null : v; },
      controls: function (c) {
        if (text) {
          var ta = K.el("textarea", "question-text"); ta.value = typeof choice === "string" ? choice : "";
          ta.placeholder = "Type the answer (Tab: next question)";
          ta.setAttribute("data-submit-on-enter", "1");
          ta.addEventListener("input", function () { choice = ta.value; });
          // Tab leaves the box for the next (Shift: previous) question instead of the next control.
          ta.addEventListener("keydown", function (e) { if (e.key === "Tab") { e.preventDefault(); ta.blur(); page.move(e.shiftKey ? -1 : 1); } });
          c.appendChild(ta); return;
        }
        var row = K.el("div", "choices");
        opts.forEach(function (o, i) {
          var sel = multi ? (choice || []).indexOf(o.value) >= 0 : choice === o.value;
          var b = Q.choiceButton(o, i, sel);
          b.addEventListener("click", function () { pick(o.value); });
          row.appendChild(b);
        });
        c.appendChild(row);
      },
      key: function (e) {
        if (text) return false;
        var o = Q.optionForKey(opts, e.key);
        if (o) { pick(o.value); return true; }
        return false;
      },
      value: function () {
        if (text) { var t = typeof choice === "string" ? choice.trim() : ""; return t ? t : null; }
        return multi ? (choice || []) : choice;
      },
      keys: function () { return text ? [["type", "the answer"]] : [["1–9", "pick an option by its place (its hotkey works too)"]]; }
    };
  }

  function questions(schema, page) {
    var qs = schema.questions || [], active = 0, subs = [];
    qs.forEach(function (q, i) {
      var sub = {
        submit: function () { if (i < qs.length - 1) { active = i + 1; page.changed(); focusText(); } else page.submit(); },
        changed: function () { page.changed(); },
        move: function (d) { go(d); }
      };
      var make = K[q.schema.kind];
      subs.push(make ? make(q.schema, sub) : basic(q.schema, sub));
    });
    function go(d) { active = (active + d + qs.length) % qs.length; page.changed(); focusText(); }
    function focusText() {
      setTimeout(function () {
        var s = document.querySelector(".question.active textarea, .question.active input");
        if (s && qs[active].schema.kind === "free_text") s.focus();
      }, 0);
    }
    function draws(q) { return q.schema.kind === "spans" || q.schema.kind === "boxes"; }
    return {
      view: function (v, d) {
        // The question that marks the item draws it; otherwise the first that draws anything.
        var order = qs.map(function (q, i) { return i; }).sort(function (a, b) { return (draws(qs[b]) ? 1 : 0) - (draws(qs[a]) ? 1 : 0); });
        for (var j = 0; j < order.length; j++) if (subs[order[j]].view(v, d)) return true;
        return false;
      },
      overlay: function (votes) {
        qs.forEach(function (q, i) {
          if (subs[i].overlay) subs[i].overlay(votes.map(function (v) { return { rater: v.rater, value: v.value && v.value[q.name] }; }));
        });
      },
      start: function (v) {
        active = 0;
        qs.forEach(function (q, i) { subs[i].start(v && typeof v === "object" && !Array.isArray(v) ? v[q.name] : null); });
      },
      controls: function (c) {
        qs.forEach(function (q, i) {
          var sec = K.el("section", "question" + (i === active ? " active" : "")); sec.setAttribute("data-question", q.name);
          var done = subs[i].value(); if (done !== null && done !== undefined) sec.classList.add("answered");
          var h = K.el("h3", "question-title", (i + 1) + ". " + (q.prompt || q.name));
          sec.addEventListener("pointerdown", function () { if (active !== i) { active = i; page.changed(); } });
          sec.appendChild(h);
          subs[i].controls(sec);
          c.appendChild(sec);
        });
      },
      key: function (e) {
        if (e.key === "Tab") { go(e.shiftKey ? -1 : 1); return true; }
        return subs[active].key(e);
      },
      value: function () {
        var out = {};
        for (var i = 0; i < qs.length; i++) {
          var v = subs[i].value();
          if (v === null || v === undefined) { active = i; return null; }
          out[qs[i].name] = v;
        }
        return out;
      },
      hint: "Answer every question (Tab moves to the next one).",
      keys: function () {
        var rows = [["Tab / Shift+Tab", "next / previous question"]];
        qs.forEach(function (q, i) {
          subs[i].keys().forEach(function (k) { rows.push([k[0], (q.prompt || q.name) + ": " + k[1]]); });
        });
        return rows;
      }
    };
  }
  K.questions = questions;
})();
