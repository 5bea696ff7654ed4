// One journey's flow: its steps and branches drawn left to right as an ECharts graph, with the
// counts per step from GET /api/journeys/{id}/stats, fetched again every few seconds; and the
// publish / pause / resume / archive buttons (POST /api/journeys/{id}/<action>).
(function () {
  const data = JSON.parse(document.getElementById("journey-data").textContent);
  const L = data.labels, definition = data.definition;
  const steps = definition.steps || [];
  const lang = document.documentElement.lang;
  const number = n => Number(n || 0).toLocaleString(lang);
  const percent = v => v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";

  const kindOf = step => data.kinds ? Object.keys(data.kinds).find(k => k in step) : undefined;
  // Where each step leads, with the defaults of siyu.journeys.definitions: the following step, or end.
  function targets(step, index) {
    const following = index + 1 < steps.length ? steps[index + 1].id : "end";
    const kind = kindOf(step);
    if (kind === "exit") return [];
    if (kind === "wait_for") return [[step.on_event || following, L.event], [step.on_timeout || following, L.timeout]];
    if (kind === "condition") return [[step.then || following, L.then], [step["else"] || following, L["else"]]];
    if (kind === "split") return (step.split || []).map(b => [b.next || following, String(b.weight)]);
    return [[step.next || following, ""]];
  }

  // Columns by the longest path from the first step (the graph is acyclic: the parser refuses loops).
  const depth = {};
  steps.forEach((step, i) => { if (i === 0) depth[step.id] = 1; });
  for (let round = 0; round < steps.length; round++) {
    steps.forEach((step, i) => {
      if (depth[step.id] === undefined) return;
      targets(step, i).forEach(([to]) => { depth[to] = Math.max(depth[to] || 0, depth[step.id] + 1); });
    });
  }
  const columns = {};
  const place = id => { const d = depth[id] || 1; columns[d] = (columns[d] || 0) + 1; return [d, columns[d] - 1]; };
  const nodes = [{id: "__trigger", name: L.trigger, col: 0, row: 0}];
  steps.forEach(step => { const [col, row] = place(step.id); nodes.push({id: step.id, name: step.id, col, row, step}); });
  const usesEnd = steps.some((s, i) => targets(s, i).some(([to]) => to === "end"));
  if (usesEnd) { const [col, row] = place("end"); nodes.push({id: "end", name: L.end, col, row}); }
  const links = steps.length ? [{source: "__trigger", target: steps[0].id, label: ""}] : [];
  steps.forEach((step, i) => targets(step, i).forEach(([to, label]) => links.push({source: step.id, target: to, label})));
  const tallest = Math.max(1, ...nodes.map(n => n.row + 1));
  const box = document.getElementById("flow");
  box.style.height = Math.max(220, tallest * 120 + 40) + "px";
  const chart = echarts.init(box, null, {locale: lang.startsWith("zh") ? "ZH" : "EN"});

  function label(node, figures) {
    if (!node.step) return node.name;
    const f = figures[node.id] || {};
    return `{id|${node.id}}\n${data.kinds[kindOf(node.step)] || ""}\n` +
      `${L.entered} ${number(f.entered)} · ${L.waiting} ${number(f.waiting)} · ${L.completed} ${number(f.completed)}`;
  }
  function draw(stats) {
    const figures = Object.fromEntries((stats.steps || []).map(s => [s.step, s]));
    chart.setOption({
      animation: false, tooltip: {show: false},
      series: [{
        type: "graph", layout: "none", roam: true, symbol: "roundRect", symbolSize: [210, 64],
        // no arrowheads: edges meet the nodes' centres, under the boxes; the flow reads left to right
        itemStyle: {color: "#fff", borderColor: "#c2185b", borderWidth: 1},
        label: {show: true, color: "#1f2328", fontSize: 11, lineHeight: 15, rich: {id: {fontWeight: "bold", fontSize: 12}}},
        lineStyle: {color: "#9ca3af", width: 1.5, curveness: 0.1},
        edgeLabel: {show: true, fontSize: 11, color: "#6b7280", formatter: p => p.data.text || ""},
        data: nodes.map(n => ({name: n.id, x: n.col * 260, y: n.row * 110, label: {formatter: label(n, figures)},
                               itemStyle: n.step ? {} : {color: "#fce4ec"}})),
        links: links.map(l => ({source: l.source, target: l.target, text: l.label})),
      }],
    });
    const rows = document.querySelector("#steps tbody");
    rows.textContent = "";
    steps.forEach(step => {
      const f = figures[step.id] || {};
      const row = document.createElement("tr");
      row.dataset.step = step.id;
      const messages = f.messages_queued ? `${number(f.messages_queued)} (${L.stopped} ${number(f.messages_stopped)})` : "";
      [step.id, data.kinds[kindOf(step)] || "", number(f.entered), number(f.waiting), number(f.completed), messages]
        .forEach((text, i) => {
          const cell = document.createElement("td");
          cell.textContent = text;
          cell.className = ["step", "kind", "entered", "waiting", "completed", "messages"][i];
          row.append(cell);
        });
      rows.append(row);
    });
    const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
    ["entered", "active", "completed", "converted"].forEach(k => set(k, number(stats[k])));
    set("treatment-rate", percent(stats.treatment && stats.treatment.conversion_rate));
    set("holdout-rate", percent(stats.holdout && stats.holdout.conversion_rate));
    set("lift", percent(stats.lift));
  }

  async function refresh() {
    const response = await fetch(`/api/journeys/${data.id}/stats`, {credentials: "same-origin"});
    if (response.ok) draw(await response.json());
  }
  draw(data.stats);
  setInterval(refresh, data.refresh_seconds * 1000);
  window.addEventListener("resize", () => chart.resize());

  document.querySelectorAll("#actions button[data-action]").forEach(button => {
    button.addEventListener("click", async () => {
      const response = await fetch(`/api/journeys/${data.id}/${button.dataset.action}`, {method: "POST",
        credentials: "same-origin", headers: {"X-CSRF-Token": data.csrf}});
      if (response.ok) { window.location.reload(); return; }
      const body = await response.json();
      document.getElementById("action-error").textContent = body.error.message;
    });
  });
  // the buttons do something from here on (tests wait for this: a click before it would be lost)
  const actions = document.getElementById("actions");
  if (actions) actions.dataset.ready = "true";
})();
