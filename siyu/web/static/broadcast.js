// One broadcast's page: test send to chosen customers (POST /api/broadcasts/{id}/test) and cancel
// (POST /api/broadcasts/{id}/cancel), with the console's CSRF token; the API's refusal is shown.
(function () {
  const data = JSON.parse(document.getElementById("broadcast-data").textContent);
  const $ = id => document.getElementById(id);

  async function call(url, body) {
    const response = await fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf}});
    return [response.ok, await response.json()];
  }

  $("test-send").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("test-error").textContent = "";
    $("test-result").hidden = true;
    // "#12, 15" or "12 15": the ids as operators copy them from the customer pages
    const ids = $("test-profiles").value.split(/[\s,，#]+/).filter(Boolean).map(Number);
    const [ok, found] = await call(`/api/broadcasts/${data.id}/test`, {profile_ids: ids});
    if (!ok) { $("test-error").textContent = found.error.message; return; }
    $("test-count").textContent = found.message_ids.length.toLocaleString(document.documentElement.lang);
    $("test-result").hidden = false;
  });

  const cancel = $("cancel");
  if (cancel) {
    cancel.addEventListener("click", async () => {
      $("cancel-error").textContent = "";
      const [ok, found] = await call(`/api/broadcasts/${data.id}/cancel`);
      if (ok) window.location.reload(); else $("cancel-error").textContent = found.error.message;
    });
  }
})();
