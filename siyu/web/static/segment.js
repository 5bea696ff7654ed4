// A segment's size per day, with entries and exits (from /segments/{id}'s own #chart-data).
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const zh = document.documentElement.lang.startsWith("zh");
  const chart = echarts.init(document.getElementById("chart"), null, {locale: zh ? "ZH" : "EN"});
  chart.setOption({
    animation: false, tooltip: {trigger: "axis"}, legend: {top: 0},
    grid: {left: 48, right: 16, top: 40, bottom: 30},
    xAxis: {type: "category", data: data.labels}, yAxis: {type: "value", minInterval: 1},
    series: [
      {name: data.names.size, type: "line", data: data.size},
      {name: data.names.entered, type: "bar", data: data.entered},
      {name: data.names.exited, type: "bar", data: data.exited},
    ],
  });
  window.addEventListener("resize", () => chart.resize());
})();
