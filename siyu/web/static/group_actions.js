// Group tags and broadcasts to groups, through the groups API with the session's CSRF token
// (#group-data). On the list page they act on the groups ticked in the table, on a group's page on
// that group. A new tag is created first (POST /api/groups/tags, 200 when it exists), then put on
// the groups; a broadcast carries the page's idempotency key, so a double click makes one.
(function () {
  const $ = id => document.getElementById(id);
  const data = JSON.parse($("group-data").textContent);
  const texts = JSON.parse($("group-texts").textContent);

  const chosen = () => data.group_id ? [data.group_id]
    : Array.from(document.querySelectorAll("input.pick:checked")).map(box => Number(box.value));

  async function call(url, body) {
    const response = await fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
    const answer = await response.json();
    if (!response.ok) throw answer.error;
    return answer;
  }

  // A refusal beside the field it names (details.field or the validator's location), else on top.
  function shower(form, box) {
    return error => {
      const details = error.details || {};
      const problem = (details.problems || [])[0];
      const field = details.field ? String(details.field)
        : problem ? String(problem.location).replace(/^body\./, "") : "";
      const span = Array.from(form.querySelectorAll(".field-error"))
        .find(s => field === s.dataset.for || field.startsWith(s.dataset.for + "."));
      if (span) span.textContent = error.message; else box.textContent = error.message || String(error);
    };
  }

  function clear(form, box) {
    form.querySelectorAll(".field-error").forEach(s => { s.textContent = ""; });
    box.textContent = "";
  }

  const tagForm = $("group-tag-form");
  if (tagForm) {
    const box = $("group-tag-error"), show = shower(tagForm, box);
    const newTag = () => { $("gt-new").style.display = $("gt-tag").value ? "none" : ""; };
    $("gt-tag").addEventListener("change", newTag);
    newTag();
    tagForm.addEventListener("submit", async event => {
      event.preventDefault();
      clear(tagForm, box);
      const groups = chosen();
      if (!groups.length) { box.textContent = texts.choose; return; }
      try {
        let tag = $("gt-tag").value;
        if (!tag) tag = (await call("/api/groups/tags", {tag_group: $("gt-group").value.trim(),
          name: $("gt-name").value.trim()})).id;
        await call(`/api/groups/tags/${tag}/groups`, {group_ids: groups});
        window.location.reload();
      } catch (error) { show(error); }
    });
    const remove = $("gt-remove");
    if (remove) remove.addEventListener("click", async () => {
      clear(tagForm, box);
      const groups = chosen();
      if (!groups.length) { box.textContent = texts.choose; return; }
      if (!$("gt-tag").value) { box.textContent = texts.tag; return; }
      try {
        await call(`/api/groups/tags/${$("gt-tag").value}/remove`, {group_ids: groups});
        window.location.reload();
      } catch (error) { show(error); }
    });
  }

  document.querySelectorAll("button.untag").forEach(button => button.addEventListener("click", async () => {
    try {
      await call(`/api/groups/tags/${button.dataset.tag}/remove`, {group_ids: chosen()});
      window.location.reload();
    } catch (error) { window.alert(error.message || String(error)); }
  }));

  const pickAll = $("pick-all");
  if (pickAll) pickAll.addEventListener("change", () => {
    document.querySelectorAll("input.pick").forEach(box => { box.checked = pickAll.checked; });
  });

  const sendForm = $("group-broadcast-form");
  if (sendForm) {
    const box = $("group-broadcast-error"), show = shower(sendForm, box);
    sendForm.addEventListener("submit", async event => {
      event.preventDefault();
      clear(sendForm, box);
      const groups = chosen();
      if (!groups.length) { box.textContent = texts.choose; return; }
      const button = $("gb-send");
      button.disabled = true;
      try {
        const made = await call("/api/groups/broadcasts", {name: $("gb-name").value.trim(), group_ids: groups,
          content: {text: {content: $("gb-text").value}}, idempotency_key: data.idempotency_key});
        window.location.assign(`/groups?broadcast=${made.id}#group-broadcasts`);  // the list shows them
      } catch (error) { show(error); } finally { button.disabled = false; }
    });
  }
})();
