// The register screen, dependency-free: keeps the scan field focused (a scanner types a code then Enter),
// keyboard shortcuts (F2 search, F4 phone, F6 ID, F8 cash, F9 complete, Esc back to scanning), the change due,
// and completion that survives a lost connection: the cart id, its idempotency key and the tenders typed are
// kept in localStorage and the completion is sent again, with the same key, until the server answers.
(function () {
  "use strict";

  var STORAGE_KEY = "pos.register.pending";
  var CART_KEY = "pos.register.cart";
  var RETRY_FIRST_MS = 2000;
  var RETRY_MAX_MS = 15000;
  var retryTimer = null;
  var inFlight = false;

  if (window.htmx) window.htmx.config.timeout = 15000;

  function workspace() { return document.getElementById("register-workspace"); }
  function byId(id) { return document.getElementById(id); }
  function banner() { return document.querySelector("[data-offline-banner]"); }

  function showOffline(on) {
    var element = banner();
    if (element) element.hidden = !on;
  }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) { /* storage full or disabled: the server's key still prevents a second sale */ }
  }

  function load(key) {
    try { return JSON.parse(window.localStorage.getItem(key) || "null"); } catch (error) { return null; }
  }

  function focusScan() {
    var input = byId("register-scan");
    // Already there: leave what the scanner may have typed meanwhile as it is.
    if (input && document.activeElement !== input) { input.focus(); input.select(); }
  }

  // The rows the screen shows, each with the key of what it shows: an update answers only the rows that differ.
  function rowsShown() {
    var rows = document.querySelectorAll("#register-lines-body [data-line]");
    var keys = [];
    for (var i = 0; i < rows.length; i++) {
      keys.push(rows[i].getAttribute("data-line") + ":" + rows[i].getAttribute("data-row-key"));
    }
    return keys.join(",");
  }

  function money(text) {
    var value = parseFloat(String(text || "").replace(/[^0-9.\-]/g, ""));
    return isNaN(value) ? 0 : value;
  }

  function tendersTyped() {
    var form = document.querySelector("[data-tender-form]");
    if (!form) return [];
    var tenders = [];
    var card = form.querySelector("[data-tender=card]").value.trim();
    var reference = form.querySelector("[data-tender=reference]").value.trim();
    var cash = form.querySelector("[data-tender=cash]").value.trim();
    if (card && money(card) !== 0) tenders.push({ kind: "card", amount: card, reference: reference });
    if (cash && money(cash) !== 0) tenders.push({ kind: "cash", amount: cash, reference: "" });
    return tenders;
  }

  function updateChange() {
    var root = workspace();
    var out = document.querySelector("[data-change-due]");
    if (!root || !out) return;
    var form = document.querySelector("[data-tender-form]");
    var totals = document.querySelector("[data-totals]");
    var total = money(totals ? totals.getAttribute("data-total") : 0);
    var card = money(form.querySelector("[data-tender=card]").value);
    var cash = money(form.querySelector("[data-tender=cash]").value);
    var change = cash - Math.max(0, total - card);
    out.textContent = (change > 0 ? change : 0).toFixed(2);
  }

  function rememberCart() {
    var root = workspace();
    if (!root) return;
    store(CART_KEY, {
      cart_id: root.getAttribute("data-cart-id"),
      idempotency_key: root.getAttribute("data-idempotency-key"),
      url: root.getAttribute("data-complete-url"),
      tenders: tendersTyped()
    });
  }

  function csrfToken() {
    var input = document.querySelector("[data-tender-form] input[name=csrfmiddlewaretoken]") ||
      document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(message) {
    var element = document.querySelector("[data-tender-error]");
    if (element) { element.textContent = message; element.hidden = false; }
  }

  function setBusy(busy) {
    var button = document.querySelector("[data-complete]");
    if (button) {
      button.disabled = busy;
      button.setAttribute("aria-busy", busy ? "true" : "false");
    }
  }

  function scheduleRetry(pending, delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { send(pending, Math.min(delay * 2, RETRY_MAX_MS)); }, delay);
  }

  // One completion attempt. A network failure (or a gateway that cannot reach the server) keeps the pending
  // completion and tries again; any answer from the server ends the retries.
  function send(pending, nextDelay) {
    inFlight = true;
    setBusy(true);
    var request;
    try {
      request = window.fetch(pending.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
        body: JSON.stringify({ idempotency_key: pending.idempotency_key, tenders: pending.tenders })
      });
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(function (response) {
      if (response.status === 502 || response.status === 503 || response.status === 504) {
        throw new Error("gateway " + response.status);
      }
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        // A login page after an expired session, or an error page: the server answered, but not the sale.
        return { ok: false, data: { message: "The sale was not completed (the server answered " + response.status +
          "). Log in again if asked; the cart is kept, and completing it again cannot make a second sale." } };
      }
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      inFlight = false;
      showOffline(false);
      store(STORAGE_KEY, null);
      if (answer.ok) {
        store(CART_KEY, null);
        window.location.assign(answer.data.receipt_url);
        return;
      }
      setBusy(false);
      showError(answer.data.message || "The sale was not completed.");
    }, function () {
      showOffline(true);
      scheduleRetry(pending, nextDelay || RETRY_FIRST_MS);
    });
  }

  function complete(event) {
    event.preventDefault();
    if (inFlight) return;
    var root = workspace();
    if (!root) return;
    var pending = {
      cart_id: root.getAttribute("data-cart-id"),
      idempotency_key: root.getAttribute("data-idempotency-key"),
      url: root.getAttribute("data-complete-url"),
      tenders: tendersTyped()
    };
    store(STORAGE_KEY, pending);
    send(pending, RETRY_FIRST_MS);
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-tender-form]")) complete(event);
  });

  document.addEventListener("input", function (event) {
    if (event.target.closest("[data-tender-form]")) {
      updateChange();
      rememberCart();
    }
  });

  // Keyboard: function keys jump to the fields; Esc goes back to scanning. In the search results, arrows move.
  document.addEventListener("keydown", function (event) {
    var target = null;
    if (event.key === "F2") target = byId("register-search");
    else if (event.key === "F4") target = byId("register-phone");
    else if (event.key === "F6") target = byId("register-id-scan");
    else if (event.key === "F8") target = byId("register-cash");
    if (target) { event.preventDefault(); target.focus(); if (target.select) target.select(); return; }
    if (event.key === "F9") {
      event.preventDefault();
      var button = document.querySelector("[data-complete]");
      if (button && !button.disabled) button.closest("form").requestSubmit(button);
      return;
    }
    if (event.key === "Escape" && !document.querySelector("details[data-menu][open]")) {
      var results = byId("search-results");
      if (results) results.innerHTML = "";
      focusScan();
      return;
    }
    var picks = Array.prototype.slice.call(document.querySelectorAll("[data-search-pick]"));
    if (!picks.length) return;
    var inSearch = event.target.matches("[data-search-input]");
    var index = picks.indexOf(event.target);
    if (event.key === "ArrowDown" && (inSearch || index >= 0)) {
      event.preventDefault();
      picks[Math.min(index + 1, picks.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) byId("register-search").focus(); else picks[index - 1].focus();
    } else if (event.key === "Enter" && inSearch) {
      event.preventDefault();
      picks[0].focus();
      picks[0].click();
    }
  });

  // Focus that falls to nowhere (a click on the page, a swap) goes back to the scan field.
  document.addEventListener("focusout", function () {
    setTimeout(function () {
      if (document.activeElement === document.body || document.activeElement === null) focusScan();
    }, 0);
  });

  // A change of lines or the ID is answered with only what it changed (out-of-band swaps): tell the server which
  // rows the screen has. A scan's code leaves the field once the server has it, so the scanner can go on.
  var scanSent = null;
  var updatePending = false;
  var searchPicked = false;
  document.addEventListener("htmx:configRequest", function (event) {
    var root = workspace();
    if (!root || !root.contains(event.detail.elt) || event.detail.verb !== "post") return;
    event.detail.parameters.rows = rowsShown();
    updatePending = true;
    if (event.detail.elt.matches("[data-scan-form]")) scanSent = event.detail.parameters.code;
    if (event.detail.elt.closest("#search-results")) searchPicked = true;
  });

  function afterUpdate() {
    if (searchPicked) {
      // A product picked from the search is in the cart: the search is done, as the scan field's code is.
      searchPicked = false;
      var results = byId("search-results");
      if (results) results.innerHTML = "";
      var search = byId("register-search");
      if (search) search.value = "";
    }
    showOffline(false);
    updateChange();
    rememberCart();
    if (document.querySelector("[data-lookup-error]")) byId("register-phone").focus();
    else focusScan();
  }

  // Once the answer to a change is in place (the whole workspace, or only its changed parts, whose form may
  // have been replaced meanwhile): the change due, the cart kept for completion, and the focus back to scanning.
  document.addEventListener("htmx:afterSettle", function () {
    if (!updatePending) return;
    updatePending = false;
    afterUpdate();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) updatePending = false;  // nothing swapped in: nothing to settle
    if (event.detail.successful || (event.detail.xhr && event.detail.xhr.status)) showOffline(false);
    var form = event.detail.elt;
    if (event.detail.successful && form && form.matches && form.matches("[data-scan-form]")) {
      var input = byId("register-scan");
      var quantity = form.querySelector("[name=quantity]");
      if (input && input.value === scanSent) input.value = "";
      if (quantity) quantity.value = "";
      scanSent = null;
    }
  });
  document.addEventListener("htmx:sendError", function () { showOffline(true); });
  document.addEventListener("htmx:timeout", function () { showOffline(true); });

  document.addEventListener("DOMContentLoaded", function () {
    updateChange();
    var pending = load(STORAGE_KEY);
    if (pending && pending.url) {
      // A completion that never got its answer (the page was closed or reloaded while offline): send it again.
      send(pending, RETRY_FIRST_MS);
    } else {
      rememberCart();
    }
    focusScan();
  });
})();
