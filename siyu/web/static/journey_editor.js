// The journey editor: a form per step that builds the definition of docs/journeys.md and saves it
// through POST /api/journeys (new) or PATCH /api/journeys/{id} (the draft). The API's refusal names a
// path (steps[2].send.content.subject); the message is shown beside that step's field, or at the top
// of the step or section when no field matches. Each field carries its definition path in data-path.
(function () {
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const L = data.labels, V = data.vocabulary;
  const $ = id => document.getElementById(id);
  const form = $("editor"), list = $("steps");
  const kept = {policy: data.definition.policy};  // not edited here; saved as it was

  // --- small helpers ---------------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) node.setAttribute(k, v); });
    (children || []).forEach(c => node.append(c));
    return node;
  }
  function get(object, path) {
    return path.split(".").reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), object);
  }
  function put(object, path, value) {
    const parts = path.split(".");
    parts.slice(0, -1).forEach(p => { object = object[p] = (typeof object[p] === "object" && object[p]) || {}; });
    object[parts[parts.length - 1]] = value;
  }
  class Invalid extends Error { constructor(path, message) { super(message); this.path = path; } }

  // --- fields: [path, type, label, options] ------------------------------------------------------
  // Types: text, number, textarea, json, list (commas), pairs (name=value), values (WeChat data),
  // traits (typed name=value), branches (weight next), target, select, check.
  function input(type, value, options) {
    if (type === "select") {
      const box = el("select");
      options.forEach(([v, label]) => { const o = el("option", {value: v}, [label]); box.append(o); });
      box.value = value === undefined ? options[0][0] : String(value);
      return box;
    }
    if (type === "target") {  // its choices are the other steps' ids: filled in by targets()
      const box = el("select");
      box.dataset.initial = value || "";
      return box;
    }
    if (type === "check") { const box = el("input", {type: "checkbox"}); box.checked = value !== false; return box; }
    const long = ["textarea", "json", "pairs", "values", "traits", "branches"].includes(type);
    const box = el(long ? "textarea" : "input", long ? {rows: 3, spellcheck: "false"} : {});
    if (type === "number") box.type = "number";
    box.value = shown(type, value);
    return box;
  }
  function shown(type, value) {
    if (value === undefined || value === null) return "";
    if (type === "json") return JSON.stringify(value, null, 2);
    if (type === "list") return (Array.isArray(value) ? value : [value]).join(", ");
    if (type === "pairs") return Object.entries(value).map(([k, v]) => `${k}=${v}`).join("\n");
    if (type === "values") return Object.entries(value).map(([k, v]) => `${k}=${v && v.value !== undefined ? v.value : v}`).join("\n");
    if (type === "traits") return Object.entries(value).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
    if (type === "branches") return value.map(b => `${b.weight}${b.next ? " " + b.next : ""}`).join("\n");
    return typeof value === "object" ? JSON.stringify(value) : String(value);  // {"zh", "en"} variants as JSON
  }
  function lines(text) { return text.split("\n").map(l => l.trim()).filter(Boolean); }
  function pairsOf(text, path) {
    const found = {};
    for (const line of lines(text)) {
      const at = line.indexOf("=");
      if (at < 1) throw new Invalid(path, L.pairs);
      found[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return found;
  }
  function parsed(type, box, path) {
    const raw = box.type === "checkbox" ? box.checked : box.value;
    if (type === "check") return raw;
    if (type !== "select" && type !== "target" && !raw.trim()) return undefined;
    switch (type) {
      case "number": return Number(raw);
      case "json": try { return JSON.parse(raw); } catch (e) { throw new Invalid(path, L.json); }
      case "list": return raw.split(/[,，]/).map(s => s.trim()).filter(Boolean);
      case "pairs": return pairsOf(raw, path);
      case "values": return Object.fromEntries(Object.entries(pairsOf(raw, path)).map(([k, v]) => [k, {value: v}]));
      case "traits": return Object.fromEntries(Object.entries(pairsOf(raw, path)).map(([k, v]) => {
        try { const t = JSON.parse(v); return [k, typeof t === "object" && t !== null ? v : t]; } catch (e) { return [k, v]; }
      }));
      case "branches": return lines(raw).map(line => {
        const [weight, next] = line.split(/\s+/);
        if (!/^\d+$/.test(weight)) throw new Invalid(path, L.branches);
        return next ? {weight: Number(weight), next: next} : {weight: Number(weight)};
      });
      case "target": return raw || undefined;
      case "select": return raw;
      default:
        if (raw.trim().startsWith("{")) { try { return JSON.parse(raw); } catch (e) { return raw; } }
        return raw;
    }
  }
  function field(path, type, label, value, options) {
    const box = input(type, value, options);
    box.dataset.path = path;
    box.dataset.type = type;
    box.setAttribute("aria-label", label);
    return el("div", {class: "field"}, [el("label", {}, [label]), box, el("span", {class: "field-error", "data-for": path})]);
  }

  // --- steps -------------------------------------------------------------------------------------
  const MESSAGES = {
    email: [["subject", "text"], ["text", "textarea"], ["html", "textarea"]],
    sms: [["sign_name", "text"], ["template_code", "text"], ["params", "pairs"]],
    wechat_template: [["template_id", "text"], ["data", "values"], ["url", "text", "link"]],
    wechat_subscribe: [["template_id", "text"], ["data", "values"], ["page", "text", "link"]],
    wechat_cs: [["text.content", "textarea", "message"]],
    wecom: [["text.content", "textarea", "message"]],
  };
  const DEFAULTS = {
    wait: {duration: "1d"}, wait_for: {event: "Order Completed", timeout: "24h"},
    condition: {rollup: "order_count", op: "gte", value: 1}, split: [{weight: 50}, {weight: 50}],
    send: {channel: "email", purpose: "marketing", template: {subject: "", text: ""}}, tag: {add: []},
    set_trait: {}, give_coupon: {offer: ""}, give_points: {amount: 100}, webhook: {}, task: {title: ""}, exit: true,
  };
  const kindOf = step => V.step_kinds.find(k => k in step);

  function targetOptions(card) {
    const ids = cards().map(c => c.querySelector(".step-id").value).filter(id => id && id !== card.querySelector(".step-id").value);
    return [["", L.following], ...ids.map(id => [id, id]), ["end", L.end]];
  }
  function fieldsFor(kind, step) {
    const body = step[kind];
    const target = name => field(name, "target", L[name], step[name], []);
    switch (kind) {
      case "wait": {
        const wait = typeof body === "string" ? {duration: body} : body;
        return [field("wait.duration", "text", L.duration, wait.duration), field("wait.at", "text", L.at, wait.at),
                field("wait.weekdays", "list", L.weekdays, wait.weekdays), target("next")];
      }
      case "wait_for":
        return [field("wait_for.event", "text", L.event, body.event), field("wait_for.timeout", "text", L.timeout, body.timeout),
                field("wait_for.where", "json", L.where, body.where), target("on_event"), target("on_timeout")];
      case "condition": return [field("condition", "json", L.condition, body), target("then"), target("else")];
      case "split": return [field("split", "branches", L.split, body)];
      case "send": return sendFields(body).concat([target("next")]);
      case "tag": return [field("tag.add", "list", L.add, body.add), field("tag.remove", "list", L.remove_tags, body.remove),
                          target("next")];
      case "set_trait": return [field("set_trait", "traits", L.traits, body), target("next")];
      case "give_coupon": return [field("give_coupon.offer", "text", L.offer, body.offer), target("next")];
      case "give_points": return [field("give_points.amount", "number", L.amount, body.amount), target("next")];
      case "webhook": return [field("webhook", "json", L.body, body), target("next")];
      case "task": return [field("task.title", "text", L.title, body.title), field("task.note", "textarea", L.note, body.note),
                           field("task.due", "text", L.due, body.due), target("next")];
      case "exit": return [field("exit", "text", L.reason, body === true ? "" : body)];
    }
    return [];
  }
  function sendFields(body) {
    const mode = "template" in body ? "template" : "content";
    const message = body[mode] || {};
    const box = el("div", {class: "message"});
    const channel = field("send.channel", "select", L.channel, body.channel, V.channels);
    const personalise = field("send.personalise", "check", L.personalise, mode === "template");
    function fill(current) {
      box.textContent = "";
      const chosen = channel.querySelector("select").value, where = personalise.querySelector("input").checked ? "template" : "content";
      if (chosen === "webhook") {
        const json = where === "template" ? (current.body || {}) : current;
        box.append(field(`send.${where}${where === "template" ? ".body" : ""}`, "json", L.body, json));
        return;
      }
      (MESSAGES[chosen] || []).forEach(([key, type, label]) => {
        box.append(field(`send.${where}.${key}`, type, L[label || key], get(current, key)));
      });
    }
    function refill() {  // keep what was typed when switching channel or mode
      let current = {};
      try { current = readMessage(box); } catch (e) { current = {}; }
      fill(current);
    }
    channel.querySelector("select").addEventListener("change", refill);
    personalise.querySelector("input").addEventListener("change", refill);
    fill(message);
    return [channel, field("send.purpose", "select", L.purpose, body.purpose, V.purposes), personalise, box];
  }
  function readMessage(box) {
    const message = {};
    box.querySelectorAll("[data-path]").forEach(f => {
      const value = parsed(f.dataset.type, f, f.dataset.path);
      const key = f.dataset.path.split(".").slice(2).join(".");
      if (value === undefined) return;
      if (!key) Object.assign(message, value); else put(message, key, value);
    });
    return message;
  }

  function cards() { return Array.from(list.children); }
  function uniqueId(kind) {
    const used = new Set(cards().map(c => c.querySelector(".step-id").value));
    let n = 1;
    while (used.has(`${kind}-${n}`.replace("_", "-"))) n++;
    return `${kind}-${n}`.replace("_", "-");
  }
  function card(step) {
    const kind = kindOf(step);
    const kindBox = el("select", {class: "kind", "aria-label": L.kind});
    Object.entries(data.kinds).forEach(([code, label]) => kindBox.append(el("option", {value: code}, [label])));
    kindBox.value = kind;
    const id = el("input", {class: "step-id", "data-path": "id", "aria-label": L.id, placeholder: L.id});
    id.value = step.id || "";
    const label = el("input", {class: "step-label", "data-path": "label", "aria-label": L.label, placeholder: L.label});
    label.value = step.label || "";
    const buttons = [["up", "↑"], ["down", "↓"], ["remove", "✕"]].map(([action, text]) =>
      el("button", {type: "button", class: "link " + action, title: L[action], "aria-label": L[action]}, [text]));
    const fields = el("div", {class: "step-fields"});
    const item = el("li", {class: "step-card"}, [
      el("div", {class: "step-head"}, [kindBox, id, label, ...buttons]),
      el("p", {class: "error step-error"}), fields]);
    item.dataset.extra = JSON.stringify(Object.fromEntries(Object.entries(step).filter(([k]) =>
      !["id", "label", kind, "next", "then", "else", "on_event", "on_timeout"].includes(k))));
    function build(from) { fields.textContent = ""; fieldsFor(kindBox.value, from).forEach(f => fields.append(f)); targets(); }
    kindBox.addEventListener("change", () => build({[kindBox.value]: DEFAULTS[kindBox.value]}));
    buttons[0].addEventListener("click", () => { if (item.previousElementSibling) item.previousElementSibling.before(item); changed(); });
    buttons[1].addEventListener("click", () => { if (item.nextElementSibling) item.nextElementSibling.after(item); changed(); });
    buttons[2].addEventListener("click", () => { item.remove(); changed(); });
    id.addEventListener("change", targets);
    list.append(item);
    build(step);
    return item;
  }
  // Target choices follow the steps' ids; a chosen one stays chosen (or is kept if the step went away).
  function targets() {
    cards().forEach(item => item.querySelectorAll("[data-type=target]").forEach(box => {
      const chosen = box.dataset.initial !== undefined ? box.dataset.initial : box.value;
      delete box.dataset.initial;
      box.textContent = "";
      const options = targetOptions(item);
      if (chosen && !options.some(([v]) => v === chosen)) options.push([chosen, chosen]);
      options.forEach(([v, text]) => box.append(el("option", {value: v}, [text])));
      box.value = chosen;
    }));
  }
  function readStep(item) {
    const kind = item.querySelector(".kind").value;
    const step = {...JSON.parse(item.dataset.extra || "{}"), id: item.querySelector(".step-id").value.trim()};
    const label = item.querySelector(".step-label").value.trim();
    if (label) step.label = label;
    const message = item.querySelector(".message");
    item.querySelectorAll(".step-fields [data-path]").forEach(box => {
      if (message && message.contains(box)) return;
      const path = box.dataset.path;
      if (path === "send.personalise") return;
      const value = parsed(box.dataset.type, box, path);
      if (value !== undefined) put(step, path, value);
    });
    if (kind === "exit") step.exit = step.exit || true;
    if (kind === "send") {
      const where = item.querySelector("[data-path='send.personalise']").checked ? "template" : "content";
      step.send[where] = readMessage(message);
    }
    // nothing filled in: sent empty, so that the API says what is missing rather than a default going out
    if (!(kind in step)) step[kind] = kind === "exit" ? true : kind === "split" ? [] : {};
    return step;
  }

  // --- trigger -----------------------------------------------------------------------------------
  const triggerKind = $("trigger-kind"), triggerBox = $("trigger-fields");
  V.trigger_kinds.forEach(k => triggerKind.append(el("option", {value: k}, [L.triggers[k]])));
  function triggerFields(kind, trigger) {
    triggerBox.textContent = "";
    const segments = V.segments.length ? V.segments : [["", "—"]];
    const add = (...f) => f.forEach(x => triggerBox.append(x));
    if (kind === "event") add(field("trigger.event", "text", L.event, trigger.event), field("trigger.where", "json", L.where, trigger.where));
    if (kind === "segment") add(field("trigger.segment", "select", L.segment, trigger.segment, segments),
                                field("trigger.on", "select", L.on, trigger.on, [["entered", L.entered], ["exited", L.exited]]));
    if (kind === "date_trait") add(field("trigger.date_trait", "text", L.date_trait, trigger.date_trait || "birthday"),
                                   field("trigger.offset", "text", L.offset, trigger.offset),
                                   field("trigger.at", "text", L.time, trigger.at), field("trigger.yearly", "check", L.yearly, trigger.yearly));
    if (kind === "schedule") add(field("trigger.schedule", "text", L.cron, trigger.schedule || "0 10 * * 1"),
                                 field("trigger.segment", "select", L.segment, trigger.segment, segments));
    if (kind === "holiday") add(field("trigger.holiday", "text", L.holiday, trigger.holiday || "spring_festival"),
                                field("trigger.offset", "text", L.offset, trigger.offset),
                                field("trigger.at", "text", L.time, trigger.at),
                                field("trigger.segment", "select", L.segment, trigger.segment,
                                      [["", L.any_segment], ...V.segments]));
    if (kind === "api") add(el("p", {class: "muted"}, [L.api]));
  }
  function readTrigger() {
    const kind = triggerKind.value;
    if (kind === "api") return {api: true};
    const trigger = {};
    triggerBox.querySelectorAll("[data-path]").forEach(box => {
      const value = parsed(box.dataset.type, box, box.dataset.path);
      if (value !== undefined) put(trigger, box.dataset.path.slice("trigger.".length), value);
    });
    if (kind === "segment" || kind === "schedule") trigger.segment = Number(trigger.segment) || 0;
    if (kind === "holiday") { if (Number(trigger.segment)) trigger.segment = Number(trigger.segment); else delete trigger.segment; }
    if (kind === "event" && trigger.event === undefined) trigger.event = "";
    return trigger;
  }

  // --- the whole definition ----------------------------------------------------------------------
  function definition() {
    const result = {trigger: readTrigger()};
    const rule = $("entry-rule").value, period = $("entry-period").value.trim();
    result.entry = rule === "once_per" || period ? {rule: rule, period: period || undefined} : {rule: rule};
    const goal = $("goal-event").value.trim();
    if (goal) result.goal = {event: goal, within: $("goal-within").value.trim() || undefined};
    const holdout = $("holdout").value.trim();
    if (holdout) result.holdout_percent = Number(holdout);
    if (kept.policy) result.policy = kept.policy;
    result.steps = cards().map(readStep);
    return JSON.parse(JSON.stringify(result));  // drops the undefined
  }
  function changed() {
    targets();
    cards().forEach((item, i) => { item.dataset.index = i; });
    try { $("definition-json").textContent = JSON.stringify(definition(), null, 2); } catch (e) { /* shown on save */ }
  }

  // --- errors ------------------------------------------------------------------------------------
  function clearErrors() {
    form.querySelectorAll(".field-error, .step-error").forEach(e => { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(e => e.removeAttribute("aria-invalid"));
    form.querySelectorAll(".step-card.invalid").forEach(e => e.classList.remove("invalid"));
    $("form-error").textContent = "";
  }
  const within = (path, name) => path === name || path.startsWith(name + ".") || path.startsWith(name + "[");
  // The field named by path (or its longest prefix) inside scope, else the scope's own error line.
  function showError(path, message, whole) {
    const step = /^steps\[(\d+)\]\.?(.*)$/.exec(path);
    let scope = form, rest = path, fallback = $("form-error");
    if (step && cards()[Number(step[1])]) {
      scope = cards()[Number(step[1])];
      rest = step[2];
      fallback = scope.querySelector(".step-error");
      scope.classList.add("invalid");
    }
    let best = null;
    scope.querySelectorAll("[data-path]").forEach(box => {
      if (!step && box.closest(".step-card")) return;
      if (rest && within(rest, box.dataset.path) && (!best || box.dataset.path.length > best.dataset.path.length)) best = box;
    });
    if (best) {
      best.setAttribute("aria-invalid", "true");
      const span = best.parentElement.querySelector(".field-error");
      if (span) { span.textContent = message; span.scrollIntoView({block: "center"}); return; }
    }
    const section = !step && scope.querySelector(`.field-error[data-for="${rest.split(/[.[]/)[0]}"]`);
    (section || fallback).textContent = whole || message;  // away from its field: say which path it names
    (section || fallback).scrollIntoView({block: "center"});
  }
  function refused(error) {
    const details = error.details || {};
    let path = details.path || details.field || "";
    if (!path && details.problems && details.problems.length) path = details.problems[0].location.replace(/^body\.(definition\.)?/, "");
    showError(String(path), details.reason || error.message, error.message);
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    let request;
    try {
      request = {name: $("journey-name").value, description: $("journey-description").value || null, definition: definition()};
    } catch (error) {
      if (error instanceof Invalid) { showError(error.path, error.message); return; }
      throw error;
    }
    const response = await fetch(data.id ? `/api/journeys/${data.id}` : "/api/journeys", {
      method: data.id ? "PATCH" : "POST", credentials: "same-origin", body: JSON.stringify(request),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
    const body = await response.json();
    if (response.ok) window.location.href = `/journeys/${body.id}`; else refused(body.error);
  }

  // --- start -------------------------------------------------------------------------------------
  const start = data.definition;
  $("journey-name").value = data.name;
  $("journey-description").value = data.description;
  const trigger = start.trigger || {event: ""};
  triggerKind.value = V.trigger_kinds.find(k => k in trigger) || "event";
  if ("schedule" in trigger) triggerKind.value = "schedule";
  if ("holiday" in trigger) triggerKind.value = "holiday";
  triggerFields(triggerKind.value, trigger);
  triggerKind.addEventListener("change", () => { triggerFields(triggerKind.value, {}); changed(); });
  $("entry-rule").value = (start.entry && start.entry.rule) || "once";
  $("entry-period").value = (start.entry && start.entry.period) || "";
  $("goal-event").value = (start.goal && start.goal.event) || "";
  $("goal-within").value = (start.goal && start.goal.within) || "";
  $("holdout").value = start.holdout_percent === undefined ? "" : start.holdout_percent;
  (start.steps || []).forEach(step => card(step));
  $("add-step").addEventListener("click", () => {
    const kind = $("new-step-kind").value;
    card({id: uniqueId(kind), [kind]: JSON.parse(JSON.stringify(DEFAULTS[kind]))});
    changed();
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", save);
  changed();
})();
