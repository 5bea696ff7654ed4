// The conversation on a customer's page: what they wrote and what was sent to them, interleaved,
// from /api/profiles/{id}/conversation; a reply box while the contact policy lets a WeChat
// customer-service message go (the 48-hour window), else the policy's reason. A reply is posted to
// /api/profiles/{id}/replies with a key made once per reply, so a retried click queues it once; a
// refusal (409 staff.reply_refused) shows the reason it names.
(function () {
  const data = JSON.parse(document.getElementById("conversation-data").textContent);
  const $ = id => document.getElementById(id);
  const base = `/api/profiles/${data.profile_id}`;
  const zh = document.documentElement.lang.startsWith("zh");
  let key = null;

  function newKey() {
    return "console-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }
  function stamp(iso) {
    // In the workspace's time zone, as every other time on the page.
    return new Date(iso).toLocaleString(zh ? "zh-CN" : "en", {dateStyle: "medium", timeStyle: "short",
                                                              timeZone: data.timezone});
  }
  function refused(reason, detail) {
    $("reply-form").hidden = true;
    const box = $("reply-refused");
    box.dataset.reason = reason || "";
    box.textContent = `${data.labels.refused} ${data.reasons[reason] || reason || ""}${detail ? " — " + detail : ""}`;
    box.hidden = false;
  }

  function render(view) {
    const list = $("conversation");
    list.textContent = "";
    for (const item of view.items) {
      const li = document.createElement("li");
      li.className = item.direction === "in" ? "inbound" : "outbound";
      li.dataset.direction = item.direction;
      const head = document.createElement("div");
      head.className = "muted";
      let said = `${data.labels[item.direction]} · ${stamp(item.at)}`;
      if (item.direction === "out") said += ` · ${data.statuses[item.status] || item.status}`;
      head.textContent = said;
      const body = document.createElement("div");
      body.className = "text";
      body.textContent = item.text || `[${item.kind}]`;
      li.append(head, body);
      list.append(li);
    }
    list.hidden = view.items.length === 0;
    $("conversation-empty").hidden = view.items.length !== 0;
    $("conversation-loading").hidden = true;
    if (view.reply.allowed) {
      $("reply-form").hidden = false;
      $("reply-refused").hidden = true;
    } else {
      refused(view.reply.reason, view.reply.detail);
    }
  }

  async function load() {
    const response = await fetch(`${base}/conversation`, {credentials: "same-origin"});
    if (response.ok) render(await response.json());
  }

  $("reply-form").addEventListener("submit", async event => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text) return;
    key = key || newKey();
    $("send-reply").disabled = true;
    try {
      const response = await fetch(`${base}/replies`, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf},
        body: JSON.stringify({text: text, idempotency_key: key})});
      const answer = await response.json();
      if (response.ok) {
        key = null;
        $("reply-text").value = "";
        $("reply-sent").hidden = false;
        await load();
      } else if (answer.error.code === "staff.reply_refused") {
        refused(answer.error.details.reason, answer.error.details.detail);
      } else {
        $("reply-refused").textContent = answer.error.message;
        $("reply-refused").hidden = false;
      }
    } finally {
      $("send-reply").disabled = false;
    }
  });

  load();
})();
