// Live progress for the queue and run pages. The server-rendered page is complete without this
// script; it only refreshes the progress bars of queued/running runs by polling
// `<queue url>?format=json&ids=...`, and reloads the page when a run changes state so that it
// moves to its new section (or shows its results), or, on a run page, when another benchmark's
// score was stored (results appear benchmark by benchmark).
(function () {
  "use strict";

  var ACTIVE = { queued: true, running: true };
  var INTERVAL_MS = 2000;
  var root = document.querySelector("[data-poll-url]");
  if (!root || !window.fetch) {
    return;
  }

  function containers() {
    var nodes = document.querySelectorAll("[data-run-id]");
    var byId = {};
    for (var i = 0; i < nodes.length; i++) {
      var id = nodes[i].getAttribute("data-run-id");
      (byId[id] = byId[id] || []).push(nodes[i]);
    }
    return byId;
  }

  function setText(container, field, value) {
    var nodes = container.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = value;
    }
  }

  function update(container, run) {
    setText(container, "done", run.done);
    setText(container, "total", run.total);
    setText(container, "percent", run.percent);
    setText(container, "status", run.status_display);
    setText(container, "queue_display", run.queue_display || "");
    setText(container, "duration_display", run.duration_display || "—");
    setText(container, "eta_display", run.eta_display || "");
    var bars = container.querySelectorAll("progress.progress");
    for (var i = 0; i < bars.length; i++) {
      bars[i].max = run.total || 1;
      bars[i].value = run.done;
      bars[i].textContent = run.percent + "%";
    }
  }

  var timer = null;

  function poll() {
    var byId = containers();
    var ids = [];
    for (var id in byId) {
      if (ACTIVE[byId[id][0].getAttribute("data-status")]) {
        ids.push(id);
      }
    }
    if (!ids.length) {
      return; // nothing left to watch
    }
    var url = root.getAttribute("data-poll-url") + "&ids=" + ids.join(",");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var changed = false;
        (data.runs || []).forEach(function (run) {
          (byId[String(run.id)] || []).forEach(function (container) {
            if (container.getAttribute("data-status") !== run.status) {
              changed = true;
            }
            // The run page lists results per benchmark: reload when another benchmark has its score.
            var shown = container.getAttribute("data-results");
            if (shown !== null && run.results !== undefined && String(run.results) !== shown) {
              changed = true;
            }
            update(container, run);
          });
        });
        if (changed) {
          window.location.reload();
          return;
        }
        timer = window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () {
        // The server is restarting or unreachable: try again later, more slowly.
        timer = window.setTimeout(poll, INTERVAL_MS * 5);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden && timer) {
      window.clearTimeout(timer);
      timer = null;
    } else if (!document.hidden && !timer) {
      poll();
    }
  });
  timer = window.setTimeout(poll, INTERVAL_MS);
})();
