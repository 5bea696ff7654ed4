// The broadcast composer: the form becomes a POST /api/broadcasts body (a template filled in for each
// member, or content as written); Preview asks /api/broadcasts/preview (audience, and the contact
// policy's verdicts on a sample) and renders the template for the segment's first member
// (/api/messages/preview). The API's refusals are shown beside
// the field they name (details.field, or the request validator's location). Codes are sent; the
// labels come translated in #composer-data.
(function () {
  const data = JSON.parse(document.getElementById("composer-data").textContent);
  const L = data.labels;
  const form = document.getElementById("composer");
  const $ = id => document.getElementById(id);

  async function call(method, url, body) {
    const response = await fetch(url, {method: method, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
    return [response.ok, await response.json()];
  }

  function channelBox() { return form.querySelector(`fieldset.content[data-channel="${$("channel").value}"]`); }
  function showChannel() {
    form.querySelectorAll("fieldset.content").forEach(f => { f.hidden = f !== channelBox(); });
    changed();
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(e => { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(e => e.removeAttribute("aria-invalid"));
    $("form-error").textContent = "";
  }
  // The visible field whose name is the error's field or its longest prefix (content.text for
  // content.text.content); anything else is said at the top of the form.
  function showError(field, message) {
    let best = null;
    form.querySelectorAll(".field-error").forEach(span => {
      const name = span.dataset.for;
      if (span.closest("[hidden]")) return;
      if (field === name || field.startsWith(name + ".") || field.startsWith(name + "[")) {
        if (!best || name.length > best.dataset.for.length) best = span;
      }
    });
    if (!best) { $("form-error").textContent = message; return; }
    best.textContent = message;
    const input = best.parentElement.querySelector("[data-field]");
    if (input) input.setAttribute("aria-invalid", "true");
  }
  function fieldOf(error) {
    const details = error.details || {};
    if (details.field) return String(details.field);
    if (details.problems && details.problems.length) return details.problems[0].location.replace(/^body\./, "");
    return "";
  }
  function refused(body, prefix) {
    let field = fieldOf(body.error);
    if (prefix && field && !field.startsWith(prefix)) field = prefix + field;
    showError(field, body.error.message);
  }

  function lines(text) { return text.split("\n").map(l => l.trim()).filter(Boolean); }
  function pairs(text) {
    const found = {};
    for (const line of lines(text)) {
      const at = line.indexOf("=");
      if (at < 1) return null;
      found[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return found;
  }
  function put(target, key, value) {
    const parts = key.split(".");
    parts.slice(0, -1).forEach(p => { target = target[p] = target[p] || {}; });
    target[parts[parts.length - 1]] = value;
  }
  // The channel's content object, or null with the reason beside the field.
  function content() {
    const box = channelBox();
    const result = JSON.parse(box.dataset.fixed || "{}");
    for (const input of box.querySelectorAll("[data-field]")) {
      const raw = input.value;
      if (input.dataset.kind === "json") {
        try { return JSON.parse(raw); } catch (e) { showError(input.dataset.field, L.json); return null; }
      }
      if (!raw.trim()) continue;  // left out: the API says which field is missing
      let value = raw;
      if (input.dataset.kind === "pairs" || input.dataset.kind === "values") {
        value = pairs(raw);
        if (value === null) { showError(input.dataset.field, L.pairs); return null; }
        if (input.dataset.kind === "values") {
          value = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, {value: v}]));
        }
      }
      put(result, input.dataset.key, value);
    }
    return result;
  }

  // A wall-clock time in the workspace's zone (not the browser's) as an instant.
  function zonedInstant(local, zone) {
    const [day, time] = local.split("T");
    const [y, m, d] = day.split("-").map(Number), [h, min] = time.split(":").map(Number);
    const wall = Date.UTC(y, m - 1, d, h, min);
    const offset = at => {
      const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"})
        .formatToParts(new Date(at)).map(p => [p.type, p.value]));
      return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - at;
    };
    const first = wall - offset(wall);
    return new Date(wall - offset(first)).toISOString();
  }

  function body() {
    const found = content();
    if (found === null) return null;
    const request = {name: $("name").value, segment_id: Number($("segment").value) || 0, channel: $("channel").value,
                     purpose: $("purpose").value, track_links: $("track-links").checked};
    // Filled in for each member: sent as a template (a webhook's body sits under "body"; every other
    // channel's template has its content's shape). Otherwise the content goes as written.
    if ($("personalise").checked) request.template = request.channel === "webhook" ? {body: found} : found;
    else request.content = found;
    if (form.querySelector("input[name=when]:checked").value === "at") {
      if (!$("send-at").value) { showError("send_at", $("send-at").validationMessage || "—"); return null; }
      request.send_at = zonedInstant($("send-at").value, data.timezone);
    }
    if ($("rate").value) request.rate_per_minute = Number($("rate").value);
    const goal = $("goal-event").value.trim();
    if (goal) request.goal = {event: goal, within: $("goal-within").value.trim() || "7d"};
    if ($("holdout").value) request.holdout_percent = Number($("holdout").value);
    return request;
  }

  function changed() {
    clearErrors();
    const found = content();
    $("content-json").textContent = found === null ? "" : JSON.stringify(found, null, 2);
  }

  function number(n) { return Number(n).toLocaleString(document.documentElement.lang); }
  function verdictRow(key, count) {
    const [action, reason] = key.split(":");
    const row = document.createElement("tr");
    [L[action] || action, reason ? (data.reasons[reason] || reason) : "", number(count)].forEach(text => {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    });
    row.dataset.verdict = key;
    return row;
  }

  async function preview() {
    clearErrors();
    const request = body();
    if (request === null) return;
    const [ok, found] = await call("POST", "/api/broadcasts/preview",
                                   {segment_id: request.segment_id, channel: request.channel, purpose: request.purpose});
    if (!ok) { refused(found); return; }
    $("preview-panel").hidden = false;
    $("audience").textContent = number(found.audience);
    $("sampled").textContent = number(found.sample);
    $("would-send").textContent = number(found.verdicts.send || 0);
    const rows = $("verdicts").querySelector("tbody");
    rows.textContent = "";
    Object.entries(found.verdicts).sort((a, b) => b[1] - a[1]).forEach(([key, count]) => rows.append(verdictRow(key, count)));
    await sample(request);
  }

  async function sample(request) {
    const [ok, members] = await call("GET", `/api/segments/${request.segment_id}/members?limit=1`);
    const first = ok ? members.profile_ids[0] : undefined;
    $("sample-none").hidden = first !== undefined;
    $("sample").textContent = "";
    $("sample-warnings").textContent = "";
    $("sample-profile").textContent = first === undefined ? "" : "#" + first;
    $("sample-profile").href = first === undefined ? "#" : "/profiles/" + first;
    $("sample-literal").hidden = request.template !== undefined || !/\{\{|\{%/.test(JSON.stringify(request.content));
    if (first === undefined) return;
    if (request.template === undefined) {  // as written: what the member gets is the content itself
      $("sample").textContent = JSON.stringify(request.content, null, 2);
      return;
    }
    const [rendered, found] = await call("POST", "/api/messages/preview", {profile_id: first, channel: request.channel,
                                                                          purpose: request.purpose,
                                                                          template: request.template});
    if (!rendered) { refused(found, "content."); return; }
    $("sample").textContent = JSON.stringify(found.payload, null, 2);
    found.warnings.forEach(w => {
      const item = document.createElement("li");
      item.textContent = `${w.field}: ${w.message}`;
      item.className = w.blocking ? "error" : "muted";
      $("sample-warnings").append(item);
    });
  }

  async function schedule(event) {
    event.preventDefault();
    clearErrors();
    const request = body();
    if (request === null) return;
    const [ok, found] = await call("POST", "/api/broadcasts", request);
    if (ok) { window.location.href = "/broadcasts/" + found.id; return; }
    // a template's refusal names its field inside the content (subject, body.campaign)
    refused(found, found.error && found.error.code === "messaging.invalid_template" ? "content." : undefined);
  }

  $("channel").addEventListener("change", showChannel);
  form.addEventListener("input", event => { if (event.target.closest("fieldset.content")) changed(); });
  $("send-at").addEventListener("input", () => { form.querySelector("input[name=when][value=at]").checked = true; });
  $("preview").addEventListener("click", preview);
  form.addEventListener("submit", schedule);
  showChannel();
})();
