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

  // Correct fields: check each value as it is typed; Save waits until every one reads (the server checks again).
  // As the server reads them (pipeline/extract/values.py): YYYY-MM-DD; D.M.YYYY (dots are always day-first);
  // D/M/YYYY or D-M-YYYY in the page's order; a month written as a word is left to the server.
  function isDate(text, order) {
    // year first: 2026-03-05, and as Hungarian (2026.03.05.) or East Asian (2026/03/05) pages print it
    var m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text) || /^(\d{4})\.\s?(\d{1,2})\.\s?(\d{1,2})\.?$/.exec(text) ||
      /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(text);
    var year, month, day;
    if (m) {
      year = +m[1]; month = +m[2]; day = +m[3];
    } else if ((m = /^(\d{1,2})(\.\s?|[\/-])(\d{1,2})(?:\.\s?|[\/-])(\d{4}|\d{2})$/.exec(text)) &&
               text.charAt(m[1].length + m[2].length + m[3].length) === m[2].charAt(0)) {
      year = m[4].length === 2 ? 2000 + +m[4] : +m[4];
      if (order === "mdy" && m[2].charAt(0) !== ".") { month = +m[1]; day = +m[3]; } else { day = +m[1]; month = +m[3]; }
    } else {
      return /^\d{1,2}(\.|st|nd|rd|th|er)?\s+(de\s+)?\p{L}{3,}\.?,?\s+(de\s+)?\d{2,4}$/u.test(text) ||
        /^\p{L}{3,}\.?\s+\d{1,2}(st|nd|rd|th)?\s?,?\s+\d{4}$/u.test(text);
    }
    var when = new Date(Date.UTC(year, month - 1, day));
    return month >= 1 && month <= 12 && when.getUTCFullYear() === year && when.getUTCMonth() === month - 1 &&
      when.getUTCDate() === day;
  }

  // An amount with the page's decimal separator or a point, perhaps grouped, perhaps with its currency beside it.
  var CURRENCY = "(?:[€$£¥]|[A-Za-z]{3}|kr\\.?|zł)";
  function isAmount(text, decimal) {
    var group = decimal === "," ? "[. '\u00a0\u202f]" : "[, '\u00a0\u202f]";
    var point = decimal === "," ? "[,.]" : "\\.";
    var number = "-?(?:\\d+(?:" + point + "\\d{1,4})?|\\d{1,3}(?:" + group + "\\d{3})+(?:" +
      (decimal === "," ? "," : "\\.") + "\\d{1,4})?)";
    return new RegExp("^(?:" + CURRENCY + "\\s?)?" + number + "(?:\\s?" + CURRENCY + ")?$").test(text);
  }

  function isCurrency(text) {
    return new RegExp("^" + CURRENCY + "$").test(text);
  }

  function problemOf(input, form) {
    var text = input.value.trim();
    if (!text) { return input.hasAttribute("data-required") ? "Required: the invoice cannot be sent without it." : ""; }
    var check = input.getAttribute("data-check");
    var order = form.getAttribute("data-date-order") || "dmy";
    var decimal = form.getAttribute("data-decimal") || ".";
    if (check === "date" && !isDate(text, order)) {
      return "Not a date: type it as 2026-03-05 or as the page prints it (" +
        (order === "mdy" ? "03/05/2026" : "05.03.2026") + ").";
    }
    if (check === "amount" && !isAmount(text, decimal)) {
      return "Not an amount: type it as " + (decimal === "," ? "1234,56 or 1234.56" : "1234.56") + ".";
    }
    if (check === "currency" && !isCurrency(text)) {
      return "Type the currency's three letters, like EUR.";
    }
    return "";
  }

  function checkForm(form, touched) {
    var wrong = false;
    form.querySelectorAll("input[name][data-check], input[data-required]").forEach(function (input) {
      var problem = problemOf(input, form);
      var holder = form.querySelector('[data-error-for="' + input.name + '"]');
      if (problem) {
        wrong = true;
      }
      // A message the server gave stays until the person changes that field.
      if (holder && (input === touched || (problem && (touched || !holder.textContent)))) {
        holder.textContent = problem;
        if (problem) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
        input.closest(".field").classList.toggle("wrong", !!problem);
      }
    });
    var save = form.querySelector("[data-save]");
    if (save) { save.disabled = wrong; }
  }

  document.querySelectorAll("form[data-correct]").forEach(function (form) {
    form.addEventListener("input", function (event) { checkForm(form, event.target); });
    checkForm(form, null);
  });

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
