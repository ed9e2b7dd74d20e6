// Quorum labeling page: keyboard first, no page reloads between items, and no answer lost.
// Every answer is kept in localStorage under its submission key until the server confirms it,
// and re-sent (same key, so never stored twice) when the network or the server fails.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("shard-data").textContent);
  var schema = data.task.schema;
  var shard = data.shard;
  var items = shard.items;
  var PENDING = "quorum.pending.v1";
  var $ = function (id) { return document.getElementById(id); };
  var view = $("item-view"), controls = $("controls"), statusEl = $("status");
  var idx = 0, choice = null, shownAt = performance.now(), retryDelay = 1000, retryTimer = null;
  // What the status line shows: "pending"/"saved" (the save state, replaced freely), "hint" (a
  // message for the rater, kept until their next action), "error" (kept until dismissed by an action).
  var statusKind = "";
  var myTotal = Number($("totals").getAttribute("data-total")) || 0;

  function loadPending() { try { return JSON.parse(localStorage.getItem(PENDING) || "{}"); } catch (_) { return {}; } }
  function savePending(p) { try { localStorage.setItem(PENDING, JSON.stringify(p)); } catch (_) {} }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function say(text, cls, kind) { statusEl.textContent = text; statusEl.className = "small status " + (cls || ""); statusKind = kind || ""; }
  function clearHint() { if (statusKind === "hint") say("", "", ""); }
  function isDone(it) { return it.state === "labeled" || it.state === "skipped"; }
  function firstOpen(from) {
    for (var i = from; i < items.length; i++) if (!isDone(items[i])) return i;
    for (var j = 0; j < from && j < items.length; j++) if (!isDone(items[j])) return j;
    return items.length;
  }
  function options() { return window.Quorum.offered(schema); }
  // Kinds beyond choices and free text (static/kinds.js) draw the item and the controls.
  // The task's item layout: which fields are text, image, side information (kinds.js draws it).
  window.QuorumKinds.setLayout(shard.layout);
  var make = window.QuorumKinds && window.QuorumKinds[schema.kind];
  var widget = make ? make(schema, { submit: function () { submit(); }, changed: function () { clearHint(); renderControls(); } }) : null;

  function renderProgress() {
    var done = items.filter(isDone).length;
    var pct = items.length ? Math.round(done * 100 / items.length) : 100;
    var bar = $("shard-bar"); bar.style.width = pct + "%"; bar.setAttribute("data-pct", String(pct));
    $("shard-count").textContent = done + " / " + items.length;
    $("my-total").textContent = String(myTotal);
  }

  function renderItem() {
    renderProgress();
    if (idx >= items.length) { showDone(); return; }
    $("done-card").hidden = true; $("item-card").hidden = false;
    var it = items[idx], d = it.data || {};
    view.textContent = "";
    var meta = document.createElement("div"); meta.className = "item-meta";
    meta.textContent = "Item " + (idx + 1) + " of " + items.length + (it.state === "labeled" ? " · answered (you can change it)" : it.state === "skipped" ? " · skipped" : "");
    view.appendChild(meta);
    // No answer yet and the task shows the model's prediction: start from it (the rater may
    // change it; the server records whether they kept it).
    var start = it.value !== undefined && it.value !== null ? it.value : (it.prediction !== undefined ? it.prediction : null);
    if (it.prediction !== undefined && (it.value === undefined || it.value === null)) say("Pre-filled with the model's prediction: keep it or change it.", "", "hint");
    if (widget && widget.view(view, d)) { widget.start(start); renderControls(); shownAt = performance.now(); return; }
    if (widget) widget.start(start);
    window.QuorumKinds.drawItem(view, d, []);
    choice = start !== null ? start : (schema.kind === "multi_choice" ? [] : null);
    renderControls();
    shownAt = performance.now();
  }

  function renderControls() {
    controls.textContent = "";
    if (widget) { widget.controls(controls); return; }
    if (schema.kind === "free_text") {
      var ta = document.createElement("textarea"); ta.id = "free-text"; ta.maxLength = schema.max_length || 1000;
      ta.placeholder = "Type the answer. Enter submits, Shift+Enter adds a line."; ta.value = typeof choice === "string" ? choice : "";
      ta.addEventListener("input", function () { choice = ta.value; });
      controls.appendChild(ta); setTimeout(function () { ta.focus(); }, 0);
      return;
    }
    options().forEach(function (o, i) {
      var selected = schema.kind === "multi_choice" ? (choice || []).indexOf(o.value) >= 0 : choice === o.value;
      var b = window.Quorum.choiceButton(o, i, selected);
      b.addEventListener("click", function () { choose(o.value); if (schema.kind === "single_choice") submit(); });
      controls.appendChild(b);
    });
  }

  function choose(value) {
    if (schema.kind === "multi_choice") {
      var set = (choice || []).slice(), at = set.indexOf(value);
      if (at >= 0) set.splice(at, 1); else set.push(value);
      choice = options().map(function (o) { return o.value; }).filter(function (v) { return set.indexOf(v) >= 0; });
    } else {
      choice = value;
    }
    clearHint();
    renderControls();
  }

  function currentValue() {
    if (widget) return widget.value();
    if (schema.kind === "free_text") { var ta = $("free-text"); var v = ta ? ta.value.trim() : ""; return v ? v : null; }
    if (schema.kind === "multi_choice") return choice || [];
    return choice;
  }

  function submit() {
    if (idx >= items.length) return;
    var value = currentValue();
    if (value === null || value === undefined) { say((widget && widget.hint) || "Choose an answer first (or press S to skip).", "warn", "hint"); return; }
    clearHint();
    var it = items[idx], key = newKey();
    var body = { item_id: it.id, value: value, duration_ms: Math.round(performance.now() - shownAt), submission_key: key };
    var wasNew = it.state !== "labeled";
    var pending = loadPending();
    pending[key] = { shard: shard.id, pos: idx, body: body, seq: nextSeq(), isNew: wasNew };
    savePending(pending);
    it.state = "labeled"; it.value = value;
    send(key);
    idx = firstOpen(idx + 1);
    renderItem();
  }

  // Answers to one item are sent one at a time, oldest first: a changed answer must never reach
  // the server before the answer it changes (two requests in flight can arrive in either order,
  // and the older one would then overwrite the newer).
  var inflight = {}, seqCounter = 0;
  function nextSeq() { seqCounter = (seqCounter + 1) % 1000; return Date.now() * 1000 + seqCounter; }
  function oldestFor(itemId) {
    var p = loadPending(), best = null;
    Object.keys(p).forEach(function (k) {
      if (p[k].body.item_id === itemId && (best === null || (p[k].seq || 0) < (p[best].seq || 0))) best = k;
    });
    return best;
  }
  function settled(itemId) {
    delete inflight[itemId];
    var next = oldestFor(itemId);
    if (next) send(next);
  }

  function send(key) {
    var entry = loadPending()[key];
    if (!entry) return;
    var itemId = entry.body.item_id;
    if (inflight[itemId]) return; // sent once the answer before it is settled
    key = oldestFor(itemId) || key; entry = loadPending()[key];
    inflight[itemId] = key;
    fetch("/api/v1/shards/" + entry.shard + "/labels", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.Quorum.csrf() },
      body: JSON.stringify(entry.body)
    }).then(function (res) {
      if (res.ok) {
        var p = loadPending(); delete p[key]; savePending(p);
        if (res.status === 201 && entry.isNew !== false) myTotal += 1;
        retryDelay = 1000; renderProgress(); reportPending();
        settled(itemId);
        return;
      }
      if (res.status >= 500 || res.status === 429) { delete inflight[itemId]; scheduleRetry(); return; }
      return res.json().catch(function () { return {}; }).then(function (b) {
        // Refused for good (expired lease, closed task…): keep the text on screen so nothing typed is lost.
        var p = loadPending(); delete p[key]; savePending(p);
        var msg = (b.error && b.error.message) || ("error " + res.status);
        var it = items[entry.pos]; if (it && it.id === entry.body.item_id) { it.state = "refused"; }
        say("Item " + (entry.pos + 1) + " was not stored: " + msg + " Your answer was: " + JSON.stringify(entry.body.value), "error", "error");
        renderProgress();
        settled(itemId);
      });
    }).catch(function () { delete inflight[itemId]; scheduleRetry(); });
  }

  function reportPending() {
    var n = Object.keys(loadPending()).length;
    if (idx >= items.length && !$("done-card").hidden && !$("next-shard").hidden) showDone();
    if (wantNext && n === 0) { nextShard(); return; }
    // A hint or an error for the rater stays until their next action; only the save state is replaced.
    if (statusKind === "hint" || statusKind === "error") return;
    if (n === 0) say("All answers saved.", "", "saved");
    else say(n + (n === 1 ? " answer is" : " answers are") + " waiting to be saved; they are kept in this browser and retried.", "warn", "pending");
  }

  function scheduleRetry() {
    reportPending();
    if (retryTimer) return;
    retryTimer = setTimeout(function () {
      retryTimer = null;
      Object.keys(loadPending()).forEach(function (k) { send(k); });
      retryDelay = Math.min(retryDelay * 2, 30000);
    }, retryDelay);
  }

  function back() {
    if (idx <= 0) return;
    idx -= 1; renderItem();
    say("Back to item " + (idx + 1) + ": change the answer and press Enter.", "", "hint");
  }
  function forward() {
    if (idx < items.length - 1 && isDone(items[idx])) { idx += 1; clearHint(); renderItem(); }
  }

  function openSkip() { if (idx >= items.length) return; $("skip-box").hidden = false; $("skip-reason").value = ""; $("skip-flag").checked = false; $("skip-reason").focus(); }
  function closeSkip() { $("skip-box").hidden = true; }
  function skip() {
    var it = items[idx], reason = $("skip-reason").value, flag = $("skip-flag").checked;
    closeSkip();
    fetch("/api/v1/shards/" + shard.id + "/skip", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.Quorum.csrf() },
      body: JSON.stringify({ item_id: it.id, reason: reason, flag: flag })
    }).then(function (res) {
      if (!res.ok) { say("Could not skip this item (error " + res.status + ").", "error", "error"); return; }
      clearHint();
      it.state = "skipped"; idx = firstOpen(idx + 1); renderItem();
    }).catch(function () { say("Could not skip: the network is down. Try again.", "error", "error"); });
  }

  function showDone() {
    $("item-card").hidden = true; $("done-card").hidden = false;
    var n = Object.keys(loadPending()).length;
    $("done-title").textContent = "Shard complete";
    $("done-text").textContent = n ? ("Saving " + n + " answers…") : "Press Enter or N for the next shard.";
    setTimeout(function () { ($("next-shard").hidden ? $("home-link") : $("next-shard")).focus(); }, 0);
  }

  // Asked for the next shard while answers were still being saved: it comes once they are.
  var wantNext = false;
  function nextShard() {
    if (Object.keys(loadPending()).length) { wantNext = true; Object.keys(loadPending()).forEach(function (k) { send(k); }); showDone(); return; }
    wantNext = false;
    fetch("/api/v1/tasks/" + data.task.id + "/shards", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": window.Quorum.csrf() }
    }).then(function (res) {
      if (res.status === 204) {
        $("done-title").textContent = "All done for now";
        $("done-text").textContent = "There is nothing left for you to label in this task. Thank you! New items may come later; your other tasks are on your home page.";
        $("next-shard").hidden = true;
        $("home-link").classList.add("primary");
        $("home-link").focus();
        return;
      }
      window.location.reload();
    }).catch(function () { $("done-text").textContent = "The network is down; press Enter to try again."; });
  }

  function toggleHelp(show) { $("help").hidden = show === undefined ? !$("help").hidden : !show; }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target, inText = t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT");
    if (!$("help").hidden) { if (e.key === "Escape" || e.key === "?") { toggleHelp(false); e.preventDefault(); } return; }
    if (t && t.id === "skip-reason") {
      if (e.key === "Enter") { e.preventDefault(); skip(); } else if (e.key === "Escape") { closeSkip(); }
      return;
    }
    if (inText) {
      if (e.key === "Enter" && !e.shiftKey && (t.id === "free-text" || t.getAttribute("data-submit-on-enter"))) { e.preventDefault(); submit(); }
      else if (e.key === "Escape") { t.blur(); }
      return;
    }
    if (idx >= items.length) {
      if (e.key === "Enter" || e.key === "n" || e.key === "N") { e.preventDefault(); nextShard(); }
      else if (e.key === "Backspace" || e.key === "ArrowLeft") { e.preventDefault(); back(); }
      return;
    }
    if (e.key === "?") { toggleHelp(true); e.preventDefault(); return; }
    if (e.key === "Enter") { e.preventDefault(); submit(); return; }
    if (widget && widget.key(e)) { e.preventDefault(); return; }
    if (e.key === "Backspace" || e.key === "ArrowLeft") { e.preventDefault(); back(); return; }
    if (e.key === "ArrowRight") { e.preventDefault(); forward(); return; }
    if (e.key === "s" || e.key === "S") { e.preventDefault(); openSkip(); return; }
    if (widget) return;
    var o = window.Quorum.optionForKey(options(), e.key);
    if (o) { e.preventDefault(); choose(o.value); }
  });
  $("submit-button").addEventListener("click", submit);
  $("back-button").addEventListener("click", back);
  $("skip-button").addEventListener("click", openSkip);
  $("skip-confirm").addEventListener("click", skip);
  $("next-shard").addEventListener("click", nextShard);
  $("help-button").addEventListener("click", function () { toggleHelp(true); });
  $("help-close").addEventListener("click", function () { toggleHelp(false); });
  window.addEventListener("online", function () { Object.keys(loadPending()).forEach(function (k) { send(k); }); });

  window.Quorum.keyHelp($("keys-options"), options());
  if (widget) {
    var tb = $("keys-options"); $("keys-choose").parentNode.hidden = true;
    if (widget.backKeys) { var bk = $("keys-back").firstElementChild; bk.textContent = ""; var kb0 = document.createElement("kbd"); kb0.textContent = widget.backKeys; bk.appendChild(kb0); }
    widget.keys().forEach(function (k) {
      var tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
      var kb = document.createElement("kbd"); kb.textContent = k[0]; a.appendChild(kb); b.textContent = k[1];
      tr.appendChild(a); tr.appendChild(b); tb.appendChild(tr);
    });
  }
  // On a phone the instructions (already acknowledged) start folded, so the item and its answer
  // buttons are on the first screen.
  var ins = document.querySelector("details.instructions");
  if (ins && window.matchMedia && window.matchMedia("(max-width: 640px)").matches) ins.open = false;

  // Answers left from an earlier visit (closed tab, lost network) are sent again first.
  Object.keys(loadPending()).forEach(function (k) { send(k); });
  idx = firstOpen(0);
  renderItem();
})();
