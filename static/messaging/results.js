/* The message results page's charts (Chart.js, vendored): one bar chart per figure, drawn from the numbers
   the page also shows in the table beside it. Each canvas says when it is drawn (data-drawn), for the tests. */
(function () {
  "use strict";

  var COLOUR = "#166534";

  function format(value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "$") return "$" + value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (unit === "%") return value.toFixed(1) + "%";
    return value.toLocaleString() + " " + unit;
  }

  function draw(canvas, chart) {
    var horizontal = chart.horizontal;
    var valueAxis = {
      beginAtZero: true,
      ticks: {
        callback: function (value) {
          return chart.unit === "$" ? "$" + value : chart.unit === "%" ? value + "%" : value;
        },
      },
    };
    if (chart.unit === "%") valueAxis.max = 100;
    if (chart.whole) valueAxis.ticks.precision = 0; // counts of routes and orders: no 0.5 of a route
    var scales = horizontal ? { x: valueAxis, y: { ticks: { autoSkip: false } } } : { y: valueAxis, x: {} };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: [{ label: chart.label, data: chart.values, backgroundColor: COLOUR, borderRadius: 3, maxBarThickness: 42 }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                return format(horizontal ? context.parsed.x : context.parsed.y, chart.unit);
              },
            },
          },
        },
      },
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function start() {
    var source = document.getElementById("message-results-charts");
    if (!source || typeof Chart === "undefined") return;
    var charts = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = charts[canvas.getAttribute("data-chart")];
      if (chart) draw(canvas, chart);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
