// A chart of figures per day (channel codes, forms): a line (or with type "bar", bars) per series, from the page's own
// #chart-data ({type?, labels, series: [{code, name, values}]}), so it needs no API call.
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
    series: data.series.map(s => ({name: s.name, type: data.type || "line", data: s.values})),
  });
  window.addEventListener("resize", () => chart.resize());
})();
