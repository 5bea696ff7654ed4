// Apache ECharts 5.6.0 is vendored in vendor/echarts (dist/echarts.min.js, LICENSE, NOTICE from `npm pack echarts@5.6.0`).
// The home page's chart: new customers per day, stacked by first-touch channel. Data comes from the
// page itself (#chart-data), so the chart needs no API call and works offline.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const zh = document.documentElement.lang.startsWith("zh");
  const chart = echarts.init(document.getElementById("chart"), null, {locale: zh ? "ZH" : "EN"});
  chart.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {top: 0, type: "scroll"},
    grid: {left: 40, right: 16, top: 40, bottom: 30},
    xAxis: {type: "category", data: data.labels},
    yAxis: {type: "value", minInterval: 1},
    series: data.series.map(s => ({name: s.name, type: "bar", stack: "new", data: s.values})),
  });
  window.addEventListener("resize", () => chart.resize());
})();
