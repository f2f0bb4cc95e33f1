/* The receipt page: the Print button (shown only when this script runs) and printing on arrival with ?print=1. */
(function () {
  "use strict";

  function start() {
    var button = document.querySelector("[data-print]");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    }
    if (document.body.hasAttribute("data-auto-print")) {
      // Let the page lay out before the print dialog takes over.
      window.setTimeout(function () {
        window.print();
      }, 150);
    } else if (button && !document.querySelector("[role=alert]")) {
      button.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
