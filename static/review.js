// Quorum reviewer page: pick or type the final answer with the keyboard, Enter records it and
// opens the next item in the queue.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("review-data").textContent);
  var schema = data.schema, choice = data.current;
  var $ = function (id) { return document.getElementById(id); };
  var opts = window.Quorum.offered(schema);
  function say(t, cls) { $("status").textContent = t; $("status").className = "small status " + (cls || ""); }

  // Kinds beyond choices and free text (static/kinds.js) draw the item and the answer.
  // The task's item layout: which fields are text, image, side information (kinds.js draws it).
  window.QuorumKinds.setLayout(data.layout);
  var make = window.QuorumKinds && window.QuorumKinds[schema.kind];
  var widget = make ? make(schema, { submit: function () { decide(); }, changed: function () { render(); } }) : null;
  if (widget) widget.start(choice);
  var votes = data.votes || [];
  var view = $("item-view"), d = data.item || {};
  if (!(widget && widget.view(view, d))) window.QuorumKinds.drawItem(view, d, []);

  // Spans and boxes: every rater's answer drawn with the item, and a button to start from one.
  if (widget && widget.overlay) {
    widget.overlay(votes);
    var from = $("start-from");
    votes.forEach(function (v, i) {
      var b = document.createElement("button"); b.type = "button"; b.className = "small";
      b.textContent = "Start from " + v.rater + "’s answer"; b.setAttribute("data-vote", String(i));
      b.addEventListener("click", function () { widget.start(v.value); render(); say("Started from " + v.rater + "’s answer: edit it, then Enter records it.", ""); });
      from.appendChild(b);
    });
    if (votes.length) from.hidden = false;
  }
  function render() {
    var c = $("controls"); c.textContent = "";
    if (widget) { widget.controls(c); return; }
    if (schema.kind === "free_text") {
      var ta = document.createElement("textarea"); ta.id = "free-text"; ta.value = typeof choice === "string" ? choice : "";
      ta.placeholder = "The final answer. Enter records it."; c.appendChild(ta); ta.focus(); return;
    }
    opts.forEach(function (o, i) {
      var sel = schema.kind === "multi_choice" ? (choice || []).indexOf(o.value) >= 0 : choice === o.value;
      var b = window.Quorum.choiceButton(o, i, sel);
      b.addEventListener("click", function () { pick(o.value); });
      c.appendChild(b);
    });
  }
  function pick(v) {
    if (schema.kind === "multi_choice") {
      var s = (choice || []).slice(), at = s.indexOf(v); if (at >= 0) s.splice(at, 1); else s.push(v);
      choice = (schema.options || []).map(function (o) { return o.value; }).filter(function (x) { return s.indexOf(x) >= 0; });
    } else { choice = v; }
    if ($("status").className.indexOf("warn") >= 0) say("", "");
    render();
  }
  function decide() {
    var value = widget ? widget.value() : schema.kind === "free_text" ? ($("free-text").value || "").trim() : (schema.kind === "multi_choice" ? (choice || []) : choice);
    if (value === null || value === undefined || value === "") { say("Choose the final answer first.", "warn"); return; }
    fetch("/api/v1/items/" + data.item_id + "/resolution", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.Quorum.csrf() },
      body: JSON.stringify({ value: value, version: data.version })
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (b) {
        if (!res.ok) { say((b.error && b.error.message) || ("Error " + res.status), "error"); return; }
        say("Recorded.", "");
        window.location.href = b.next_item_id ? "/review/items/" + b.next_item_id : "/review/tasks/" + data.task_id;
      });
    }).catch(function () { say("The network is down; nothing was recorded. Press Enter to try again.", "error"); });
  }
  function toggleHelp(show) { $("help").hidden = show === undefined ? !$("help").hidden : !show; }
  function skip() { var s = $("skip"); if (s) window.location.href = s.getAttribute("href"); else say("No other item waits in the queue.", "warn"); }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (!$("help").hidden) { if (e.key === "Escape" || e.key === "?") { toggleHelp(false); e.preventDefault(); } return; }
    if (t && t.tagName === "TEXTAREA") { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); decide(); } return; }
    if (t && t.tagName === "INPUT") { if (e.key === "Enter" && t.getAttribute("data-submit-on-enter")) { e.preventDefault(); decide(); } else if (e.key === "Escape") { t.blur(); } return; }
    if (e.key === "Enter") { e.preventDefault(); decide(); return; }
    if (e.key === "?") { e.preventDefault(); toggleHelp(true); return; }
    if (e.key === "s" || e.key === "S") { e.preventDefault(); skip(); return; }
    if (widget) { if (widget.key(e)) e.preventDefault(); return; }
    var o = window.Quorum.optionForKey(opts, e.key);
    if (o) { e.preventDefault(); pick(o.value); }
  });
  $("decide").addEventListener("click", decide);
  $("help-button").addEventListener("click", function () { toggleHelp(true); });
  $("help-close").addEventListener("click", function () { toggleHelp(false); });
  window.Quorum.keyHelp($("keys-options"), opts);
  render();
})();
