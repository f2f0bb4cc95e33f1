// Small behaviours of the shell, dependency-free: menus close on Escape and outside clicks, flash messages
// can be dismissed, and the counter's phone field stays ready for the next scan.
(function () {
  "use strict";

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      // In the collapsed phone menu every group stays open: it is a list, not a dropdown.
      if (menu.closest(".nav.is-open")) return;
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  function setNavOpen(nav, open) {
    nav.classList.toggle("is-open", open);
    nav.querySelector("[data-nav-toggle]").setAttribute("aria-expanded", String(open));
    nav.querySelectorAll("details[data-nav-group]").forEach(function (group) {
      group.open = open;
    });
  }

  document.addEventListener("click", function (event) {
    var menu = event.target.closest("details[data-menu]");
    closeMenus(menu);
    var toggle = event.target.closest("[data-nav-toggle]");
    var nav = document.querySelector("[data-nav]");
    if (nav) {
      var open = toggle ? !nav.classList.contains("is-open") : false;
      if (toggle || !event.target.closest("[data-nav]")) {
        if (toggle || nav.classList.contains("is-open")) setNavOpen(nav, open);
      }
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.parentElement.remove();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var openNav = document.querySelector("[data-nav].is-open");
    if (openNav) {
      setNavOpen(openNav, false);
      openNav.querySelector("[data-nav-toggle]").focus();
      return;
    }
    var open = document.querySelector("details[data-menu][open]");
    if (open) {
      open.removeAttribute("open");
      var summary = open.querySelector("summary");
      if (summary) summary.focus();
      return;
    }
    var lookup = document.querySelector("form[data-lookup]");
    if (lookup) {
      var input = lookup.querySelector("input[name=phone]");
      var result = document.getElementById("lookup-result");
      if (result) result.innerHTML = "";
      if (input) {
        input.value = "";
        input.focus();
      }
    }
  });

  // After a customer card arrives, select the phone so the next scan or typing replaces it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "lookup-result") return;
    if (event.target.querySelector("[data-customer-card]")) {
      var input = document.getElementById("lookup-phone");
      if (input) input.select();
    } else {
      var firstInvalid = event.target.querySelector("[aria-invalid=true]");
      var firstEmpty = event.target.querySelector("form input[name=first_name]");
      if (firstInvalid) firstInvalid.focus();
      else if (firstEmpty && !firstEmpty.value) firstEmpty.focus();
    }
  });
})();
