// Draws the job page's charts with Chart.js (from npm, served locally): outcome
// counts as stacked bars, average duration as a line on its own axis.
(function () {
  function draw(canvasId, dataId) {
    const canvas = document.getElementById(canvasId);
    const data = JSON.parse(document.getElementById(dataId).textContent);
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: "Succeeded", data: data.succeeded, backgroundColor: "#2e7d32", stack: "runs", yAxisID: "runs" },
          { type: "bar", label: "Failed", data: data.failed, backgroundColor: "#c62828", stack: "runs", yAxisID: "runs" },
          { type: "line", label: "Average duration (ms)", data: data.duration, borderColor: "#1565c0", spanGaps: true, yAxisID: "ms" },
        ],
      },
      options: {
        animation: false,
        scales: {
          runs: { position: "left", beginAtZero: true, stacked: true, ticks: { precision: 0 }, title: { display: true, text: "runs" } },
          ms: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "ms" } },
          x: { stacked: true },
        },
      },
    });
  }
  // htmx swaps in fresh canvases every minute; the charts on the old ones would stay
  // in Chart.js's registry (and keep resize observers) unless destroyed.
  Object.values(Chart.instances).forEach(function (chart) {
    if (!chart.canvas || !chart.canvas.isConnected) chart.destroy();
  });
  draw("chart-day", "chart-day-data");
  draw("chart-week", "chart-week-data");
})();
