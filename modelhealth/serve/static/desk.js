// Countdowns to SLA deadlines. The server renders each one ("in 2 h 05 min"); this keeps
// them moving. The desk's clock may differ from the browser's, so time is measured from
// the server's "now" in <body data-now>.
(function () {
  "use strict";
  var serverNow = Date.parse(document.body.getAttribute("data-now") || "");
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function text(ms) {
    var late = ms < 0;
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var body = d ? d + " d " + h + " h" : h ? h + " h " + (m < 10 ? "0" : "") + m + " min" : m + " min";
    return late ? "overdue by " + body : "in " + body;
  }

  function tick() {
    var now = Date.now() + offset;
    var clocks = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < clocks.length; i++) {
      var due = Date.parse(clocks[i].getAttribute("datetime"));
      if (isNaN(due)) { continue; }
      clocks[i].textContent = text(due - now);
      clocks[i].classList.toggle("late", due < now);
    }
  }

  tick();
  setInterval(tick, 15000);
})();
