// Pagero Connect status page: live updates without reloading, and a few conveniences.
// The page works without this file; it only makes it update by itself.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var version = document.body.getAttribute("data-version");
  var busy = false;

  function checkedIds() {
    var ids = {};
    document.querySelectorAll('input[type=checkbox][name=id]:checked').forEach(function (box) { ids[box.value] = true; });
    return ids;
  }

  // Replace every live region with the same region of a freshly rendered page; keep what the user ticked.
  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { return null; }
        return response.text();
      })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var ticked = checkedIds();
        document.querySelectorAll("[data-live][id]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          // Only what changed: an untouched region keeps its state (and the PDF beside it never reloads).
          if (replacement && replacement.innerHTML !== region.innerHTML) {
            region.replaceWith(document.importNode(replacement, true));
          }
        });
        document.querySelectorAll('input[type=checkbox][name=id]').forEach(function (box) {
          if (ticked[box.value]) { box.checked = true; }
        });
        bind();
      });
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch("/api/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.version !== version) {
          version = status.version;
          return refresh();
        }
      })
      .catch(function () { /* the server restarts now and then: try again at the next tick */ })
      .then(function () { busy = false; });
  }

  function bind() {
    var all = document.querySelector("[data-select-all]");
    if (all && !all.dataset.bound) {
      all.dataset.bound = "1";
      all.addEventListener("change", function () {
        document.querySelectorAll('input[type=checkbox][name=id]').forEach(function (box) { box.checked = all.checked; });
      });
    }
  }

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  if (version) {
    bind();
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", poll);
  }
})();
