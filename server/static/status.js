// Live status of a submission page: short polling of the JSON status endpoint.
// While queued: position and an estimated wait; while grading: elapsed time (ticking
// between polls), the running check and how many checks are done. The finished result
// arrives as server-rendered (escaped) HTML, so no reload is needed.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.done === "true") { return; }
  var url = live.dataset.statusUrl;
  var delay = 800, maxDelay = 3000, failures = 0;
  var elapsedAt = null, elapsedBase = 0, ticker = null;

  function byId(id) { return document.getElementById(id); }

  function setText(id, text) {
    var node = byId(id);
    if (node && node.textContent !== text) { node.textContent = text; }
  }

  function waitText(data) {
    if (data.state === "queued") {
      // one sentence whether or not the position is known, so the text does not flip
      var pos = data.queue_position ? "position " + data.queue_position : "position unknown";
      var wait = data.estimated_wait_s ? ", about " + duration(data.estimated_wait_s) : "";
      return "Waiting in the queue: " + pos + wait + ".";
    }
    var p = data.progress || {};
    return p.check ? "Grading your code: running " + p.check + "…" : "Grading your code…";
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) { return seconds + " s"; }
    return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  function tick() {
    if (elapsedAt === null) { return; }
    setText("elapsed", duration(elapsedBase + (Date.now() - elapsedAt) / 1000));
  }

  function setWaiting(data) {
    var text = byId("waiting-text");
    if (text) {
      var sentence = waitText(data);
      if (text.dataset.sentence !== sentence) {
        text.dataset.sentence = sentence;
        text.textContent = "";
        var spin = document.createElement("span");
        spin.className = "spinner";
        spin.setAttribute("aria-hidden", "true");
        text.appendChild(spin);
        text.appendChild(document.createTextNode(" " + sentence));
      }
    }
    var p = data.progress;
    if (p) {
      elapsedBase = p.elapsed_s || 0;
      elapsedAt = Date.now();
      if (ticker === null) { ticker = window.setInterval(tick, 1000); }
      tick();
      var bar = byId("progress-bar");
      if (p.checks_total) {
        setText("checks-done", p.checks_done + " of " + p.checks_total);
        if (bar) { bar.max = p.checks_total; bar.value = p.checks_done; }
      }
    }
  }

  function finish(data) {
    if (ticker !== null) { window.clearInterval(ticker); }
    byId("waiting").hidden = true;
    byId("result").innerHTML = data.result_html || "";
    var score = byId("score");
    if (score && data.score !== null && data.score !== undefined) {
      score.textContent = fmt(data.score) + " / " + fmt(data.max_score);
    }
    var outcome = byId("outcome");
    if (outcome) { outcome.innerHTML = data.outcome_html || ""; }
    live.dataset.done = "true";
  }

  function fmt(x) {
    return String(Math.round(x * 100) / 100);
  }

  function poll() {
    // "no-cache": the browser revalidates with If-None-Match and an unchanged status
    // costs the server a 304
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin",
                 cache: "no-cache" })
      .then(function (r) {
        if (r.status === 503) {  // the server is busy: wait as long as it asks
          failures += 1;
          var wait = 1000 * (parseInt(r.headers.get("Retry-After"), 10) || 2);
          window.setTimeout(poll, Math.max(wait, delay));
          return null;
        }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        if (data === null) { return; }
        failures = 0;
        byId("status-badge").innerHTML = data.badge_html;
        if (data.done) { finish(data); return; }
        setWaiting(data);
        delay = Math.min(maxDelay, delay * 1.25);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;
        window.setTimeout(poll, Math.min(15000, 1000 * Math.pow(2, failures)));
      });
  }
  window.setTimeout(poll, delay);
})();
