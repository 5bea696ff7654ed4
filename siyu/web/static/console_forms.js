// Console forms that post to the JSON API with the session's CSRF token (#form-data). Each form
// names its body builder (data-form) and its endpoint (data-api, data-method); the API's refusals
// are shown beside the field they name (details.field, details.path or the request validator's
// location), anything else at the top of the form; on success the page goes to data-next with {id}
// replaced by the answer's id.
(function () {
  const data = JSON.parse(document.getElementById("form-data").textContent);
  const $ = id => document.getElementById(id);
  const value = id => ($(id) ? $(id).value.trim() : "");
  const words = text => text.split(/[\s,，]+/).map(w => w.trim()).filter(Boolean);

  function routing() {
    const staff = $("staff").value.split("\n").map(l => l.trim()).filter(Boolean).map(line => {
      const [userid, ...rest] = line.split(/\s+/);
      const member = {userid: userid};
      for (const part of rest) {
        if (/^\d{1,2}:\d{2}-\d{1,2}:\d{2}$/.test(part)) member.hours = part.split("-");
        else if (member.weight === undefined) member.weight = Number(part);
        else member.daily_cap = Number(part);
      }
      return member;
    });
    return {strategy: value("strategy"), staff: staff, fallback: words(value("fallback"))};
  }

  function parsed(id, field) {
    try { return JSON.parse($(id).value); } catch (error) { throw {field: field, message: error.message}; }
  }

  const builders = {
    "staff": () => {
      const body = {kind: value("staff-kind"), name: value("staff-name")};
      if (body.kind === "member") {
        body.userid = value("staff-userid");
        if (value("staff-persona")) body.persona_id = Number(value("staff-persona"));
      } else if (value("staff-signature")) {
        body.signature = value("staff-signature");
      }
      return body;
    },
    "group-code": () => {
      const body = {name: value("gc-name"), strategy: value("gc-strategy")};
      if (value("gc-title")) body.title = value("gc-title");
      return body;
    },
    // A file upload: the form's named fields as multipart (empty ones left out, so defaults apply).
    "multipart": form => {
      const body = new FormData();
      for (const [name, field] of new FormData(form).entries()) {
        if (field instanceof File ? field.size : String(field).trim()) body.append(name, field);
      }
      return body;
    },
    "reply-rule": form => {
      const lines = $("patterns").value.split("\n").map(l => l.trim()).filter(Boolean);
      const body = {name: value("name"), trigger: value("trigger"), match: value("match"), patterns: lines,
        priority: Number(value("priority") || "100"), enabled: $("enabled").checked,
        variants: value("variants") ? parsed("variants", "variants") : []};
      const asJson = value("reply-json") && value("reply-json") !== "{}";
      form.dataset.replyFrom = asJson ? "reply_json" : "reply";  // where the API's "reply…" refusals are shown
      body.reply = asJson ? parsed("reply-json", "reply_json")
        : {msgtype: "text", text: {content: $("reply-text").value}};
      return body;
    },
    "welcome": form => ({content: parsed(form.querySelector(".welcome-content").id, "content"),
      enabled: form.querySelector(".welcome-enabled").checked}),
    "task-result": (form, event) => ({status: event.submitter ? event.submitter.value : "done",
      note: form.querySelector(".task-note").value.trim() || null, userid: form.dataset.owner || null}),
    "transfer": () => {
      const body = {kind: value("transfer-kind"), handover_userid: value("handover"),
        takeover_userid: value("takeover"), idempotency_key: data.idempotency_key};
      const ids = words(value("profile-ids"));
      if (ids.length) body.profile_ids = ids.map(Number);
      if (body.kind === "in_service" && value("transfer-message")) body.message = value("transfer-message");
      return body;
    },
    "channel-code": () => {
      const kind = value("kind");
      const body = {kind: kind, key: value("key"), name: value("name")};
      if (value("caption")) body.caption = value("caption");
      if (kind === "wechat_qr" && value("expire-days")) body.expire_seconds = Number(value("expire-days")) * 86400;
      if (kind === "wecom_contact") body.routing = routing();
      if (value("welcome")) body.welcome = {text: value("welcome")};
      const tags = value("tags").split(/[,，]/).map(t => t.trim()).filter(Boolean);
      if (tags.length) body.tags = tags;
      if (value("journey")) body.journey_id = Number(value("journey"));
      if (value("reward-cash")) {  // yuan on the form, fen in the API
        body.reward = {cash_fen: Math.round(Number(value("reward-cash")) * 100)};
        if (value("reward-wishing")) body.reward.wishing = value("reward-wishing");
        if (value("reward-budget")) body.reward.budget_fen = Math.round(Number(value("reward-budget")) * 100);
      }
      return body;
    },
    // A code's rules changed all at once: an emptied field removes its rule (welcome, tags, journey,
    // expiry, reward). The form carries the code's kind; only a WeCom code has routing and an expiry.
    "channel-code-edit": form => {
      const body = {name: value("name"), caption: value("caption"), welcome: $("welcome").value,
        tags: value("tags").split(/[,，]/).map(t => t.trim()).filter(Boolean),
        journey_id: Number(value("journey") || "0"), reward: null};
      if (form.dataset.kind === "wecom_contact") {
        body.routing = routing();
        body.expires_at = value("expires-at");
      }
      if (value("reward-cash")) {  // yuan on the form, fen in the rule
        body.reward = {cash_fen: Math.round(Number(value("reward-cash")) * 100)};
        if (value("reward-wishing")) body.reward.wishing = value("reward-wishing");
        if (value("reward-budget")) body.reward.budget_fen = Math.round(Number(value("reward-budget")) * 100);
      }
      return body;
    },
    "form-definition": () => {
      const body = {name: value("name")};
      if ($("slug") && !$("slug").disabled) body.slug = value("slug");
      try { body.definition = JSON.parse($("definition").value); }
      catch (error) { throw {field: "definition", message: error.message}; }
      return body;
    },
  };

  function fieldOf(error) {
    const details = error.details || {};
    if (details.field) return String(details.field);
    if (details.path) return "definition." + String(details.path);
    if (details.problems && details.problems.length) return String(details.problems[0].location).replace(/^body\./, "");
    return "";
  }

  // A definition's refusal names its path (fields[1].options) and the reason: both are shown.
  function said(error) {
    const details = error.details || {};
    return details.path && details.reason ? details.path + ": " + details.reason : error.message;
  }

  function setup(form) {
    const build = builders[form.dataset.form];
    const errorBox = form.querySelector("[role=alert]") || $("form-error") || form.querySelector(".field-error");
    function clear() {
      form.querySelectorAll(".field-error").forEach(e => { e.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach(e => e.removeAttribute("aria-invalid"));
      errorBox.textContent = "";
    }
    // The visible field whose name is the error's field or its longest prefix (routing for routing.staff).
    function show(field, message) {
      if (form.dataset.replyFrom === "reply_json" && (field === "reply" || field.startsWith("reply."))) {
        field = "reply_json" + field.slice(5);
      }
      let best = null;
      form.querySelectorAll(".field-error").forEach(span => {
        const name = span.dataset.for;
        if (span.closest("[hidden]")) return;
        if (field === name || field.startsWith(name + ".") || field.startsWith(name + "[")) {
          if (!best || name.length > best.dataset.for.length) best = span;
        }
      });
      if (!best) { errorBox.textContent = message; return; }
      best.textContent = message;
      const input = best.parentElement.querySelector("[data-field]");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    const kindBox = form.querySelector("[data-field=kind]");
    function showKind() {
      const kind = kindBox ? kindBox.value : null;
      form.querySelectorAll("[data-kind]").forEach(box => {
        box.hidden = kind !== null && box.dataset.kind !== kind;
        box.style.display = box.hidden ? "none" : "";  // .field's display: flex would outrank [hidden]
      });
    }
    if (kindBox) kindBox.addEventListener("change", showKind);
    showKind();
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clear();
      let body;
      try { body = build(form, event); } catch (problem) { show(problem.field, problem.message); return; }
      const buttons = form.querySelectorAll("button[type=submit]");
      buttons.forEach(b => { b.disabled = true; });
      try {
        const multipart = body instanceof FormData;  // the browser sets its own multipart boundary
        const response = await fetch(form.dataset.api, {method: form.dataset.method || "POST",
          credentials: "same-origin", body: multipart ? body : JSON.stringify(body),
          headers: multipart ? {"X-CSRF-Token": data.csrf}
            : {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
        const answer = await response.json();
        if (!response.ok) { show(fieldOf(answer.error), said(answer.error)); return; }
        window.location.assign(form.dataset.next.replace("{id}", answer.id));
      } catch (error) {
        errorBox.textContent = String(error);
      } finally {
        buttons.forEach(b => { b.disabled = false; });
      }
    });
  }

  // Buttons that change one thing (close or reopen a form, mark a member as left, sync hand-overs):
  // data-method (PATCH by default) to data-action with data-body, then show the page again.
  function action(button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const response = await fetch(button.dataset.action, {method: button.dataset.method || "PATCH",
        credentials: "same-origin", body: button.dataset.body,
        headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
      if (response.ok) { window.location.reload(); return; }
      const answer = await response.json();
      if ($("form-error")) $("form-error").textContent = said(answer.error);
      else window.alert(said(answer.error));
      button.disabled = false;
    });
  }

  document.querySelectorAll("form[data-form]").forEach(setup);
  document.querySelectorAll("button[data-action]").forEach(action);
})();
