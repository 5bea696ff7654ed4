// The journey list: start a journey from a ready template (POST /api/journeys {template}) and open
// its draft in the editor.
(function () {
  const data = JSON.parse(document.getElementById("journeys-data").textContent);
  document.querySelectorAll("#templates button[data-template]").forEach(button => {
    button.addEventListener("click", async () => {
      const response = await fetch("/api/journeys", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf},
        body: JSON.stringify({template: button.dataset.template, language: data.language})});
      const body = await response.json();
      if (response.ok) window.location.href = `/journeys/${body.id}/edit`;
      else document.getElementById("template-error").textContent = body.error.message;
    });
  });
})();
