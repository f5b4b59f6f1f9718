/* The admin's behaviour: session tokens when embedded, charts, live job progress. No inline code
   (the pages' CSP allows scripts from this app and, embedded, Shopify's App Bridge only). */
(function () {
  "use strict";

  var embedded = !!document.querySelector('meta[name="shopify-api-key"]');
  var here = new URL(window.location.href);
  var keep = {};
  ["shop", "host", "embedded"].forEach(function (k) {
    if (here.searchParams.get(k)) keep[k] = here.searchParams.get(k);
  });

  function sessionToken() {
    return window.shopify.idToken();
  }

  function withParams(url, values) {
    var u = new URL(url, window.location.href);
    Object.keys(values).forEach(function (k) { u.searchParams.set(k, values[k]); });
    return u.toString();
  }

  function hidden(form, name, value) {
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  // Embedded: every navigation and form carries a fresh session token (cookies are not used).
  if (embedded) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[href]");
      if (!link || link.origin !== window.location.origin || link.pathname.indexOf("/admin") !== 0) return;
      if (event.defaultPrevented || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      sessionToken().then(function (token) {
        window.location.assign(withParams(link.href, Object.assign({}, keep, { id_token: token })));
      });
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      event.preventDefault();
      sessionToken().then(function (token) {
        Object.keys(keep).forEach(function (k) { hidden(form, k, keep[k]); });
        hidden(form, "id_token", token);
        form.submit();
      });
    });
  }

  // A load without a token (from Shopify's admin): get one and load the page again.
  if (document.getElementById("bounce")) {
    sessionToken().then(function (token) {
      window.location.replace(withParams(window.location.href, { id_token: token }));
    });
  }

  function getJson(path) {
    var headers = { Accept: "application/json" };
    var ready = embedded
      ? sessionToken().then(function (token) { headers.Authorization = "Bearer " + token; })
      : Promise.resolve();
    return ready.then(function () {
      return fetch(path, { headers: headers, credentials: "same-origin" });
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // Charts (Chart.js, served by this app) from the page's JSON block.
  var dataBlock = document.getElementById("chart-data");
  if (dataBlock && window.Chart) {
    var data = JSON.parse(dataBlock.textContent);
    var common = { responsive: true, maintainAspectRatio: false, animation: false };
    var green = "#0b6e4f", grey = "#9aa7b1", amber = "#d4a017";
    if (data.segments && document.getElementById("chart-segments")) {
      new window.Chart(document.getElementById("chart-segments"), {
        type: "bar",
        data: {
          labels: data.segments.labels,
          datasets: [
            { label: "% of customers", data: data.segments.customers.map(function (v) { return 100 * v; }), backgroundColor: grey },
            { label: "% of revenue", data: data.segments.revenue.map(function (v) { return 100 * v; }), backgroundColor: green }
          ]
        },
        options: Object.assign({ indexAxis: "y", scales: { x: { ticks: { callback: function (v) { return v + "%"; } } } } }, common)
      });
    }
    if (data.clv && document.getElementById("chart-clv")) {
      new window.Chart(document.getElementById("chart-clv"), {
        type: "bar",
        data: {
          labels: data.clv.labels,
          datasets: [{ label: "Predicted 12-month value per customer", data: data.clv.values.map(Number), backgroundColor: amber }]
        },
        options: Object.assign({ indexAxis: "y", plugins: { legend: { display: false } } }, common)
      });
    }
  }

  // Sync and jobs: poll while something runs, then reload once to show the outcome.
  var jobs = document.querySelector("[data-poll]");
  if (jobs && jobs.querySelector("[data-run]")) {
    var timer = window.setInterval(function () {
      getJson(jobs.getAttribute("data-poll")).then(function (state) {
        var running = {};
        state.active.forEach(function (run) {
          running[run.id] = true;
          var row = jobs.querySelector('[data-run="' + run.id + '"]');
          if (!row) return;
          row.querySelector("progress").value = run.progress;
          row.querySelector(".job-pct").textContent = Math.round(100 * run.progress) + "%";
          row.querySelector(".job-msg").textContent = run.message || "";
        });
        var finished = Array.prototype.some.call(jobs.querySelectorAll("[data-run]"), function (row) {
          return !running[row.getAttribute("data-run")];
        });
        if (finished) {
          window.clearInterval(timer);
          jobs.querySelector("h2").textContent = "Finished: reloading…";
          if (embedded) {
            sessionToken().then(function (token) {
              window.location.replace(withParams(window.location.href, { id_token: token, notice: "" }));
            });
          } else {
            window.location.reload();
          }
        }
      }).catch(function () { window.clearInterval(timer); });
    }, 1500);
  }
})();
