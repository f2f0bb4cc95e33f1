// The segment builder: remove a condition row, then ask for the count again (htmx listens for the event).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-remove-condition]");
  if (!button) return;
  var row = button.closest(".seg-condition");
  if (row) row.remove();
  document.body.dispatchEvent(new CustomEvent("segment-changed", { bubbles: true }));
});
