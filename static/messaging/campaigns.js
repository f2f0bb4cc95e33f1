/* A campaign's results chart (Chart.js, vendored): delivered, opened, clicked and converted per variant, from
   the numbers the table beside it shows. The canvas says when it is drawn (data-drawn), for the tests. */
(function () {
  "use strict";

  var COLOURS = ["#166534", "#1d4ed8", "#92400e", "#b91c1c"];

  function start() {
    var source = document.getElementById("campaign-chart");
    var canvas = document.querySelector("canvas[data-chart='results']");
    if (!source || !canvas || typeof Chart === "undefined") return;
    var chart = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (series, index) {
          return {
            label: series.label,
            data: series.values,
            backgroundColor: COLOURS[index % COLOURS.length],
            borderRadius: 3,
            maxBarThickness: 32,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    canvas.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
