// The RFM grid (a heatmap of customers by recency and frequency score) and the lifecycle stages.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const zh = document.documentElement.lang.startsWith("zh");
  const locale = {locale: zh ? "ZH" : "EN"};
  const rfm = document.getElementById("rfm-chart");
  if (rfm) {
    const cells = data.grid.map(c => [c.r - 1, c.f - 1, c.customers]);
    const max = Math.max(1, ...data.grid.map(c => c.customers));
    echarts.init(rfm, null, locale).setOption({
      animation: false, tooltip: {position: "top"},
      grid: {left: 48, right: 16, top: 16, bottom: 70},
      xAxis: {type: "category", name: data.recency, nameLocation: "middle", nameGap: 28, data: [1, 2, 3, 4, 5]},
      yAxis: {type: "category", name: data.frequency, data: [1, 2, 3, 4, 5]},
      visualMap: {min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0},
      series: [{name: data.customers, type: "heatmap", data: cells, label: {show: true}}],
    });
  }
  echarts.init(document.getElementById("lifecycle-chart"), null, locale).setOption({
    animation: false, tooltip: {trigger: "axis"},
    grid: {left: 48, right: 16, top: 16, bottom: 30},
    xAxis: {type: "category", data: data.stages.map(s => s.name)},
    yAxis: {type: "value", minInterval: 1},
    series: [{name: data.customers, type: "bar", data: data.stages.map(s => s.value)}],
  });
})();
