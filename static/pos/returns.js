// The refund form of a sale's page, dependency-free: "All" fills a line's quantity left to refund, and the
// register to pay cash from is asked only when the money goes back in cash. Without JavaScript the form
// works the same, every field shown.
(function () {
  "use strict";

  function registerField(form) {
    var select = form.querySelector("select[name$='-register']");
    return select ? select.closest(".field") : null;
  }

  function syncTender(form) {
    var field = registerField(form);
    var checked = form.querySelector("input[name$='-tender_kind']:checked");
    if (field) field.hidden = Boolean(checked && checked.value !== "cash");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-refund-all]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-refund-all"));
    if (input) {
      input.value = button.getAttribute("data-quantity");
      input.focus();
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-refund-form]");
    if (form && /-tender_kind$/.test(event.target.name)) syncTender(form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-refund-form]").forEach(syncTender);
  });
})();
