/* The deliverability page's charts (Chart.js, vendored): one bar chart per figure, with one or more series,
   drawn from the numbers the page also shows in the table beside it. Each canvas says when it is drawn
   (data-drawn), for the tests. */
(function () {
  "use strict";

  var COLOURS = ["#166534", "#b91c1c", "#1d4ed8", "#92400e"];

  function format(value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "%") return value.toFixed(2) + "%";
    return value.toLocaleString() + " " + unit;
  }

  function draw(canvas, chart) {
    var horizontal = chart.horizontal;
    var valueAxis = {
      beginAtZero: true,
      ticks: {
        callback: function (value) {
          return chart.unit === "%" ? value + "%" : value;
        },
      },
    };
    if (chart.unit === "%") valueAxis.max = 100;
    if (chart.whole) valueAxis.ticks.precision = 0;
    var scales = horizontal ? { x: valueAxis, y: { ticks: { autoSkip: false } } } : { y: valueAxis, x: {} };
    var datasets = chart.datasets.map(function (series, index) {
      return {
        label: series.label,
        data: series.values,
        backgroundColor: COLOURS[index % COLOURS.length],
        borderRadius: 3,
        maxBarThickness: 36,
      };
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = horizontal ? context.parsed.x : context.parsed.y;
                return context.dataset.label + ": " + format(value, chart.unit);
              },
            },
          },
        },
      },
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function start() {
    var source = document.getElementById("deliverability-charts");
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
