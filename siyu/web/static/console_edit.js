// Console forms that change something that exists (a channel code's rules), posting JSON with the session's CSRF token (#edit-data) to data-api (data-method, POST
// by default). Each form names its body builder (data-edit). As in console_forms.js, a refusal is
// shown beside the field its details.field names (or its longest prefix), anything else at the top
// of the form; on success the page goes to data-next ({id} replaced by the answer's id) or reloads.
(function () {
  const data = JSON.parse(document.getElementById("edit-data").textContent);
  const $ = id => document.getElementById(id);
  const value = id => ($(id) ? $(id).value.trim() : "");
  const words = text => text.split(/[\s,，]+/).map(w => w.trim()).filter(Boolean);
  const fen = yuan => Math.round(Number(yuan) * 100);

  function routing() {  // "userid [weight [daily cap]] [09:00-21:00]" per line
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

  const builders = {
    // Every rule at once: an emptied field removes the rule (welcome, tags, journey, expiry, reward).
    "channel-code": form => {
      const body = {name: value("name"), caption: value("caption"), welcome: $("welcome").value,
        tags: value("tags").split(/[,，]/).map(t => t.trim()).filter(Boolean),
        journey_id: Number(value("journey") || "0"), reward: null};
      if (form.dataset.kind === "wecom_contact") {
        body.routing = routing();
        body.expires_at = value("expires-at");
      }
      if (value("reward-cash")) {  // yuan on the form, fen in the rule
        body.reward = {cash_fen: fen(value("reward-cash"))};
        if (value("reward-wishing")) body.reward.wishing = value("reward-wishing");
        if (value("reward-budget")) body.reward.budget_fen = fen(value("reward-budget"));
      }
      return body;
    },
  };

  function setup(form) {
    const build = builders[form.dataset.edit];
    const errorBox = form.querySelector("[role=alert]");
    function clear() {
      form.querySelectorAll(".field-error").forEach(e => { e.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach(e => e.removeAttribute("aria-invalid"));
      errorBox.textContent = "";
    }
    function show(field, message) {
      let best = null;
      form.querySelectorAll(".field-error").forEach(span => {
        const name = span.dataset.for;
        if (field === name || field.startsWith(name + ".") || field.startsWith(name + "[")) {
          if (!best || name.length > best.dataset.for.length) best = span;
        }
      });
      if (!best) { errorBox.textContent = message; return; }
      best.textContent = message;
      const input = best.parentElement.querySelector("[data-field]");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    form.addEventListener("submit", async event => {
      event.preventDefault();
      clear();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch(form.dataset.api, {method: form.dataset.method || "POST",
          credentials: "same-origin", body: JSON.stringify(build(form)),
          headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
        const answer = await response.json();
        if (!response.ok) {
          const details = answer.error.details || {};
          const problem = (details.problems || [])[0];
          show(details.field ? String(details.field)
            : problem ? String(problem.location).replace(/^body\./, "") : "", answer.error.message);
          return;
        }
        if (form.dataset.next) window.location.assign(form.dataset.next.replace("{id}", answer.id));
        else window.location.reload();
      } catch (error) {
        errorBox.textContent = String(error);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("form[data-edit]").forEach(setup);
})();
