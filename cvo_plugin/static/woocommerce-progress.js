// Polls the signed-in store's sync status and updates the progress page until the sync ends.
(function () {
  "use strict";
  var box = document.getElementById("sync");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("sync-progress");
  var message = document.getElementById("sync-message");
  var number = function (value) { return value === null || value === undefined ? "" : value.toLocaleString(); };

  function render(status) {
    var run = status.sync;
    if (run) {
      bar.value = run.progress || 0;
      if (run.status === "finished") {
        message.textContent = "Done: your store's data is here and stays current.";
      } else if (run.status === "failed") {
        message.textContent = "The sync stopped: " + (run.error || "unknown error");
      } else {
        message.textContent = run.message || "Starting…";
      }
    }
    (status.resources || []).forEach(function (row) {
      var tr = document.querySelector('tr[data-resource="' + row.resource + '"]');
      if (!tr) { return; }
      tr.querySelector(".status").textContent = row.status + (row.last_error ? ": " + row.last_error : "");
      tr.querySelector(".synced").textContent = number(row.records_synced || 0);
      tr.querySelector(".total").textContent = number(row.records_total);
    });
    return run && (run.status === "finished" || run.status === "failed");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && render(status)) { return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
