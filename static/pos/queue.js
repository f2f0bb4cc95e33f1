// The check-in queue, dependency-free: keyboard shortcuts at the door, focus that follows the check-in steps,
// the chosen register carried to "Serve", and a lobby screen that says when it has lost the server.
(function () {
  "use strict";

  function registerValue() {
    var select = document.querySelector("[data-queue-register]");
    return select ? select.value : "";
  }

  document.addEventListener("keydown", function (event) {
    // Alt+N: take the next customer.
    if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "n" || event.key === "N")) {
      var take = document.querySelector("[data-take-next]");
      if (take) {
        event.preventDefault();
        take.click();
      }
      return;
    }
    // Ctrl+Enter in the scan field checks the customer in (Enter alone is part of what a scanner types).
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target.closest && event.target.closest("form[data-checkin-form]");
      if (form) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      }
    }
  });

  // "Serve" uses the register chosen beside "Take next", even if it was changed without taking anyone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-serve]")) return;
    var input = form.querySelector("input[name=register]");
    if (input) input.value = registerValue();
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.target;
    if (target.id === "lookup-result") {
      if (target.querySelector("[data-checked-in]")) {
        var phone = document.getElementById("lookup-phone");
        if (phone) phone.select();
      } else if (target.querySelector("form[data-checkin-form]") && !target.querySelector("[aria-invalid=true]")) {
        var scan = target.querySelector("textarea[name=scan]");
        if (scan) scan.focus();
      }
    }
    if (target.id === "lobby-board") {
      var stale = document.querySelector("[data-lobby-stale]");
      if (stale) stale.hidden = true;
    }
  });

  // A signed-out session answers polls with the login page: load it as a page rather than inside the board.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/login/") !== -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });

  // The live queue refreshes every few seconds, except while someone is using a control inside it. Here, not in
  // an hx-trigger filter: htmx evaluates filters as code, which the Content-Security-Policy forbids.
  var live = document.getElementById("queue-live");
  if (live && live.dataset.pollSeconds) {
    window.setInterval(function () {
      if (!live.isConnected || live.contains(document.activeElement)) return;
      live.dispatchEvent(new CustomEvent("queue-poll"));
    }, Number(live.dataset.pollSeconds) * 1000);
  }

  function showStale() {
    var stale = document.querySelector("[data-lobby-stale]");
    if (stale) stale.hidden = false;
  }
  document.addEventListener("htmx:sendError", showStale);
  document.addEventListener("htmx:responseError", showStale);
})();
