/* The leaders' page charts (Chart.js, served from node_modules): drawn from the same JSON
   as the tables beside them. Without Chart.js the tables remain. */
(function () {
  "use strict";
  var source = document.getElementById("stats-data");
  if (!source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var percent = function (values) {
    return values.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; });
  };
  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { canvas.chart = new window.Chart(canvas, config); }
  }

  draw("chart-trend", {
    data: {
      labels: data.trend.labels,
      datasets: [
        { type: "bar", label: data.labels.received, data: data.trend.received, yAxisID: "count",
          backgroundColor: "#9db8d9" },
        { type: "line", label: data.labels.on_time, data: percent(data.trend.on_time), yAxisID: "share",
          borderColor: "#1d6b3a", backgroundColor: "#1d6b3a" },
        { type: "line", label: data.labels.online, data: percent(data.trend.online), yAxisID: "share",
          borderColor: "#b35c00", backgroundColor: "#b35c00" }
      ]
    },
    options: Object.assign({}, common, {
      scales: { count: { position: "left", beginAtZero: true },
                share: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } }
    })
  });

  ["agency", "procedure"].forEach(function (key) {
    draw("chart-" + key, {
      type: "bar",
      data: {
        labels: data[key].labels,
        datasets: [
          { label: data.labels.on_time, data: percent(data[key].on_time), backgroundColor: "#1d6b3a" },
          { label: data.labels.online, data: percent(data[key].online), backgroundColor: "#b35c00" }
        ]
      },
      options: Object.assign({}, common, { indexAxis: "y", scales: { x: { min: 0, max: 100 } } })
    });
  });
}());
