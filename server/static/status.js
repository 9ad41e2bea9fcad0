// Live status of a submission page: short polling of the JSON status endpoint.
// The finished result arrives as server-rendered (escaped) HTML, so no reload is needed.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.done === "true") { return; }
  var url = live.dataset.statusUrl;
  var delay = 800, maxDelay = 3000, failures = 0;

  function setWaiting(data) {
    var text = document.getElementById("waiting-text");
    if (!text) { return; }
    if (data.state === "queued") {
      text.textContent = data.queue_position
        ? "Waiting in the queue: position " + data.queue_position + "."
        : "Waiting in the queue.";
    } else {
      text.textContent = "Grading your code…";
    }
  }

  function finish(data) {
    document.getElementById("waiting").hidden = true;
    document.getElementById("result").innerHTML = data.result_html || "";
    var score = document.getElementById("score");
    if (score && data.score !== null && data.score !== undefined) {
      score.textContent = fmt(data.score) + " / " + fmt(data.max_score);
    }
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
        document.getElementById("status-badge").innerHTML = data.badge_html;
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
