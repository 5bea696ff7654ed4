// The hand-over form's customer picker: the "From" member's customers searched by name, phone or an
// identifier (/staff/transfers/customers), chosen ones kept as chips; their profile ids go into the
// hidden #profile-ids the form's builder reads. Choosing nobody hands over all of the member's customers.
(function () {
  const $ = id => document.getElementById(id);
  const texts = JSON.parse($("picker-data").textContent);
  const search = $("customer-search"), results = $("customer-results"), chosen = $("chosen-customers");
  const picked = new Map();  // profile id -> label
  let asked = 0;

  const label = c => [c.name || "#" + c.profile_id, c.phone, c.external_userid].filter(Boolean).join(" · ");

  function render() {
    $("profile-ids").value = Array.from(picked.keys()).join(" ");
    chosen.querySelectorAll(".chip").forEach(chip => chip.remove());
    $("all-customers").hidden = picked.size > 0;
    for (const [id, text] of picked) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.dataset.id = id;
      chip.textContent = text + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "×";
      remove.title = texts.remove;
      remove.addEventListener("click", () => { picked.delete(id); render(); });
      chip.appendChild(remove);
      chosen.appendChild(chip);
    }
  }

  async function find() {
    const mine = ++asked;
    const query = new URLSearchParams({handover: $("handover").value, q: search.value.trim()});
    const response = await fetch("/staff/transfers/customers?" + query, {credentials: "same-origin"});
    if (mine !== asked || !response.ok) return;  // a later keystroke's answer wins
    const found = (await response.json()).customers;
    results.replaceChildren();
    if (!found.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = texts.none;
      results.appendChild(none);
    }
    for (const customer of found) {
      const item = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "secondary";
      pick.dataset.id = customer.profile_id;
      pick.textContent = label(customer);
      pick.addEventListener("click", () => { picked.set(String(customer.profile_id), label(customer)); render(); });
      item.appendChild(pick);
      results.appendChild(item);
    }
  }

  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 200); });
  search.addEventListener("focus", find);
  $("handover").addEventListener("change", () => { picked.clear(); render(); results.replaceChildren(); });
  render();
})();
