// The segment builder: condition rows become the segment language (docs/segments.md), shown as
// editable JSON; the live count comes from POST /api/segments/preview with the console's CSRF token.
(function () {
  const data = JSON.parse(document.getElementById("builder-data").textContent);
  const L = data.labels, V = data.vocabulary;
  const rows = document.getElementById("conditions");
  const text = document.getElementById("definition");
  const count = document.getElementById("count");
  const problem = document.getElementById("preview-error");
  const OPS = {
    trait: ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists", "not_exists", "within_last", "before", "after"],
    tag: ["has", "has_not"], identifier: ["exists", "not_exists"],
    event: ["gte", "eq", "lte", "gt", "lt"], rollup: ["gte", "lte", "eq", "ne", "gt", "lt", "within_last", "not_within_last"],
    score: ["eq", "ne", "gte", "lte", "in"],
  };
  const IDENTIFIERS = ["phone", "email", "wechat_unionid", "wechat_openid", "wecom_external_userid", "member_id", "user_id"];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    (children || []).forEach(c => node.append(c));
    return node;
  }
  function select(cls, values, chosen) {
    const s = el("select", {class: cls});
    values.forEach(v => { const o = el("option", {value: v}, [v]); if (v === chosen) o.selected = true; s.append(o); });
    return s;
  }
  function input(cls, placeholder, value) {
    const i = el("input", {class: cls, placeholder: placeholder || ""});
    i.value = value || "";
    return i;
  }
  function typed(raw) {
    const t = raw.trim();
    if (t === "true" || t === "false") return t === "true";
    if (t !== "" && !isNaN(Number(t))) return Number(t);
    if (/^\d+[mhdw]$/.test(t)) return t;
    return t;
  }

  function addRow(kind) {
    const row = el("div", {class: "condition"});
    const kindSelect = select("kind", Object.keys(OPS), kind || "trait");
    row.append(kindSelect);
    const fields = el("span", {class: "fields"});
    row.append(fields);
    const remove = el("button", {type: "button", class: "link remove"}, [L.remove]);
    remove.addEventListener("click", () => { row.remove(); changed(); });
    row.append(remove);
    function build() {
      fields.textContent = "";
      const k = kindSelect.value;
      if (k === "trait") fields.append(input("key", L.name), select("op", OPS.trait), input("value", L.value));
      if (k === "tag") fields.append(select("op", OPS.tag), select("key", V.tags.length ? V.tags : [""]));
      if (k === "identifier") fields.append(select("key", IDENTIFIERS), select("op", OPS.identifier));
      if (k === "event") fields.append(input("key", L.event, "Order Completed"), select("measure", ["count", "sum"]),
                                       input("property", "revenue"), select("op", OPS.event), input("value", L.value, "1"),
                                       input("within", L.within));
      if (k === "rollup") fields.append(select("key", V.rollups), select("op", OPS.rollup), input("value", L.value));
      if (k === "score") fields.append(select("key", V.scores), select("op", OPS.score), input("value", L.value));
      fields.querySelectorAll("input, select").forEach(f => f.addEventListener("input", changed));
      changed();
    }
    kindSelect.addEventListener("change", build);
    rows.append(row);
    build();
  }

  function conditionOf(row) {
    const k = row.querySelector(".kind").value, f = n => row.querySelector("." + n);
    const op = f("op") ? f("op").value : undefined, value = f("value") ? typed(f("value").value) : undefined;
    if (k === "tag") return {tag: f("key").value, op: op};
    if (k === "identifier") return {identifier: f("key").value, op: op};
    if (k === "event") {
      const node = {event: f("key").value, measure: f("measure").value, op: op, value: value};
      if (node.measure === "sum") node.property = f("property").value || "revenue";
      if (f("within").value.trim()) node.within = f("within").value.trim();
      return node;
    }
    const node = {[k]: f("key").value, op: op};
    if (op !== "exists" && op !== "not_exists") node.value = op === "in" ? String(value).split(",").map(typed) : value;
    return node;
  }

  let timer = null;
  function changed() {
    const nodes = Array.from(rows.children).map(conditionOf);
    const combine = document.getElementById("combine").value;
    const definition = nodes.length === 1 ? nodes[0] : {[combine]: nodes};
    text.value = JSON.stringify(definition, null, 2);
    schedule();
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 250); }
  function current() { try { return JSON.parse(text.value); } catch (e) { return null; } }

  async function call(url, body) {
    const response = await fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
    return [response.ok, await response.json()];
  }
  async function preview() {
    const definition = current();
    if (!definition) { problem.textContent = "JSON"; return; }
    const [ok, body] = await call("/api/segments/preview", {definition: definition});
    problem.textContent = ok ? "" : body.error.message;
    count.textContent = ok ? body.count.toLocaleString(document.documentElement.lang) : "—";
  }

  document.getElementById("add-condition").addEventListener("click", () => addRow());
  document.getElementById("combine").addEventListener("change", changed);
  text.addEventListener("input", schedule);
  document.getElementById("save").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [ok, body] = await call("/api/segments", {name: document.getElementById("new-segment-name").value,
                                                     definition: current()});
    if (ok) window.location.href = "/segments/" + body.id; else problem.textContent = body.error.message;
  });
  addRow("trait");
})();
