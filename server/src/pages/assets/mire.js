// SPDX-License-Identifier: Apache-2.0
// The login page's live status: on the waiting page, long-polls the attempt's status and
// moves to the next page when it changes; shows a ticking timer, and announces the time
// left politely (at most every 30 s) through #countdown. Without this script the page
// refreshes itself (<noscript> meta refresh), so nothing here is needed to log in. The
// approved page moves on by its own meta refresh only: a second navigation to the continue
// step would find it already answered.
(function () {
  "use strict";
  var main = document.querySelector("main[data-status]");
  if (!main) { return; }
  var statusUrl = main.getAttribute("data-status");
  var deadline = Date.now() + 1000 * Number(main.getAttribute("data-expires-in") || "0");
  var timer = document.getElementById("timer");
  var countdown = document.getElementById("countdown");
  var template = countdown ? countdown.getAttribute("data-template") : "";
  var lastSaid = -1;

  function left() { return Math.max(0, Math.round((deadline - Date.now()) / 1000)); }
  function tick() {
    var s = left();
    if (timer) {
      timer.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }
    var slot = Math.floor(s / 30);
    if (countdown && template && slot !== lastSaid) {
      lastSaid = slot;
      countdown.textContent = template
        .replace("{m}", String(Math.floor(s / 60)))
        .replace("{s}", String(s % 60));
    }
    if (s > 0) { window.setTimeout(tick, 1000); }
  }
  tick();

  function go(body) {
    if (body && body.state === "approved" && body["continue"]) {
      window.location.assign(body["continue"]);
    } else {
      window.location.reload();
    }
  }
  function poll() {
    fetch(statusUrl + "?wait=25", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { state: "error" }; })
      .then(function (body) {
        if (body.state === "waiting") { poll(); } else { go(body); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  if (statusUrl) { poll(); }
})();
