// The segment builder: condition rows become the segment language (docs/segments.md), shown as
// editable JSON; the live count comes from POST /api/segments/preview with the console's CSRF token.
// Options show the reader's labels (from #builder-data, translated on the server); their values stay
// the language's codes.
(function () {
  const data = JSON.parse(document.getElementById("builder-data").textContent);
  const L = data.labels, V = data.vocabulary;
  const rows = document.getElementById("conditions");
  const text = document.getElementById("definition");
  const count = document.getElementById("count");
  const problem = document.getElementById("preview-error");
  const NO_VALUE = ["exists", "not_exists"], LISTS = ["in", "not_in"];
  const byCode = list => Object.fromEntries(list.map(f => [f.code, f]));
  const ROLLUPS = byCode(V.rollups), SCORES = byCode(V.scores);
  const LOYALTY = byCode(V.loyalty || []);  // tier (a name or a rank), points balance, growth value

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    (children || []).forEach(c => node.append(c));
    return node;
  }
  // options: [[code, label], ...]; the label is shown, the code is the value.
  function select(cls, options, chosen) {
    const s = el("select", {class: cls});
    options.forEach(([value, label]) => {
      const o = el("option", {value: value}, [label]);
      if (value === chosen) o.selected = true;
      s.append(o);
    });
    return s;
  }
  function operators(codes) { return codes.map(code => [code, V.operators[code] || code]); }
  function input(cls, placeholder, value) {
    const i = el("input", {class: cls, placeholder: placeholder || ""});
    i.value = value || "";
    return i;
  }
  function typed(raw) {
    const t = raw.trim();
    if (t === "true" || t === "false") return t === "true";
    if (t !== "" && !isNaN(Number(t))) return Number(t);
    return t;
  }

  // A rollup or score row: the operators depend on the field, the value on the operator
  // (none for exists; a choice, or several, for the named scores; text otherwise).
  function fieldRow(fields, catalogue) {
    const key = select("key", Object.values(catalogue).map(f => [f.code, f.label]));
    const valueBox = el("span", {class: "value-box"});
    let op = null;
    function values() {
      valueBox.textContent = "";
      const field = catalogue[key.value];
      if (NO_VALUE.includes(op.value)) return;
      if (field.choices) {
        const choice = select("value choice", field.choices);
        if (LISTS.includes(op.value)) choice.multiple = true;
        valueBox.append(choice);
      } else {
        valueBox.append(input("value", LISTS.includes(op.value) ? L.values : L.value));
      }
      valueBox.querySelectorAll("input, select").forEach(f => f.addEventListener("input", changed));
    }
    function operatorsFor() {
      const previous = op ? op.value : null;
      const fresh = select("op", operators(catalogue[key.value].ops), previous);
      if (op) op.replaceWith(fresh);
      op = fresh;
      op.addEventListener("change", () => { values(); changed(); });
      values();
    }
    key.addEventListener("change", () => { operatorsFor(); changed(); });
    operatorsFor();
    fields.append(key, op, valueBox);
  }

  function addRow(kind) {
    const row = el("div", {class: "condition"});
    const kindSelect = select("kind", V.kinds, kind || "trait");
    row.append(kindSelect);
    const fields = el("span", {class: "fields"});
    row.append(fields);
    const remove = el("button", {type: "button", class: "link remove"}, [L.remove]);
    remove.addEventListener("click", () => { row.remove(); changed(); });
    row.append(remove);
    function build() {
      fields.textContent = "";
      const k = kindSelect.value;
      if (k === "trait") fields.append(input("key", L.name), select("op", operators(V.ops.trait)), input("value", L.value));
      if (k === "tag") fields.append(select("op", operators(V.ops.tag)),
                                     select("key", V.tags.length ? V.tags.map(t => [t, t]) : [["", ""]]));
      if (k === "identifier") fields.append(select("key", V.identifiers), select("op", operators(V.ops.identifier)));
      if (k === "event") fields.append(input("key", L.event, "Order Completed"), select("measure", V.measures),
                                       input("property", L.property, "revenue"), select("op", operators(V.ops.event)),
                                       input("value", L.value, "1"), input("within", L.within));
      if (k === "rollup") fieldRow(fields, ROLLUPS);
      if (k === "score") fieldRow(fields, SCORES);
      if (k === "loyalty") fieldRow(fields, LOYALTY);
      fields.querySelectorAll("input, select").forEach(f => f.addEventListener("input", changed));
      changed();
    }
    kindSelect.addEventListener("change", build);
    rows.append(row);
    build();
  }

  // A text field keeps "123" as text; elsewhere numbers and true/false are typed.
  function valueOf(row, op, kind) {
    const choice = row.querySelector(".choice");
    if (choice) {
      const picked = Array.from(choice.selectedOptions).map(o => o.value);
      return LISTS.includes(op) ? picked : picked[0];
    }
    const box = row.querySelector(".value");
    if (!box) return undefined;
    const convert = kind === "text" ? (v => v.trim()) : typed;
    return LISTS.includes(op) ? box.value.split(",").filter(v => v.trim()).map(convert) : convert(box.value);
  }

  function conditionOf(row) {
    const k = row.querySelector(".kind").value, f = n => row.querySelector("." + n);
    const op = f("op") ? f("op").value : undefined;
    if (k === "tag") return {tag: f("key").value, op: op};
    if (k === "identifier") return {identifier: f("key").value, op: op};
    if (k === "event") {
      const node = {event: f("key").value, measure: f("measure").value, op: op, value: valueOf(row, op)};
      if (node.measure !== "count") node.property = f("property").value || "revenue";
      if (f("within").value.trim()) node.within = f("within").value.trim();
      return node;
    }
    if (k === "loyalty") {  // a typed tier stays a name unless it is a rank ("2")
      const node = {loyalty: f("key").value, op: op};
      if (!NO_VALUE.includes(op)) node.value = valueOf(row, op, LOYALTY[node.loyalty].kind === "number" ? "number" : "any");
      return node;
    }
    const node = {[k]: f("key").value, op: op};
    const field = (k === "rollup" ? ROLLUPS : k === "score" ? SCORES : {})[node[k]];
    if (!NO_VALUE.includes(op)) node.value = valueOf(row, op, field ? field.kind : "any");
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
