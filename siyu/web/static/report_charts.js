// Report charts (ECharts), one renderer per report, fed by the page's own #chart-data.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const element = document.getElementById("chart");
  if (!data || !element) return;
  const zh = document.documentElement.lang.startsWith("zh");
  const chart = echarts.init(element, null, {locale: zh ? "ZH" : "EN"});
  window.addEventListener("resize", () => chart.resize());

  function retention(metric) {
    // cells: [period, row, on %, on-or-after %, returned, on or after, people, incomplete]
    const column = metric === "after" ? 3 : 2;
    const cells = data.cells.filter(c => c[column] !== null).map(c => ({
      value: [c[0], c[1], c[column]],
      raw: c,
      itemStyle: c[7] ? {opacity: 0.55} : undefined,
    }));
    element.style.height = Math.max(240, 34 * data.rows.length + 90) + "px";
    chart.resize();
    chart.setOption({
      animation: false,
      tooltip: {
        position: "top",
        formatter: p => `${data.rows[p.data.value[1]]} · ${data.names.period} ${p.data.value[0]}<br>` +
          `${data.names[metric]}: ${p.data.value[2]}% (${p.data.raw[metric === "after" ? 5 : 4]} / ` +
          `${p.data.raw[6]})${p.data.raw[7] ? " *" : ""}`,
      },
      grid: {left: 170, right: 16, top: 16, bottom: 70},
      xAxis: {type: "category", data: data.periods.map(n => "P" + n), splitArea: {show: true}},
      yAxis: {type: "category", data: data.rows, inverse: true, splitArea: {show: true}},
      visualMap: {min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                  inRange: {color: ["#fff5f8", "#c2185b"]}, text: ["100%", "0%"]},
      series: [{name: data.names[metric], type: "heatmap", data: cells,
                label: {show: true, formatter: p => p.data.value[2] + (p.data.raw[7] ? "*" : "")}}],
    }, true);
  }

  function funnel() {
    const many = data.series.length > 1;
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      legend: many ? {top: 0} : undefined,
      grid: {left: 56, right: 16, top: many ? 40 : 24, bottom: 40},
      xAxis: {type: "category", data: data.steps, axisLabel: {interval: 0}},
      yAxis: {type: "value", minInterval: 1, name: data.names.people},
      series: data.series.map(s => ({
        name: s.name, type: "bar", barMaxWidth: 64,
        data: s.people.map((n, i) => ({value: n, conversion: s.conversion[i]})),
        label: {show: true, position: "top", formatter: p => `${p.value} · ${p.data.conversion}%`},
      })),
    });
  }

  function activity() {
    const line = (name, values, axis) => ({name: name, type: "line", data: values, yAxisIndex: axis, showSymbol: false});
    chart.setOption({
      animation: false, tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 56, right: 56, top: 40, bottom: 30},
      xAxis: {type: "category", data: data.days},
      yAxis: [{type: "value", minInterval: 1, name: data.names.people},
              {type: "value", name: data.names.stickiness, axisLabel: {formatter: "{value}%"}, splitLine: {show: false}}],
      series: [line("DAU", data.series.dau, 0), line("WAU", data.series.wau, 0), line("MAU", data.series.mau, 0),
               Object.assign(line(data.names.stickiness, data.stickiness, 1), {lineStyle: {type: "dashed"}})],
    });
  }

  function revenue() {
    chart.setOption({
      animation: false, tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 72, right: 56, top: 40, bottom: 30},
      xAxis: {type: "category", data: data.periods},
      yAxis: [{type: "value", name: data.names.revenue}, {type: "value", minInterval: 1, splitLine: {show: false}}],
      series: [
        {name: data.names.revenue, type: "bar", data: data.revenue, barMaxWidth: 48},
        {name: data.names.orders, type: "line", yAxisIndex: 1, data: data.orders},
        {name: data.names.buyers, type: "line", yAxisIndex: 1, data: data.buyers},
      ],
    });
  }

  function repurchase() {
    chart.setOption({
      animation: false, tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 56, right: 56, top: 40, bottom: 30},
      xAxis: {type: "category", data: data.months},
      yAxis: [{type: "value", minInterval: 1},
              {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}, splitLine: {show: false}}],
      series: [
        {name: data.names.buyers, type: "bar", data: data.buyers, barMaxWidth: 48},
        {name: data.names.repeat, type: "bar", data: data.repeat, barMaxWidth: 48},
        {name: data.names.rate, type: "line", yAxisIndex: 1, data: data.rate,
         label: {show: true, formatter: p => p.value === null ? "" : p.value + "%"}},
      ],
    });
  }

  function channels() {
    chart.setOption({
      animation: false, tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 56, right: 56, top: 40, bottom: 30},
      xAxis: {type: "category", data: data.channels, axisLabel: {interval: 0}},
      yAxis: [{type: "value", minInterval: 1},
              {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}, splitLine: {show: false}}],
      series: [
        {name: data.names.new, type: "bar", data: data.new, barMaxWidth: 48, label: {show: true, position: "top"}},
        {name: data.names.retention, type: "line", yAxisIndex: 1, data: data.retention, connectNulls: false,
         label: {show: true, formatter: p => p.value === null || p.value === undefined ? "" : p.value + "%"}},
      ],
    });
  }

  function overview() {
    chart.setOption({
      animation: false, tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      grid: {left: 150, right: 80, top: 16, bottom: 30},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", inverse: true, data: data.measures.map(m => data.names[m])},
      series: [{type: "bar", barMaxWidth: 36,
                data: data.values.map((v, i) => ({value: v, rate: data.rates[i]})),
                label: {show: true, position: "right",
                        formatter: p => p.data.rate === null ? `${p.value}` : `${p.value} · ${p.data.rate}%`}}],
    });
  }

  const renderers = {retention: retention, funnel: funnel, activity: activity, revenue: revenue,
                     repurchase: repurchase, channels: channels, overview: overview};
  const metric = document.getElementById("metric");
  renderers[data.kind](metric ? metric.value : undefined);
  if (metric) metric.addEventListener("change", () => renderers[data.kind](metric.value));
})();
